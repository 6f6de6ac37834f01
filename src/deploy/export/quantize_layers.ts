// Integer weights of the three layer kinds, and each kind's accumulator model (fold.ts). With
// B-bit export (--bits) activations take codes 0 .. 2^B − 1 and multiply weights ±(2^(B−1) − 1),
// all still stored in bytes; the network's input stays 8-bit, so a first adder layer's weights
// do too (they share the input's grid).
//   mul    per-output-channel symmetric i8: w ≈ s_c·q, q ∈ [−127, 127]; acc = Σ x·q over u8 x,
//          so Σ w·(x − zp)·s_in = s_in·s_c·(acc − zp·Σq): offset = −zp·Σq (exact).
//   adder  the input's own scale and zero point: weights are clamped into the input's range
//          [lo, hi] = s·([0, 255] − zp) and rounded there; for x in [lo, hi] and c = clamp(w),
//          |x − w| = |x − c| + |w − c|, so −Σ|x − w| = −s·(acc + Σ|w − c|/s): offset = Σ|w − c|/s
//          (exact; only the in-range weights are rounded).
//   shift  w = sign·2^p exactly; the kernel sums sign·(x << (p − b)) for a per-layer base b, so
//          unit = s_in·2^b and offset = −zp·Σ sign·2^(p − b) (exact). b is the smallest p used,
//          raised only if 255·Σ 2^(p − b) or p − b could overflow int32 or pass MAX_SHIFT; weights
//          with p < b then become 0 (reported).
// Weights arrive in OHWI order ([K][kh][kw][C/groups], see weights_layout.ts).
import { MAX_SHIFT } from "../../kernels/reference/int8.js";
import { accumulatorReach } from "../run/accumulator_reach.js";
import type { LayerWeights } from "../run/bundle.js";
import type { AccumulatorModel } from "./fold.js";
import type { Quant, ShiftEncoding } from "../run/format.js";
import { fieldBitsFor, packShifts } from "../run/pack_shift.js";

export interface QuantizedWeights {
  weights: LayerWeights;
  /** The bytes stored in the bundle's "<layer>.weight" tensor. */
  stored: Uint8Array;
  acc: AccumulatorModel;
  shift?: ShiftEncoding;
  /** Shift layers: nonzero weights that became 0 because the base had to be raised. */
  flushed?: number;
}

function model(K: number): AccumulatorModel {
  return { unit: new Float64Array(K), offset: new Float64Array(K), accMin: new Float64Array(K), accMax: new Float64Array(K) };
}

/** wMax: the largest weight code (127 for int8, 2^(B−1) − 1 for B bits). */
export function quantizeMul(w: Float32Array, K: number, input: Quant, wMax = 127): QuantizedWeights {
  const taps = w.length / K;
  const q = new Int8Array(w.length);
  const acc = model(K);
  for (let k = 0; k < K; k++) {
    let max = 0;
    for (let i = k * taps; i < (k + 1) * taps; i++) max = Math.max(max, Math.abs(w[i]));
    const s = max > 0 ? max / wMax : 1;
    let sum = 0, pos = 0, neg = 0;
    for (let i = k * taps; i < (k + 1) * taps; i++) {
      const v = Math.round(w[i] / s);
      q[i] = v;
      sum += v;
      if (v > 0) pos += v;
      else neg += v;
    }
    acc.unit[k] = input.scale * s;
    acc.offset[k] = -input.zeroPoint * sum;
    acc.accMin[k] = 255 * neg;
    acc.accMax[k] = 255 * pos;
  }
  const weights: LayerWeights = { kind: "mul", w: q };
  acc.reach = accumulatorReach(weights, K);
  return { weights, stored: new Uint8Array(q.buffer), acc };
}

/** levels: the input's largest code (255, or 2^B − 1 for B-bit activations); the weights share its grid. */
export function quantizeAdder(w: Float32Array, K: number, input: Quant, levels = 255): QuantizedWeights {
  const taps = w.length / K;
  const { scale: s, zeroPoint: zp } = input;
  const lo = -zp * s, hi = (levels - zp) * s;
  const q = new Uint8Array(w.length);
  const acc = model(K);
  for (let k = 0; k < K; k++) {
    let outside = 0, worst = 0;
    for (let i = k * taps; i < (k + 1) * taps; i++) {
      const c = Math.min(hi, Math.max(lo, w[i]));
      outside += Math.abs(w[i] - c);
      const v = Math.min(levels, Math.max(0, Math.round(c / s) + zp));
      q[i] = v;
      worst += Math.max(v, levels - v);
    }
    acc.unit[k] = -s;
    acc.offset[k] = outside / s;
    acc.accMin[k] = 0;
    acc.accMax[k] = worst;
  }
  const weights: LayerWeights = { kind: "adder", w: q };
  acc.reach = accumulatorReach(weights, K);
  return { weights, stored: q, acc };
}

/** sign ∈ {−1, 0, 1} and p (the power of two) per weight, as ShiftLayer.shiftsAndSigns() gives them. */
export function quantizeShift(sign: Int8Array, p: Int8Array, K: number, input: Quant): QuantizedWeights {
  const taps = sign.length / K;
  let pMin = Infinity, pMax = -Infinity;
  for (let i = 0; i < sign.length; i++) {
    if (sign[i] === 0) continue;
    pMin = Math.min(pMin, p[i]);
    pMax = Math.max(pMax, p[i]);
  }
  if (pMin === Infinity) pMin = pMax = 0; // every weight is zero
  // the base: the smallest shift used, raised until every kernel shift and every sum fits; so
  // p − base ≤ MAX_SHIFT below, and 2^(p − base) is the integer 1 << (p − base)
  let base = Math.max(pMin, pMax - MAX_SHIFT);
  const worstSum = (b: number) => {
    let worst = 0;
    for (let k = 0; k < K; k++) {
      let sum = 0;
      for (let i = k * taps; i < (k + 1) * taps; i++) if (sign[i] !== 0 && p[i] >= b) sum += 1 << (p[i] - b);
      worst = Math.max(worst, sum);
    }
    return 255 * worst;
  };
  while (worstSum(base) >= 2 ** 30) base++; // half of int32 stays free for the folded bias
  const kernelSign = new Int8Array(sign.length), kernelShift = new Uint8Array(sign.length);
  const acc = model(K);
  let flushed = 0;
  for (let k = 0; k < K; k++) {
    let sum = 0, pos = 0, neg = 0;
    for (let i = k * taps; i < (k + 1) * taps; i++) {
      if (sign[i] === 0) continue;
      if (p[i] < base) {
        flushed++;
        continue;
      }
      kernelSign[i] = sign[i];
      kernelShift[i] = p[i] - base;
      const v = sign[i] * (1 << (p[i] - base));
      sum += v;
      if (v > 0) pos += v;
      else neg += v;
    }
    acc.unit[k] = input.scale * 2 ** base;
    acc.offset[k] = -input.zeroPoint * sum;
    acc.accMin[k] = 255 * neg;
    acc.accMax[k] = 255 * pos;
  }
  const fieldBits = fieldBitsFor(Math.max(pMax - base + 1, 1));
  const weights: LayerWeights = { kind: "shift", sign: kernelSign, shift: kernelShift };
  acc.reach = accumulatorReach(weights, K);
  return {
    weights,
    stored: packShifts(kernelSign, kernelShift, fieldBits),
    acc,
    shift: { fieldBits, base },
    flushed,
  };
}
