/**
 * socket.io 4.8 with an ack echo. `--transports websocket,polling` (default
 * both); the client picks one and, for the bench, never upgrades.
 */
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import { serve } from "./common.js";

const { values } = parseArgs({ options: { transports: { type: "string", default: "websocket,polling" } } });
const transports = values.transports!.split(",") as ("websocket" | "polling")[];

const http = createServer();
const io = new Server(http, {
  transports,
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
  cors: { origin: "*" },
});
io.on("connection", (socket) => {
  socket.on("echo", (x: unknown, ack: (x: unknown) => void) => ack(x));
});

await serve(http, () => new Promise<void>((resolve) => io.close(() => resolve())));
