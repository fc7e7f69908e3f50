/**
 * socket.io 4.8 with an ack echo of the echo event (`--echo-event`,
 * default `demo/echo`, what the bench engine sends). `--transports
 * websocket,polling` (default both); the bench's client picks one and never
 * upgrades.
 */
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import { serve } from "./common.js";

const { values } = parseArgs({
  options: { transports: { type: "string", default: "websocket,polling" }, "echo-event": { type: "string", default: "demo/echo" } },
});
const transports = values.transports!.split(",") as ("websocket" | "polling")[];

// Anything but /socket.io/ (the bench's session probe of /csrf and /) gets a 404 instead of hanging.
const http = createServer((_req, res) => res.writeHead(404).end());
const io = new Server(http, {
  transports,
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
  cors: { origin: "*" },
});
io.on("connection", (socket) => {
  socket.on(values["echo-event"]!, (x: unknown, ack: (x: unknown) => void) => ack(x));
});

await serve(http, () => new Promise<void>((resolve) => io.close(() => resolve())));
