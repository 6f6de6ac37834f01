// Browser pool worker (a module Web Worker): waits for its init message, then runs the shared
// loop of ./worker_loop.ts. Atomics.wait is allowed in workers, so it sleeps between jobs.
import { runWorker, type WorkerInit } from "./worker_loop.js";

const scope = globalThis as unknown as { onmessage: ((e: { data: WorkerInit }) => void) | null; close(): void };
scope.onmessage = (e) => {
  scope.onmessage = null;
  runWorker(e.data);
  scope.close();
};
