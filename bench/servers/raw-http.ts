/** Baseline for the HTTP rows: node:http answering each POST with its body. */
import { createServer } from "node:http";
import { serve } from "./common.js";

const http = createServer((req, res) => {
  if (req.method !== "POST") return void res.writeHead(404).end();
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  });
});

await serve(http);
