// A static file server for browser tests and the demo (`npm run demo`): a folder over HTTP on
// 127.0.0.1, with the cross-origin isolation headers (COOP/COEP) that shared memory between workers
// needs, or without. A folder's URL serves its index.html.
import { createServer, type Server } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
  ".wasm": "application/wasm", ".json": "application/json", ".png": "image/png", ".svg": "image/svg+xml",
  ".webmanifest": "application/manifest+json",
};

export const ISOLATION_HEADERS = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" };

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** Serve `root`; `pages` are extra in-memory files (path → content); port 0 (default) picks a free one. */
export function serveStatic(root: string, options: { isolated: boolean; pages?: Record<string, string>; port?: number }): Promise<StaticServer> {
  const headers = options.isolated ? ISOLATION_HEADERS : {};
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    const page = options.pages?.[path];
    if (page !== undefined) {
      res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "text/html", ...headers });
      res.end(page);
      return;
    }
    const file = join(root, path.endsWith("/") ? `${path}index.html` : path);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, headers);
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", ...headers });
    res.end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);  // e.g. a fixed port already in use
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}
