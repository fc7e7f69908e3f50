// Node 20 does not apply `--import tsx` loader hooks inside worker threads:
// register tsx here, then load the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
