// Layout of the job mailbox that the main thread and the workers share (inside wasm memory).
// Int32 slots:
export const GEN = 0; // job generation; bumped to start a job
export const PENDING = 1; // workers still running the current job
export const KERNEL = 2; // index into the sorted export list; -1 = exit
export const NARGS = 3; // number of kernel arguments before the range
export const READY = 4; // workers that have instantiated the module
export const ERROR = 5; // set by a worker whose slice threw; the caller rethrows
export const RANGES = 16; // per worker: start, end (Int32 slots RANGES + 2w, RANGES + 2w + 1)
export const MAX_WORKERS = 16;
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
