// DeepShift's weight transforms as autograd ops. Training is fake quantisation: each op returns
// float32 weights that are exactly 0 or ±2^p, which the ordinary conv and linear ops consume.
//   Q:  Wq = sign(W)·2^round(log2|W|), p clamped to [min, 0];  backward g_W = g_Wq (straight through)
//   PS: W  = sign(round(S))·2^round(P);  backward g_S = g_W,  g_P = g_W·W·ln 2  (asymmetric, §3)
// Rounding in the log domain puts the tie between 2^k and 2^(k+1) at the geometric midpoint 2^(k+½).
// With deterministic rounding, the transforms run on the wasm kernels of assembly/shift_round.ts
// whenever the arrays live in kernel memory (every tensor does); the loops below are their
// bit-exact TypeScript reference and the path for plain arrays and stochastic rounding.
import { fixedPointQuantize, shiftPSGrad, shiftPSWeight, shiftQWeight } from "../../kernels/shift_round.js";
import { accumulateGrad, record } from "../autograd.js";
import { fixedPointRange, quantizeFixedPoint, type FixedPointFormat } from "./fixed_point.js";
import { Tensor } from "../tensor.js";
import { stepNoiseSeed } from "./dropout.js";

export type ShiftMode = "q" | "ps";
export type Rounding = "deterministic" | "stochastic";
export const ROUNDINGS: readonly Rounding[] = ["deterministic", "stochastic"];
export const MIN_WEIGHT_BITS = 2;
export const MAX_WEIGHT_BITS = 8;

/** The shifts a layer may use: p ∈ [min, 0] (no left shifts, as the reference). */
export interface ShiftRange {
  min: number;
  max: number;
}

/**
 * Q: −(2^(wb−1) − 1)…0, every code a power of two (32 codes at 5 bits).
 * PS: −(2^(wb−1) − 2)…0, one code fewer because the ternary sign adds a zero (31 codes at 5 bits;
 * at 2 bits only p = 0 remains: weights {−1, 0, +1}).
 */
export function shiftRange(mode: ShiftMode, weightBits: number): ShiftRange {
  if (!Number.isInteger(weightBits) || weightBits < MIN_WEIGHT_BITS || weightBits > MAX_WEIGHT_BITS) {
    throw new Error(`weight bits must be an integer from ${MIN_WEIGHT_BITS} to ${MAX_WEIGHT_BITS}, got ${weightBits}`);
  }
  const magnitudes = 2 ** (weightBits - 1);
  return { min: mode === "q" ? 1 - magnitudes : 2 - magnitudes, max: 0 };
}

/** torch.round: nearest integer, ties to even (−2.5 → −2, 0.5 → 0). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties go up
  return (r - x === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0; // + 0 turns −0 into 0
}

/**
 * round(log2 a) for a > 0 with the tie at the geometric midpoint, computed exactly: a·a and
 * 2^(2k+1) are exact in float64 for float32 a. There are no ties: 2^(k+½) is irrational.
 */
export function roundLog2(a: number): number {
  let k = Math.floor(Math.log2(a));
  if (2 ** k > a) k--;
  else if (2 ** (k + 1) <= a) k++;
  return a * a > 2 ** (2 * k + 1) ? k + 1 : k;
}

/** Float32 mantissa bits m with 1.m > √2 are exactly those ≥ this value (fast path of roundLog2). */
const SQRT2_MANTISSA = Math.ceil((Math.SQRT2 - 1) * 2 ** 23);

/** The ternary sign of DeepShift-PS: sign(round(S)); exactly ±0.5 round to 0 (half to even). */
export function ternarySign(s: number): number {
  return s > 0.5 ? 1 : s < -0.5 ? -1 : 0;
}

/** 2^p for p in [min, 0], from a table (exact). */
function powersOfTwo(min: number): Float64Array {
  const t = new Float64Array(-min + 1);
  for (let k = 0; k < t.length; k++) t[k] = 2 ** -k;
  return t;
}

// ---- stochastic rounding: floor(x) + Bernoulli(frac(x)) ------------------------------------

let noiseStep = -1;
let noiseCalls = 0;

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A fresh seed for one stochastic rounding: the trainer's per-step seed plus a counter within the
 * step, so the noise depends only on (seed, step, call) and resumed runs replay it exactly.
 */
export function nextRoundingSeed(): number {
  const s = stepNoiseSeed();
  if (s !== noiseStep) {
    noiseStep = s;
    noiseCalls = 0;
  }
  return mix32((s ^ 0x5bd1e995) + Math.imul(++noiseCalls, 0x27d4eb2f));
}

/** A uniform number in [0, 1) from (seed, index): counter-based, so independent of thread count. */
function uniformAt(seed: number, i: number): number {
  return (mix32(seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 8) / 16777216;
}

function stochasticRound(x: number, seed: number, i: number): number {
  const f = Math.floor(x);
  return f + (uniformAt(seed, i) < x - f ? 1 : 0);
}

// ---- the transforms over plain arrays -------------------------------------------------------

/**
 * DeepShift-Q's rounding of `w` into `out` (may alias): sign(w)·2^p with p = round(log2|w|)
 * clamped to [min, 0]; an exact 0 stays 0. `seed` null: deterministic, else stochastic.
 */
export function roundToPowerOfTwo(w: Float32Array, out: Float32Array, min: number, seed: number | null = null): void {
  if (seed === null && shiftQWeight(w, out, min, false)) return;
  roundToPowerOfTwoReference(w, out, min, seed);
}

/** The TypeScript reference of roundToPowerOfTwo (always used for stochastic rounding). */
export function roundToPowerOfTwoReference(w: Float32Array, out: Float32Array, min: number, seed: number | null = null): void {
  const pow = powersOfTwo(min);
  const bits = new Int32Array(w.buffer, w.byteOffset, w.length);
  for (let i = 0; i < w.length; i++) {
    const b = bits[i];
    const mag = b & 0x7fffffff;
    if (mag === 0) {
      out[i] = 0;
      continue;
    }
    let p: number;
    if (seed !== null) p = stochasticRound(Math.log2(Math.abs(w[i])), seed, i);
    else if (mag < 0x00800000) p = roundLog2(Math.abs(w[i])); // subnormal: no implicit leading 1
    else p = (mag >>> 23) - 127 + ((mag & 0x7fffff) >= SQRT2_MANTISSA ? 1 : 0);
    if (p > 0) p = 0;
    else if (p < min) p = min;
    out[i] = b < 0 ? -pow[-p] : pow[-p];
  }
}

/** round(P) after clamping to [min, 0] (ties to even, or stochastic when `seed` is given). */
export function roundShifts(shift: Float32Array, out: Float32Array, min: number, seed: number | null = null): void {
  for (let i = 0; i < shift.length; i++) {
    const p = Math.min(0, Math.max(min, shift[i]));
    out[i] = seed === null ? roundHalfEven(p) : stochasticRound(p, seed, i);
  }
}

/** DeepShift-PS's weight: ternarySign(S)·2^round(P) into `out`. */
export function shiftSignToWeight(shift: Float32Array, sign: Float32Array, out: Float32Array, min: number, seed: number | null = null): void {
  if (seed === null && shiftPSWeight(shift, sign, out, min, false)) return;
  shiftSignToWeightReference(shift, sign, out, min, seed);
}

/** The TypeScript reference of shiftSignToWeight (always used for stochastic rounding). */
export function shiftSignToWeightReference(shift: Float32Array, sign: Float32Array, out: Float32Array, min: number, seed: number | null = null): void {
  const pow = powersOfTwo(min);
  roundShifts(shift, out, min, seed);
  for (let i = 0; i < out.length; i++) {
    const s = ternarySign(sign[i]);
    out[i] = s === 0 ? 0 : s * pow[-out[i]];
  }
}

/** Clamp every value of `a` to [lo, hi] in place (NaN stays NaN). */
export function clampInPlace(a: Float32Array, lo: number, hi: number): void {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v < lo) a[i] = lo;
    else if (v > hi) a[i] = hi;
  }
}

// ---- autograd ops ---------------------------------------------------------------------------

export interface ShiftOpOptions {
  /** The most negative shift allowed (see shiftRange). */
  min: number;
  /** Stochastic rounding of the shift (training only; inference always rounds deterministically). */
  stochastic?: boolean;
  /**
   * First project the latent parameters in place (ShiftLayer does while training): Q's W to
   * [−1, 1]; PS's P to [min, 0] and S to [−1, 1]. Fused into the rounding kernel.
   */
  project?: boolean;
}

/** DeepShift-Q: the power-of-two weight, straight-through gradient g_W = g_Wq. */
export function shiftQ(weight: Tensor, o: ShiftOpOptions): Tensor {
  const y = Tensor.empty(weight.shape);
  const project = o.project === true;
  if (o.stochastic || !shiftQWeight(weight.data, y.data, o.min, project)) {
    if (project) clampInPlace(weight.data, -1, 1);
    roundToPowerOfTwoReference(weight.data, y.data, o.min, o.stochastic ? nextRoundingSeed() : null);
  }
  return record(y, "shift_q", [weight], (dy) => accumulateGrad(weight, (dw) => dw.set(dy)));
}

/**
 * DeepShift-PS: W = S̃·2^P̃ from the shift P and sign S, with the reference's asymmetric
 * straight-through gradients: g_S = g_W (not scaled by 2^P̃, so small weights keep full sign
 * gradients) and g_P = g_W·W·ln 2 (zero where S̃ = 0).
 */
export function shiftPS(shift: Tensor, sign: Tensor, o: ShiftOpOptions): Tensor {
  if (shift.shape.join(",") !== sign.shape.join(",")) throw new Error(`shiftPS: shift [${shift.shape.join(", ")}] and sign [${sign.shape.join(", ")}] differ`);
  const w = Tensor.empty(shift.shape);
  const project = o.project === true;
  if (o.stochastic || !shiftPSWeight(shift.data, sign.data, w.data, o.min, project)) {
    if (project) {
      clampInPlace(shift.data, o.min, 0);
      clampInPlace(sign.data, -1, 1);
    }
    shiftSignToWeightReference(shift.data, sign.data, w.data, o.min, o.stochastic ? nextRoundingSeed() : null);
  }
  return record(w, "shift_ps", [shift, sign], (dw) => {
    accumulateGrad(shift, (dp) => {
      if (shiftPSGrad(dw, w.data, dp)) return;
      for (let i = 0; i < dp.length; i++) dp[i] = dw[i] * w.data[i] * Math.LN2;
    });
    accumulateGrad(sign, (ds) => ds.set(dw));
  });
}

/**
 * The fixed-point input or bias of a shift layer: the `fixedPoint` op (identity gradient), with the
 * forward pass on the wasm kernel when the tensor lives in kernel memory.
 */
export function shiftFixedPoint(x: Tensor, f: FixedPointFormat): Tensor {
  const y = Tensor.empty(x.shape);
  const { lo, hi } = fixedPointRange(f);
  if (!fixedPointQuantize(x.data, y.data, f.fracBits, lo, hi)) quantizeFixedPoint(x.data, y.data, f);
  return record(y, "fixed_point", [x], (dy) => accumulateGrad(x, (dx) => dx.set(dy)));
}
