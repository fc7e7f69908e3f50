/** Baseline: a raw `ws` echo server. Every message goes straight back (the bench sends JSON `{"id":7,"data":…}` and matches the echo by its id). */
import { createServer } from "node:http";
import { WebSocketServer } from "ws";
import { serve } from "./common.js";

const http = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});

await serve(http, () => new Promise<void>((resolve) => wss.close(() => resolve())));
