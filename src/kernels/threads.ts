// Starting pool workers where the code runs: worker_threads in Node, module Web Workers in
// browsers. Browsers share memory with workers only on cross-origin isolated pages (COOP/COEP
// headers); elsewhere the pool stays at one thread, and says so once on the console.
import { nodeBuiltin } from "./node_builtin.js";
import type { WorkerInit } from "./worker_loop.js";

export interface PoolWorker {
  terminate(): void;
}

interface WebWorkerLike {
  postMessage(data: unknown): void;
  terminate(): void;
}
type WebWorkerCtor = new (url: URL, options: { type: "module"; name?: string }) => WebWorkerLike;

let warned = false;

/** How many worker threads this environment can start (0: none), and why not when none. */
export function workerSupport(): { available: boolean; reason?: string } {
  if (nodeBuiltin("node:worker_threads")) return { available: true };
  const g = globalThis as { Worker?: unknown; crossOriginIsolated?: boolean };
  if (typeof g.Worker !== "function") return { available: false, reason: "this environment has no worker_threads or Web Workers" };
  if (g.crossOriginIsolated !== true) {
    return { available: false, reason: "this page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), so it cannot share memory with workers" };
  }
  return { available: true };
}

/** Warn once (console) that a request for threads falls back to one. */
export function warnSingleThread(reason: string): void {
  if (warned) return;
  warned = true;
  console.warn(`mulfree: running on one thread: ${reason}`);
}

export function startWorker(init: WorkerInit): PoolWorker {
  const wt = nodeBuiltin<typeof import("node:worker_threads")>("node:worker_threads");
  if (wt) {
    const w = new wt.Worker(new URL("./worker.js", import.meta.url), { workerData: init });
    w.unref();
    return { terminate: () => void w.terminate() };
  }
  const Ctor = (globalThis as unknown as { Worker: WebWorkerCtor }).Worker;
  const w = new Ctor(new URL("./worker_web.js", import.meta.url), { type: "module", name: `mulfree-${init.index}` });
  w.postMessage(init);
  return { terminate: () => w.terminate() };
}
