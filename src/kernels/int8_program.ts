// An int8 network as one job (assembly/int8_program.ts): each thread takes `chunk` images at a
// time from a shared counter and runs every op on them, so activations stay in L1/L2, no barrier
// stands between layers, and a slower thread simply takes fewer chunks. The ops come from the
// bind-time validators of ./int8.ts (convProgramOp, maxPoolProgramOp, …); results are
// byte-identical to running the same calls layer by layer, for any thread count and chunk.
import type { Runtime } from "./runtime.js";

/** Marks the argument that receives the address of an op's own parameter block. */
export const PROGRAM_BLOCK = -1;

export type ProgramOpCode = "OP_ADDER_CONV" | "OP_MUL_CONV" | "OP_MAX_POOL" | "OP_AVG_POOL_GLOBAL" | "OP_ADD_REQUANT" | "OP_QUANTIZE_F32";

/** One kernel call of a program, for the whole batch. */
export interface ProgramOp {
  /** Name of the op code's global in the wasm module. */
  code: ProgramOpCode;
  /** The kernel's range units (positions, rows, elements) per image. */
  unitsPerImage: number;
  /** Kernel arguments before the range (at most 10); PROGRAM_BLOCK stands for `block`'s address. */
  args: number[];
  /** A parameter block the kernel reads, stored with the program. */
  block?: Int32Array;
  /** Bytes of per-thread scratch the kernel needs. */
  slotBytes: number;
}

// Mirrors assembly/int8_program.ts.
const HEADER_WORDS = 8;
const OP_WORDS = 12;
const MAX_ARGS = OP_WORDS - 2;
const H_OPS = 0, H_CHUNK = 1, H_STRIDE = 3, H_SCRATCH = 4, H_NEXT = 5, H_IMAGES = 6; // word 2 unused

/** Activation bytes per chunk worth keeping close: a fraction of a 512 KiB–1 MiB L2. */
const CHUNK_BYTES = 192 * 1024;
/** Small enough that the last chunks even out threads that run at different speeds. */
const MAX_CHUNK = 8;

/** Images per chunk so that the activations of a chunk (bytes per image given) stay in L2. */
export function chunkImages(activationBytesPerImage: number): number {
  return Math.max(1, Math.min(MAX_CHUNK, Math.floor(CHUNK_BYTES / Math.max(1, activationBytesPerImage))));
}

export class Int8Program {
  private ptr: number;
  /** The header, viewed once: a shared memory's views stay valid when it grows. */
  private readonly header: Int32Array;
  private readonly words: number;
  private readonly stride: number;
  private scratch = 0;
  private scratchThreads = 0;

  constructor(private readonly rt: Runtime, ops: ProgramOp[], readonly images: number, readonly chunk: number) {
    if (!Number.isInteger(images) || images < 1) throw new Error(`Int8Program: images must be a positive integer, got ${images}`);
    if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`Int8Program: chunk must be a positive integer, got ${chunk}`);
    const blockWords = ops.reduce((a, op) => a + (op.block?.length ?? 0), 0);
    this.words = HEADER_WORDS + ops.length * OP_WORDS + blockWords;
    this.ptr = rt.heap.alloc(this.words * 4);
    this.stride = Math.max(64, Math.ceil(Math.max(0, ...ops.map((op) => op.slotBytes)) / 64) * 64);
    const mem = rt.i32(this.ptr, this.words);
    this.header = mem.subarray(0, HEADER_WORDS);
    mem.fill(0);
    mem[H_OPS] = ops.length;
    mem[H_CHUNK] = chunk;
    mem[H_STRIDE] = this.stride;
    mem[H_IMAGES] = images;
    let blockAt = HEADER_WORDS + ops.length * OP_WORDS;
    ops.forEach((op, k) => {
      if (op.args.length > MAX_ARGS) throw new Error(`Int8Program: ${op.code} has ${op.args.length} arguments, at most ${MAX_ARGS} fit`);
      const code = (rt.kernels as unknown as Record<string, WebAssembly.Global | undefined>)[op.code];
      if (!code) throw new Error(`Int8Program: the wasm module has no ${op.code}`);
      const at = HEADER_WORDS + k * OP_WORDS;
      mem[at] = code.value as number;
      mem[at + 1] = op.unitsPerImage;
      const blockAddress = this.ptr + blockAt * 4;
      op.args.forEach((a, i) => (mem[at + 2 + i] = a === PROGRAM_BLOCK ? blockAddress : a));
      if (op.block) {
        mem.set(op.block, blockAt);
        blockAt += op.block.length;
      }
    });
  }

  /** Run the whole batch on the runtime's threads. */
  run(): void {
    if (this.ptr < 0) throw new Error("Int8Program: the program was disposed");
    const rt = this.rt;
    const threads = rt.threads;
    if (threads > this.scratchThreads) {
      if (this.scratch) rt.heap.free(this.scratch);
      this.scratch = rt.heap.alloc(64 + threads * this.stride);
      this.scratchThreads = threads;
    }
    const header = this.header;
    header[H_SCRATCH] = this.scratch;
    header[H_NEXT] = 0;
    rt.parallel("runInt8Program", [this.ptr], this.images, 1);
  }

  dispose(): void {
    if (this.ptr < 0) return;
    this.rt.heap.free(this.ptr);
    if (this.scratch) this.rt.heap.free(this.scratch);
    this.ptr = -1;
    this.scratch = 0;
  }
}
