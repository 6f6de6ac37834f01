// DeepShift's per-step weight transforms on the wasm kernels (assembly/shift_round.ts). Each entry
// point returns false, doing nothing, when a view is not in kernel memory (plain arrays, e.g. in
// tests or `effectiveWeight()` buffers) or the case is not covered; the caller then runs the
// TypeScript reference (src/tensor/ops/shift.ts), which every kernel matches bit for bit.
import { runtime } from "./runtime.js";

/** Elements per thread below which a second thread is not worth waking. */
const GRAIN = 1 << 15;

/** The smallest shift whose power of two is a normal float32 (the kernels build 2^p from bits). */
export const KERNEL_MIN_SHIFT = -126;

/** True when every view lies in the kernel's shared memory (the test of elementwise's checkView). */
export function inKernelMemory(...views: Float32Array[]): boolean {
  const rt = runtime();
  return views.every((v) => rt.holds(v));
}

/** Q: out = sign(w)·2^clamp(round(log2|w|), min, 0) (0 for ±0); `project`: first clamp w to [−1, 1] in place. */
export function shiftQWeight(w: Float32Array, out: Float32Array, min: number, project: boolean): boolean {
  if (min < KERNEL_MIN_SHIFT || out.length !== w.length || !inKernelMemory(w, out)) return false;
  runtime().parallel("shiftQWeightF32", [w.byteOffset, out.byteOffset, min, project ? 1 : 0], w.length, GRAIN, 4);
  return true;
}

/** PS: out = sign(round(S))·2^round(clamp(P, min, 0)); `project`: first clamp P to [min, 0] and S to [−1, 1] in place. */
export function shiftPSWeight(shift: Float32Array, sign: Float32Array, out: Float32Array, min: number, project: boolean): boolean {
  const n = shift.length;
  if (min < KERNEL_MIN_SHIFT || sign.length !== n || out.length !== n || !inKernelMemory(shift, sign, out)) return false;
  runtime().parallel("shiftPSWeightF32", [shift.byteOffset, sign.byteOffset, out.byteOffset, min, project ? 1 : 0], n, GRAIN, 4);
  return true;
}

/** PS: dp = dw·w·ln 2 (float64, rounded once). */
export function shiftPSGrad(dw: Float32Array, w: Float32Array, dp: Float32Array): boolean {
  const n = dp.length;
  if (dw.length !== n || w.length !== n || !inKernelMemory(dw, w, dp)) return false;
  runtime().parallel("shiftPSGradF32", [dw.byteOffset, w.byteOffset, dp.byteOffset], n, GRAIN, 4);
  return true;
}

/** PS penalty: grad += scale·(2^P)² (2^P in float32 to about 2·10⁻⁷, then float64). */
export function shiftPenalty(grad: Float32Array, shift: Float32Array, scale: number): boolean {
  const n = grad.length;
  if (shift.length !== n || !inKernelMemory(grad, shift)) return false;
  runtime().parallel("shiftPenaltyF32", [grad.byteOffset, shift.byteOffset, scale], n, GRAIN, 4);
  return true;
}

/**
 * Fixed point with F fraction bits: out = clamp(floor(x·2^F)·2^−F, lo, hi), the same values as
 * quantizeFixedPoint (src/tensor/ops/fixed_point.ts) for F ≤ 32 and bounds within ±2^32.
 */
export function fixedPointQuantize(x: Float32Array, out: Float32Array, fracBits: number, lo: number, hi: number): boolean {
  if (!Number.isInteger(fracBits) || fracBits < 0 || fracBits > 32 || Math.abs(lo) > 2 ** 32 || Math.abs(hi) > 2 ** 32) return false;
  if (out.length !== x.length || !inKernelMemory(x, out)) return false;
  runtime().parallel("fixedPointF32", [x.byteOffset, out.byteOffset, 2 ** fracBits, 2 ** -fracBits, Math.fround(lo), Math.fround(hi)], x.length, GRAIN, 4);
  return true;
}
