// Layout of the job mailbox that the main thread and the workers share (inside wasm memory).
// Int32 slots:
export const GEN = 0; // job generation; bumped to start a job
export const PENDING = 1; // workers still running the current job
export const KERNEL = 2; // index into the sorted export list; -1 = exit
export const NARGS = 3; // number of kernel arguments before the range
export const READY = 4; // workers that have instantiated the module
export const RANGES = 16; // per worker: start, end (Int32 slots RANGES + 2w, RANGES + 2w + 1)
export const MAX_WORKERS = 16;
export const ARGS_BYTE_OFFSET = 256; // Float64 arguments start here
export const MAX_ARGS = 24;
export const MAILBOX_BYTES = ARGS_BYTE_OFFSET + MAX_ARGS * 8;
/** Where the mailbox lives; the AssemblyScript static area is far below this. */
export const MAILBOX_PTR = 32768;
/** The JS-managed heap starts here. */
export const HEAP_BASE = 65536;

export function kernelNames(module: WebAssembly.Module): string[] {
  return WebAssembly.Module.exports(module)
    .filter((e) => e.kind === "function")
    .map((e) => e.name)
    .sort();
}
