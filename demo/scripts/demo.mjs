#!/usr/bin/env node
// `npm run demo`: build the demo and serve it on http://127.0.0.1:8080 (PORT=… for another port)
// with the cross-origin isolation headers (COOP/COEP) that its worker threads need. The server is
// the browser tests' (test/browser/serve.ts, compiled by `npm run build`).
import { buildDemo } from "./build.mjs";
import { serveStatic } from "../../dist/test/browser/serve.js";

const { out, payload } = await buildDemo();
const server = await serveStatic(out, { isolated: true, port: Number(process.env.PORT ?? 8080) });
console.log(`mulfree demo (JS + wasm ${(payload.totalBytes / 1024).toFixed(0)} KB without models): ${server.url}/  (Ctrl-C stops it)`);
