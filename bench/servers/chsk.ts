/**
 * chsk library server under test: EDN packer, CSRF off, a router that
 * answers the echo event (`--echo-event`, default `demo/echo`, what the
 * bench engine sends) with its data. Serves both WS and Ajax on /chsk.
 */
import { createServer as createHttpServer } from "node:http";
import { parseArgs } from "node:util";
import { ednPacker } from "../../src/core/packers/edn.js";
import { createServer } from "../../src/server/index.js";
import { serve } from "./common.js";

const { values } = parseArgs({ options: { "echo-event": { type: "string", default: "demo/echo" } } });
const echoEvent = values["echo-event"]!;

const chsk = createServer({ packer: ednPacker(), csrfToken: null });
const http = createHttpServer((req, res) => {
  if (!chsk.handleRequest(req, res)) res.writeHead(404).end();
});
http.on("upgrade", (req, socket, head) => {
  if (!chsk.handleUpgrade(req, socket, head)) socket.destroy();
});
chsk.startRouter((msg) => {
  if (msg.id === echoEvent) msg.reply?.(msg.data);
});

await serve(http, () => chsk.close());
