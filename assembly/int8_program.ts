// An int8 network run as one job: each thread takes a range of images and runs every layer on a
// few of them at a time ("chunks"), instead of every layer on the whole batch with a barrier
// between layers.
//
// Why: at batch 256 a LeNet layer's output is megabytes, so layer after layer streams through
// L3/memory, and two cores contend for it (measured: one conv on 256 images ran 35% slower per
// core while another core did the same). A chunk of a few images keeps every activation in L1/L2,
// and one job per batch removes the six barriers a layer-by-layer run waits at.
//
// Correctness: every op is per image (convolutions, pooling, residual adds), so running images
// [a, b) through all ops gives the same bytes as running all images through each op. The
// buffers are the batch's (slots shared by nodes never alive together hold for each image
// alike), and threads write disjoint images.
//
// Chunks are handed out at run time: every thread that joins takes the next chunk from a shared
// counter until none is left, so a thread that starts late or runs on a slower core (this
// machine's two vCPUs drift apart) simply takes fewer chunks. Which thread runs an image never
// changes its bytes.
//
// Layout, i32 words: header [ops, chunk, 0, slot stride, scratch base, next image, images, 0],
// then
// per op OP_WORDS words: [code, units per image, a0 .. a9]. The kernels take [start, end) in
// their own units (positions, rows, elements, images), so an image range [i0, i1) is
// [i0·units, i1·units).
import { threadSlot } from "./gemm";
import { adderConvInSlot } from "./int8_adder";
import { mulConvInSlot } from "./int8_mul";
import { addRequantU8, avgPoolGlobalInSlot, maxPool2dU8, quantizeF32U8 } from "./int8_ops";

export const OP_ADDER_CONV: i32 = 1;
export const OP_MUL_CONV: i32 = 2;
export const OP_MAX_POOL: i32 = 3;
export const OP_AVG_POOL_GLOBAL: i32 = 4;
export const OP_ADD_REQUANT: i32 = 5;
export const OP_QUANTIZE_F32: i32 = 6;

const HEADER_WORDS: usize = 8;
const OP_WORDS: usize = 12;

// @ts-ignore: decorator
@inline function arg(op: usize, i: i32): i32 {
  return load<i32>(op + 8 + (<usize>i << 2));
}

function runOp(op: usize, slot: usize, i0: i32, i1: i32): void {
  const units = load<i32>(op, 4);
  const start = i0 * units, end = i1 * units;
  switch (load<i32>(op)) {
    case OP_ADDER_CONV: adderConvInSlot(<usize>arg(op, 0), slot, start, end); break;
    case OP_MUL_CONV: mulConvInSlot(<usize>arg(op, 0), slot, start, end); break;
    case OP_MAX_POOL: maxPool2dU8(<usize>arg(op, 0), <usize>arg(op, 1), arg(op, 2), arg(op, 3), arg(op, 4), arg(op, 5), start, end); break;
    case OP_AVG_POOL_GLOBAL: avgPoolGlobalInSlot(<usize>arg(op, 0), <usize>arg(op, 1), arg(op, 2), arg(op, 3), slot, start, end); break;
    case OP_ADD_REQUANT: addRequantU8(<usize>arg(op, 0), <usize>arg(op, 1), <usize>arg(op, 2), <usize>arg(op, 3), start, end); break;
    case OP_QUANTIZE_F32: quantizeF32U8(<usize>arg(op, 0), <usize>arg(op, 1), arg(op, 2), arg(op, 3), <usize>arg(op, 4), start, end); break;
    default: unreachable();
  }
}

/**
 * Run the program at prog: this thread takes `chunk` images at a time from the shared counter and
 * runs all ops on them, until the batch is done. [start, end) only says that the pool gave this
 * thread a share; the counter decides which images it gets.
 */
export function runInt8Program(prog: usize, start: i32, end: i32): void {
  if (start >= end) return;
  const ops = load<i32>(prog), chunk = load<i32>(prog, 4), images = load<i32>(prog, 24);
  // this thread's scratch slot for the whole run: the ops of a chunk run one after another
  const slot = threadSlot(<usize>load<i32>(prog, 16), load<i32>(prog, 12));
  const first = prog + (HEADER_WORDS << 2);
  for (let i0 = atomic.add<i32>(prog + 20, chunk); i0 < images; i0 = atomic.add<i32>(prog + 20, chunk)) {
    const i1 = min(images, i0 + chunk);
    for (let k = 0; k < ops; k++) runOp(first + (<usize>k * OP_WORDS << 2), slot, i0, i1);
  }
}
