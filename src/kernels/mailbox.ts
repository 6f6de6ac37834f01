// Layout of the job mailbox that the main thread and the workers share (inside wasm memory).
// Int32 slots:
export const GEN = 0; // job generation; bumped to start a job
export const PENDING = 1; // workers still running the current job
export const KERNEL = 2; // index into the sorted export list; -1 = exit
export const NARGS = 3; // number of kernel arguments before the range
export const READY = 4; // workers that have instantiated the module
export const ERROR = 5; // set by a worker whose slice threw; the caller rethrows
export const CHUNKS = 6; // 0: each thread runs its slice in RANGES; else the job's chunk count, bounds in BOUNDS
export const NEXT = 7; // the next chunk to claim (Atomics.add), for chunked jobs
export const RANGES = 16; // per worker: start, end (Int32 slots RANGES + 2w, RANGES + 2w + 1)
export const MAX_WORKERS = 16;
export const BOUNDS = RANGES + 2 * MAX_WORKERS; // chunk c is [BOUNDS + c, BOUNDS + c + 1)
export const MAX_CHUNKS = 64 - BOUNDS - 1;
export const ARGS_BYTE_OFFSET = 256; // Float64 arguments start here
export const MAX_ARGS = 24;
export const MAILBOX_BYTES = ARGS_BYTE_OFFSET + MAX_ARGS * 8;
/** The JS-managed heap starts here, far above the AssemblyScript static area. Each worker pool
 * gets its own mailbox from the heap, so workers of a stopped pool can never touch a new one. */
export const HEAP_BASE = 65536;

export function kernelNames(module: WebAssembly.Module): string[] {
  return WebAssembly.Module.exports(module)
    .filter((e) => e.kind === "function")
    .map((e) => e.name)
    .sort();
}

/** Claim the chunks of the job in `ctl` one by one and run each (caller and workers alike). */
export function runChunks(ctl: Int32Array, run: (start: number, end: number) => void): void {
  const chunks = ctl[CHUNKS]!;
  for (let c = Atomics.add(ctl, NEXT, 1); c < chunks; c = Atomics.add(ctl, NEXT, 1)) run(ctl[BOUNDS + c]!, ctl[BOUNDS + c + 1]!);
}
