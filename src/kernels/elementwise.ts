// Elementwise f32 kernels: TypeScript entry points over views that live in wasm memory.
// Maps split the element range across threads; reductions write one partial per fixed block (or
// one result per channel), so every result is the same for any thread count.
import { runtime } from "./runtime.js";

export type KernelView = Float32Array | Int32Array | Uint8Array;

/** Elements per thread below which a cheap map is not worth a second thread. */
const MAP_GRAIN = 1 << 14;
/** Dropout hashes every element, so it pays to split sooner. */
const HASH_GRAIN = 1 << 12;
/** Elements per partial sum of sum / sumSquares: fixed, so the result never depends on threads. */
const REDUCE_BLOCK = 4096;
/** Scratch slot for the f64 partial sums of sum / sumSquares. */
const PARTIALS_SLOT = 7;

/** Throw unless `arr` is a typed array in the kernel's shared memory with exactly `n` elements. */
export function checkView(kernel: string, name: string, arr: KernelView, n: number): void {
  if (!runtime().holds(arr)) {
    throw new Error(`${kernel}: ${name} must be a view into the kernel memory (allocate it with runtime().heap)`);
  }
  if (arr.length !== n) throw new Error(`${kernel}: ${name} has ${arr.length} elements, expected ${n}`);
}

/** Throw unless every size is a positive integer (or >= 0 where `allowZero`). */
export function checkSizes(kernel: string, sizes: Record<string, number>, allowZero = false): void {
  for (const [name, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < (allowZero ? 0 : 1) || v > 0x7fffffff) {
      throw new Error(`${kernel}: ${name} must be a ${allowZero ? "non-negative" : "positive"} integer, got ${v}`);
    }
  }
}

function checkFinite(kernel: string, name: string, v: number): void {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${kernel}: ${name} must be a finite number, got ${v}`);
}

function map2(kernel: string, name: string, a: Float32Array, b: Float32Array, out: Float32Array): void {
  const n = out.length;
  checkView(name, "a", a, n);
  checkView(name, "b", b, n);
  checkView(name, "out", out, n);
  runtime().parallel(kernel, [a.byteOffset, b.byteOffset, out.byteOffset], n, MAP_GRAIN, 16);
}

/** out = a + b. */
export function add(a: Float32Array, b: Float32Array, out: Float32Array): void {
  map2("addF32", "add", a, b, out);
}

/** out = a - b. */
export function sub(a: Float32Array, b: Float32Array, out: Float32Array): void {
  map2("subF32", "sub", a, b, out);
}

/** out = a * b. */
export function mul(a: Float32Array, b: Float32Array, out: Float32Array): void {
  map2("mulF32", "mul", a, b, out);
}

/** y += alpha · x (product rounded to f32, then the sum). */
export function axpy(alpha: number, x: Float32Array, y: Float32Array): void {
  checkFinite("axpy", "alpha", alpha);
  checkView("axpy", "x", x, y.length);
  checkView("axpy", "y", y, y.length);
  runtime().parallel("axpyF32", [alpha, x.byteOffset, y.byteOffset], y.length, MAP_GRAIN, 16);
}

/** y += alpha · x; the same kernel as `axpy` with the destination first. */
export function addScaled(y: Float32Array, x: Float32Array, alpha: number): void {
  axpy(alpha, x, y);
}

/** out = alpha · x. */
export function scale(alpha: number, x: Float32Array, out: Float32Array): void {
  checkFinite("scale", "alpha", alpha);
  checkView("scale", "x", x, out.length);
  checkView("scale", "out", out, out.length);
  runtime().parallel("scaleF32", [alpha, x.byteOffset, out.byteOffset], out.length, MAP_GRAIN, 16);
}

/** out[:] = value. */
export function fill(out: Float32Array, value: number): void {
  checkView("fill", "out", out, out.length);
  runtime().parallel("fillF32", [value, out.byteOffset], out.length, MAP_GRAIN, 16);
}

/** dst = src (the two must not overlap). */
export function copy(src: Float32Array, dst: Float32Array): void {
  checkView("copy", "src", src, dst.length);
  checkView("copy", "dst", dst, dst.length);
  const a = src.byteOffset, b = dst.byteOffset, bytes = dst.byteLength;
  if (a !== b && a < b + bytes && b < a + bytes) throw new Error("copy: src and dst overlap");
  runtime().parallel("copyF32", [a, b], dst.length, MAP_GRAIN, 16);
}

/** y = max(x, 0). In place (y === x) is fine. */
export function reluForward(x: Float32Array, y: Float32Array): void {
  checkView("reluForward", "x", x, y.length);
  checkView("reluForward", "y", y, y.length);
  runtime().parallel("reluForwardF32", [x.byteOffset, y.byteOffset], y.length, MAP_GRAIN, 16);
}

/** dx = dy where x > 0, else 0; `xOrY` may be the ReLU's input or its output. */
export function reluBackward(dy: Float32Array, xOrY: Float32Array, dx: Float32Array): void {
  checkView("reluBackward", "dy", dy, dx.length);
  checkView("reluBackward", "xOrY", xOrY, dx.length);
  checkView("reluBackward", "dx", dx, dx.length);
  runtime().parallel("reluBackwardF32", [dy.byteOffset, xOrY.byteOffset, dx.byteOffset], dx.length, MAP_GRAIN, 16);
}

function checkRange(kernel: string, lo: number, hi: number): void {
  if (typeof lo !== "number" || typeof hi !== "number" || Number.isNaN(lo) || Number.isNaN(hi) || !(lo <= hi)) {
    throw new Error(`${kernel}: need lo <= hi, got lo=${lo}, hi=${hi}`);
  }
}

/** y = min(max(x, lo), hi) (PyTorch hardtanh; clamp). Bounds are rounded to f32. */
export function hardtanhForward(x: Float32Array, y: Float32Array, lo = -1, hi = 1): void {
  checkRange("hardtanhForward", lo, hi);
  checkView("hardtanhForward", "x", x, y.length);
  checkView("hardtanhForward", "y", y, y.length);
  runtime().parallel("hardtanhForwardF32", [x.byteOffset, y.byteOffset, lo, hi], y.length, MAP_GRAIN, 16);
}

/** clamp(x, lo, hi) = hardtanhForward. */
export const clamp = hardtanhForward;

/** dx = dy where lo < x < hi, else 0. */
export function hardtanhBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, lo = -1, hi = 1): void {
  checkRange("hardtanhBackward", lo, hi);
  checkView("hardtanhBackward", "dy", dy, dx.length);
  checkView("hardtanhBackward", "x", x, dx.length);
  checkView("hardtanhBackward", "dx", dx, dx.length);
  runtime().parallel("hardtanhBackwardF32", [dy.byteOffset, x.byteOffset, dx.byteOffset, lo, hi], dx.length, MAP_GRAIN, 16);
}

/** y[n, c, :] += bias[c] for y of shape [N, C, HW] (HW = 1 for a linear layer). */
export function addChannelBias(y: Float32Array, bias: Float32Array, N: number, C: number, HW: number): void {
  checkSizes("addChannelBias", { N, C, HW });
  checkView("addChannelBias", "y", y, N * C * HW);
  checkView("addChannelBias", "bias", bias, C);
  const planes = N * C;
  runtime().parallel("addChannelBiasF32", [y.byteOffset, bias.byteOffset, C, HW], planes, Math.ceil(MAP_GRAIN / HW), HW === 1 ? 16 : 1);
}

/** out[c] = Σ_{n, s} dy[n, c, s] (the bias gradient). f64 accumulation; threads split channels. */
export function sumChannels(dy: Float32Array, out: Float32Array, N: number, C: number, HW: number): void {
  checkSizes("sumChannels", { N, C, HW });
  checkView("sumChannels", "dy", dy, N * C * HW);
  checkView("sumChannels", "out", out, C);
  runtime().parallel("sumChannelsF32", [dy.byteOffset, out.byteOffset, N, C, HW], C, Math.ceil(MAP_GRAIN / (N * HW)), HW === 1 ? 4 : 1);
}

function blockReduce(kernel: string, x: Float32Array): number {
  const rt = runtime();
  const n = x.length;
  if (n === 0) return 0;
  const blocks = Math.ceil(n / REDUCE_BLOCK);
  const partials = rt.scratch(PARTIALS_SLOT, blocks * 8);
  rt.parallel(kernel, [x.byteOffset, n, REDUCE_BLOCK, partials], blocks, Math.ceil(MAP_GRAIN / REDUCE_BLOCK), 1);
  const p = new Float64Array(rt.memory.buffer, partials, blocks);
  let s = 0;
  for (let b = 0; b < blocks; b++) s += p[b];
  return s;
}

/** Σ x in f64, blocked in a fixed order (the same for any thread count). */
export function sum(x: Float32Array): number {
  checkView("sum", "x", x, x.length);
  return blockReduce("sumBlocksF32", x);
}

/** Σ x² in f64 (gradient norms), blocked in a fixed order. */
export function sumSquares(x: Float32Array): number {
  checkView("sumSquares", "x", x, x.length);
  return blockReduce("sumSquaresBlocksF32", x);
}

function checkDropoutP(kernel: string, p: number): void {
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new Error(`${kernel}: p must be in [0, 1], got ${p}`);
}

/**
 * Inverted dropout (PyTorch semantics): element i is kept when a counter-based hash of
 * (seed, offset + i) is >= p·2^32, so the mask depends only on the seed and the element index,
 * never on the thread split. Kept elements are scaled by 1/(1-p); mask[i] = 1 (kept) or 0.
 * Advance `offset` (or change `seed`) between calls to get a fresh mask; both wrap at 2^32.
 */
export function dropoutForward(x: Float32Array, mask: Uint8Array, y: Float32Array, p: number, seed: number, offset = 0): void {
  checkDropoutP("dropoutForward", p);
  if (!Number.isInteger(seed) || !Number.isInteger(offset)) throw new Error(`dropoutForward: seed and offset must be integers, got ${seed}, ${offset}`);
  const n = y.length;
  checkView("dropoutForward", "x", x, n);
  checkView("dropoutForward", "mask", mask, n);
  checkView("dropoutForward", "y", y, n);
  runtime().parallel("dropoutForwardF32", [x.byteOffset, mask.byteOffset, y.byteOffset, p, seed >>> 0, offset >>> 0], n, HASH_GRAIN, 16);
}

/** dx = mask ? dy / (1 - p) : 0. */
export function dropoutBackward(dy: Float32Array, mask: Uint8Array, dx: Float32Array, p: number): void {
  checkDropoutP("dropoutBackward", p);
  const n = dx.length;
  checkView("dropoutBackward", "dy", dy, n);
  checkView("dropoutBackward", "mask", mask, n);
  checkView("dropoutBackward", "dx", dx, n);
  runtime().parallel("dropoutBackwardF32", [dy.byteOffset, mask.byteOffset, dx.byteOffset, p], n, MAP_GRAIN, 16);
}
