// The kernel runtime: one wasm module on one shared memory, a heap and arena inside it, and a pool
// of workers that instantiate the same module on the same memory.
//
// Jobs are synchronous: the main thread posts a job, runs its own slice (or claims chunks with
// the workers, for chunked jobs), then waits for the workers. Every kernel writes disjoint outputs
// per slice, so results do not depend on the thread count or on which thread ran which chunk.
import { Arena, WasmHeap } from "./memory.js";
import { nodeBuiltin } from "./node_builtin.js";
import { startWorker, warnSingleThread, workerSupport, type PoolWorker } from "./threads.js";
import { ARGS_BYTE_OFFSET, BOUNDS, CHUNKS, ERROR, GEN, HEAP_BASE, KERNEL, MAILBOX_BYTES, MAX_ARGS, MAX_CHUNKS, MAX_WORKERS, NARGS, NEXT, PENDING, RANGES, READY, kernelNames, runChunks } from "./mailbox.js";

export type KernelFn = (...args: number[]) => void;
export type Kernels = Record<string, KernelFn>;

export interface RuntimeOptions {
  /** Total threads including the caller's. Default: 1. */
  threads?: number;
  /** The compiled module bytes; in Node they are read from dist/mulfree.wasm when omitted. */
  wasm?: BufferSource;
}

const INITIAL_PAGES = 256;
const MAX_PAGES = 65536;

export class Runtime {
  readonly memory: WebAssembly.Memory;
  readonly kernels: Kernels;
  readonly heap: WasmHeap;
  readonly arena: Arena;
  private readonly names: string[];
  private readonly ids = new Map<string, number>();
  private ctl: Int32Array;
  private args: Float64Array;
  private workers: PoolWorker[] = [];
  private readyChecked = false;
  threads: number;
  /** Jobs split across the workers so far (jobs run by the caller alone are not counted). */
  parallelJobs = 0;

  constructor(readonly module: WebAssembly.Module, threads: number) {
    this.memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.kernels = instance.exports as unknown as Kernels;
    this.names = kernelNames(module);
    this.names.forEach((n, i) => this.ids.set(n, i));
    this.heap = new WasmHeap(this.memory, HEAP_BASE);
    [this.ctl, this.args] = this.newMailbox();
    this.arena = new Arena(this.heap);
    this.threads = 1;
    this.setThreads(threads);
  }

  /** Start or stop workers so that `threads` threads (caller included) share the work. */
  setThreads(threads: number): void {
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WORKERS + 1) {
      throw new Error(`threads must be an integer from 1 to ${MAX_WORKERS + 1}, got ${threads}`);
    }
    const support = workerSupport();
    if (threads > 1 && !support.available) {
      // results do not depend on the thread count, so one thread is a slower, never a different, answer
      warnSingleThread(support.reason!);
      threads = 1;
    }
    const wanted = threads - 1;
    if (wanted !== this.workers.length) {
      const old = this.ctl.byteOffset;
      // the old mailbox can be reused only once no worker can still be reading it
      if (this.stopWorkers()) this.heap.free(old);
      [this.ctl, this.args] = this.newMailbox();
      for (let i = 0; i < wanted; i++) {
        this.workers.push(startWorker({ module: this.module, memory: this.memory, index: i, mailbox: this.ctl.byteOffset }));
      }
      this.readyChecked = wanted === 0;
    }
    this.threads = threads;
  }

  private scratchBlocks: Array<{ ptr: number; bytes: number }> = [];

  /**
   * A grow-only scratch buffer owned by the kernel layer (im2col panels, packed operands).
   * `slot` lets one kernel call hold several at once. Kernels are not reentrant, so a slot's
   * contents live only until the next kernel call that uses the same slot.
   */
  scratch(slot: number, bytes: number): number {
    const block = this.scratchBlocks[slot];
    if (block && block.bytes >= bytes) return block.ptr;
    if (block) this.heap.free(block.ptr);
    const size = Math.max(bytes, (block?.bytes ?? 0) * 2);
    const ptr = this.heap.alloc(size);
    this.scratchBlocks[slot] = { ptr, bytes: size };
    return ptr;
  }

  /**
   * True when `view` lies in this runtime's wasm memory. A shared memory hands out a new buffer
   * object each time it grows, and pages that are not cross-origin isolated have no
   * SharedArrayBuffer global, so compare the buffer's kind and the bounds, not the object.
   */
  holds(view: ArrayBufferView): boolean {
    const mem = this.memory.buffer;
    return view.buffer.constructor === mem.constructor && view.byteOffset + view.byteLength <= mem.byteLength;
  }

  /** Float32 view of `length` elements at byte address `ptr` (valid across memory growth). */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }
  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }
  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }
  i8(ptr: number, length: number): Int8Array {
    return new Int8Array(this.memory.buffer, ptr, length);
  }

  /**
   * Run kernel `name(...args, start, end)` over [0, total), split across threads.
   * `grain` is the smallest slice worth a thread; small jobs run on the caller alone.
   * `align` keeps slice boundaries on multiples (e.g. a vector width or a block size).
   * `chunked`: instead of one fixed slice per thread, the threads claim chunks of shrinking size
   * (chunkBounds) from a shared counter until none is left, so a thread that starts late or runs
   * on a busy core takes less of the job. The kernel must accept any number of calls per thread
   * (its scratch is per thread: threadSlot in assembly/gemm.ts). Either way each item is computed
   * by one call in the kernel's fixed order, so the bits do not depend on the split.
   */
  parallel(name: string, args: number[], total: number, grain = 1, align = 1, chunked = false): void {
    const fn = this.kernels[name];
    if (!fn) throw new Error(`unknown kernel ${name}`);
    let threads = Math.min(this.threads, Math.floor(total / Math.max(grain, 1)));
    if (threads > 1 && !this.workersReady()) threads = 1;
    if (threads <= 1) {
      call(fn, args, 0, total);
      return;
    }
    const ctl = this.ctl;
    const n = args.length;
    if (n > MAX_ARGS) throw new Error(`kernel ${name}: too many arguments`);
    for (let i = 0; i < n; i++) this.args[i] = args[i];
    const bounds = chunked ? chunkBounds(total, threads, align, grain) : split(total, threads, align);
    if (chunked) {
      for (let c = 0; c < bounds.length; c++) ctl[BOUNDS + c] = bounds[c]!;
      ctl[CHUNKS] = bounds.length - 1;
      ctl[NEXT] = 0;
    } else {
      ctl[CHUNKS] = 0;
      for (let w = 0; w < this.workers.length; w++) {
        // worker w takes slice w+1; the caller keeps slice 0
        const t = w + 1;
        ctl[RANGES + 2 * w] = t < threads ? bounds[t] : 0;
        ctl[RANGES + 2 * w + 1] = t < threads ? bounds[t + 1] : 0;
      }
    }
    ctl[NARGS] = n;
    this.parallelJobs++;
    Atomics.store(ctl, KERNEL, this.ids.get(name)!);
    Atomics.store(ctl, PENDING, this.workers.length);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    let callerError: unknown = null;
    try {
      if (chunked) runChunks(ctl, (start, end) => call(fn, args, start, end));
      else call(fn, args, bounds[0], bounds[1]);
    } catch (e) {
      callerError = e;
    }
    this.waitForWorkers();
    const failed = Atomics.exchange(ctl, ERROR, 0);
    if (callerError) throw callerError;
    if (failed) throw new Error(`kernel ${this.names[failed - 1]} trapped in a worker thread`);
  }

  /** A zeroed mailbox for a new pool; the old one is left to its (stopped) workers. */
  private newMailbox(): [Int32Array, Float64Array] {
    const ptr = this.heap.alloc(MAILBOX_BYTES);
    const ctl = new Int32Array(this.memory.buffer, ptr, 64);
    ctl.fill(0);
    return [ctl, new Float64Array(this.memory.buffer, ptr + ARGS_BYTE_OFFSET, MAX_ARGS)];
  }

  private waitForWorkers(): void {
    const ctl = this.ctl;
    for (let spins = 0; Atomics.load(ctl, PENDING) !== 0; spins++) {
      if (spins > 100000 && canBlock) {
        const p = Atomics.load(ctl, PENDING);
        if (p !== 0) Atomics.wait(ctl, PENDING, p, 10);
      }
    }
  }

  /**
   * Resolves once every worker has started. A browser page starts workers only after it yields to
   * its event loop, and until then the caller runs every job alone (same results, one thread);
   * await this before timing or when the work should use every thread from the first job.
   */
  async whenReady(timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Atomics.load(this.ctl, READY) < this.workers.length) {
      if (Date.now() > deadline) throw new Error(`the ${this.workers.length} worker threads did not start within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
    this.readyChecked = true;
  }

  private workersReady(): boolean {
    if (this.readyChecked) return true;
    const deadline = Date.now() + 10000;
    while (Atomics.load(this.ctl, READY) < this.workers.length) {
      if (!canBlock || Date.now() > deadline) return false;
      Atomics.wait(this.ctl, READY, Atomics.load(this.ctl, READY), 50);
    }
    this.readyChecked = true;
    return true;
  }

  /** Ask every worker to exit and wait (briefly) for their acknowledgements before terminating. */
  /** Stops the workers; true when every one of them acknowledged (or there were none). */
  private stopWorkers(): boolean {
    if (this.workers.length === 0) return true;
    const ctl = this.ctl;
    let acked = false;
    if (this.workersReady()) {
      Atomics.store(ctl, KERNEL, -1);
      Atomics.store(ctl, PENDING, this.workers.length);
      Atomics.add(ctl, GEN, 1);
      Atomics.notify(ctl, GEN);
      const deadline = Date.now() + 2000;
      while (Atomics.load(ctl, PENDING) > 0 && Date.now() < deadline) if (canBlock) Atomics.wait(ctl, PENDING, Atomics.load(ctl, PENDING), 10);
      acked = Atomics.load(ctl, PENDING) === 0;
    }
    for (const w of this.workers) w.terminate();
    this.workers = [];
    this.readyChecked = true;
    return acked;
  }

  close(): void {
    this.stopWorkers();
    this.threads = 1;
  }
}

/** Node's threads and browser workers may block on Atomics.wait; a browser page's main thread may not (it spins). */
const canBlock = typeof (globalThis as { process?: unknown }).process !== "undefined" || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined";

function call(fn: KernelFn, args: number[], start: number, end: number): void {
  switch (args.length) {
    case 0: return fn(start, end);
    case 1: return fn(args[0], start, end);
    case 2: return fn(args[0], args[1], start, end);
    case 3: return fn(args[0], args[1], args[2], start, end);
    case 4: return fn(args[0], args[1], args[2], args[3], start, end);
    case 5: return fn(args[0], args[1], args[2], args[3], args[4], start, end);
    case 6: return fn(args[0], args[1], args[2], args[3], args[4], args[5], start, end);
    default: return fn(...args, start, end);
  }
}

/** Split [0,total) into `parts` slices whose inner boundaries are multiples of `align`. */
export function split(total: number, parts: number, align = 1): number[] {
  const bounds = [0];
  for (let p = 1; p < parts; p++) {
    const b = Math.round((total * p) / parts / align) * align;
    bounds.push(Math.min(Math.max(b, bounds[p - 1]), total));
  }
  bounds.push(total);
  return bounds;
}

/**
 * Bounds of a chunked job (Runtime.parallel): each chunk is 1 / (2·threads) of what is left (a
 * quarter for two threads), aligned, and at least 1 / (8·threads) of the job and `grain` items,
 * so the first chunks are large (few calls) and the last small (the threads finish together).
 * At most MAX_CHUNKS chunks: the last takes the rest.
 */
export function chunkBounds(total: number, threads: number, align = 1, grain = 1): number[] {
  const up = (v: number) => Math.ceil(v / align) * align;
  const least = Math.max(align, up(total / (8 * threads)), up(grain));
  const bounds = [0];
  let at = 0;
  while (at < total) {
    at = bounds.length === MAX_CHUNKS ? total : Math.min(total, at + Math.max(least, up((total - at) / (2 * threads))));
    bounds.push(at);
  }
  return bounds;
}


export { nodeBuiltin };

let current: Runtime | undefined;

/** Create (or reconfigure) the process-wide runtime. */
export function initRuntime(options: RuntimeOptions = {}): Runtime {
  const threads = options.threads ?? 1;
  if (current) {
    current.setThreads(threads);
    return current;
  }
  const bytes = options.wasm ?? readBundledWasm();
  current = new Runtime(new WebAssembly.Module(bytes as BufferSource), threads);
  return current;
}

/** The runtime if one was made, without making one. */
export function existingRuntime(): Runtime | undefined {
  return current;
}

/** The runtime, created with one thread on first use in Node. */
export function runtime(): Runtime {
  return current ?? initRuntime();
}

function readBundledWasm(): BufferSource {
  const fs = nodeBuiltin<typeof import("node:fs")>("node:fs");
  const url = nodeBuiltin<typeof import("node:url")>("node:url");
  if (!fs || !url) throw new Error("no wasm bytes given: pass options.wasm outside Node");
  // dist/src/kernels/runtime.js -> dist/mulfree.wasm
  const path = url.fileURLToPath(new URL("../../mulfree.wasm", import.meta.url));
  return new Uint8Array(fs.readFileSync(path));
}
