// Fixed-point fake quantisation of activations (DeepShift's `round_to_fixed`), with a
// straight-through gradient:
//   q(x) = clamp(floor(x / δ)·δ, lo, hi),  δ = 2^−F
//   signed:   [lo, hi] = [−2^(I−1), 2^(I−1) − 1]   (the reference's bounds, also for I = 1)
//   unsigned: [lo, hi] = [0, 2^I − 1]              (after ReLU: the sign bit becomes one more bit)
// Floor, not round-to-nearest, as the reference: the mean bias is −δ/2.
import { accumulateGrad, record } from "../autograd.js";
import { Tensor } from "../tensor.js";

export interface FixedPointFormat {
  /** Integer bits I, sign bit included when signed (≥ 1). */
  intBits: number;
  /** Fraction bits F (≥ 0): the step is 2^−F. */
  fracBits: number;
  /** Unsigned range [0, 2^I − 1] instead of [−2^(I−1), 2^(I−1) − 1]. */
  unsigned?: boolean;
}

export interface FixedPointRange {
  lo: number;
  hi: number;
  step: number;
}

/** Throws a clear error for an impossible format (the CLI and the model spec both reach here). */
export function checkFixedPointFormat(f: FixedPointFormat, where = "fixed point"): void {
  if (!Number.isInteger(f.intBits) || f.intBits < 1 || f.intBits > 32) throw new Error(`${where}: integer bits must be an integer in 1..32, got ${f.intBits}`);
  if (!Number.isInteger(f.fracBits) || f.fracBits < 0 || f.fracBits > 32) throw new Error(`${where}: fraction bits must be an integer in 0..32, got ${f.fracBits}`);
}

export function fixedPointRange(f: FixedPointFormat): FixedPointRange {
  checkFixedPointFormat(f);
  const step = 2 ** -f.fracBits;
  if (f.unsigned) return { lo: 0, hi: 2 ** f.intBits - 1, step };
  // The official code special-cases I = 1 as sign(x) − 1 (pitfall 7); the formula needs no special case.
  return { lo: -(2 ** (f.intBits - 1)), hi: 2 ** (f.intBits - 1) - 1, step };
}

/**
 * Quantise `x` into `out` (may alias). Exact: x·2^F and the floor are exact in float64, and the
 * result is a multiple of δ that float32 represents whenever x itself is not already on the grid.
 */
export function quantizeFixedPoint(x: Float32Array, out: Float32Array, f: FixedPointFormat): void {
  const { lo, hi } = fixedPointRange(f);
  const scale = 2 ** f.fracBits;
  for (let i = 0; i < x.length; i++) {
    const q = Math.floor(x[i] * scale) / scale;
    out[i] = q < lo ? lo : q > hi ? hi : q;
  }
}

/** True when no value is negative (a ReLU output): such an input may use the unsigned range. */
export function allNonNegative(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] < 0) return false;
  return true;
}

/** Autograd op: fixed-point values forward, identity gradient backward (no clip mask, as the reference). */
export function fixedPoint(x: Tensor, f: FixedPointFormat): Tensor {
  const y = Tensor.empty(x.shape);
  quantizeFixedPoint(x.data, y.data, f);
  return record(y, "fixed_point", [x], (dy) => accumulateGrad(x, (dx) => dx.set(dy)));
}
