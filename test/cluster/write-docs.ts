/**
 * Rewrites docs/haproxy.cfg from haproxyConfig(), the function the cluster
 * tests run haproxy with: `node --import tsx test/cluster/write-docs.ts`.
 * test/unit/cluster-docs.test.ts fails when the two differ.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DOCS_HAPROXY } from "./docs-example.js";
import { haproxyConfig } from "./haproxy.js";

const path = fileURLToPath(new URL("../../docs/haproxy.cfg", import.meta.url));
writeFileSync(path, haproxyConfig(DOCS_HAPROXY));
process.stdout.write(`wrote ${path}\n`);
