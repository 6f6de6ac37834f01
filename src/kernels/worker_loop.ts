// The body of every pool worker, in Node (worker.ts, worker_threads) and in browsers
// (worker_web.ts, Web Workers): instantiate the kernel module on the shared memory, then run this
// worker's slice of each job the main thread posts in the mailbox (./mailbox.ts), or claim chunks
// of it with the other threads.
import { ARGS_BYTE_OFFSET, CHUNKS, ERROR, GEN, KERNEL, MAX_ARGS, NARGS, PENDING, RANGES, READY, kernelNames, runChunks } from "./mailbox.js";

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** This worker's index in the pool: it runs slice index + 1 of each job, and scratch slot index + 1. */
  index: number;
  /** Byte address of the pool's mailbox in the shared memory. */
  mailbox: number;
}

/** Spin this many checks before sleeping on Atomics.wait: most jobs follow each other closely. */
const SPIN = 20000;

/** Serve jobs until the main thread asks this worker to exit. */
export function runWorker({ module, memory, index, mailbox }: WorkerInit): void {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const fns = kernelNames(module).map((n) => instance.exports[n] as (...a: number[]) => void);
  // this thread's scratch slot in every kernel (threadSlot in assembly/gemm.ts); the caller's is 0
  (instance.exports.setThreadIndex as (i: number) => void)(index + 1);
  const ctl = new Int32Array(memory.buffer, mailbox, 64);
  const args = new Float64Array(memory.buffer, mailbox + ARGS_BYTE_OFFSET, MAX_ARGS);
  const local: number[] = new Array(MAX_ARGS + 2).fill(0);

  // the current job's kernel and argument count, read by `run` (one closure for every job)
  let k = -1, n = 0;
  const run = (start: number, end: number) => {
    for (let i = 0; i < n; i++) local[i] = args[i]!;
    local[n] = start;
    local[n + 1] = end;
    fns[k]!(...local);
  };

  let gen = Atomics.load(ctl, GEN);
  Atomics.add(ctl, READY, 1);
  Atomics.notify(ctl, READY);
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctl, GEN) === gen && spins < SPIN) spins++;
    // A loop, not one wait: the main thread bumps GEN and then notifies, and if it is descheduled in
    // between, this worker can see the bump, run the job, and come back to wait before the notify
    // arrives. That late notify says 'ok' for a generation already done; one wait would run the
    // job a second time and drive PENDING to −1 (the main thread then waits forever).
    while (Atomics.load(ctl, GEN) === gen) Atomics.wait(ctl, GEN, gen);
    gen = Atomics.load(ctl, GEN);
    k = Atomics.load(ctl, KERNEL);
    if (k >= 0) {
      n = ctl[NARGS]!;
      try {
        if (ctl[CHUNKS]! > 0) runChunks(ctl, run);
        else if (ctl[RANGES + 2 * index]! < ctl[RANGES + 2 * index + 1]!) run(ctl[RANGES + 2 * index]!, ctl[RANGES + 2 * index + 1]!);
      } catch {
        // a trap in a kernel: report it instead of leaving the caller waiting forever
        Atomics.store(ctl, ERROR, k + 1);
      }
    }
    // acknowledge the job (or the exit request, so the caller knows this worker is gone)
    if (Atomics.sub(ctl, PENDING, 1) === 1) Atomics.notify(ctl, PENDING);
    if (k < 0) break;
  }
}
