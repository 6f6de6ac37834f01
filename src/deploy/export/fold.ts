// Folding a layer's float epilogue (its bias, BatchNorm in eval mode, the quantization scales)
// into requantizeU8's per-channel integers. For one output channel the float graph computes
//   z = A·(acc + offset) + D
// where acc is the integer kernel's accumulator, A the real value of one accumulator unit (the
// input scale times the weight scale, times BatchNorm's γ/σ; negative for adder layers), offset a
// correction in accumulator units (zero-point terms, the adder clamp correction) and D what bias
// and BatchNorm add. The integer graph computes
//   q = round((acc·2^F + bias)·mult / 2^shift) + outZp  with  bias = round((offset + D/A)·2^F),
//   mult/2^shift ≈ A/(s_out·2^F),  |mult| < 2^15,  1 ≤ shift ≤ 52,
// so q ≈ round(z/s_out) + outZp: the only roundings are bias (2^−(F+1) accumulator units) and the
// 15-bit multiplier (relative 2^−15).
// Why F (the layer's biasBits): an adder layer's accumulator unit is one step of its input grid,
// and after BatchNorm one unit can be worth several output steps (at 4 bits, up to 3 in a
// depthwise adder layer), so a bias rounded to whole units would shift a channel by up to 1.5
// steps. F is the largest of 0…EXPORT_BIAS_BITS for which every reachable acc·2^F + bias fits int32.
import { logitFactor, MAX_REQUANT_SHIFT, type Quant } from "../run/format.js";

export const MULT_BITS = 15;
/** Fraction bits of a folded bias: its rounding stays below 2^−9 accumulator units. */
export const EXPORT_BIAS_BITS = 8;
const I32_LIMIT = 2 ** 31;

/** BatchNorm in eval mode (running statistics), or none. */
export interface BatchNormParams {
  weight: ArrayLike<number> | null;
  bias: ArrayLike<number> | null;
  runningMean: ArrayLike<number>;
  runningVar: ArrayLike<number>;
  eps: number;
}

/**
 * BN(y + layerBias) = a·y + d per channel, for a layer output y without its bias. No BN: a = 1,
 * d = layerBias.
 */
export function foldBatchNorm(channels: number, bn: BatchNormParams | null, layerBias: ArrayLike<number> | null): { a: Float64Array; d: Float64Array } {
  const a = new Float64Array(channels).fill(1);
  const d = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const b = layerBias ? layerBias[c] : 0;
    if (!bn) {
      d[c] = b;
      continue;
    }
    const gamma = bn.weight ? bn.weight[c] : 1;
    const beta = bn.bias ? bn.bias[c] : 0;
    a[c] = gamma / Math.sqrt(bn.runningVar[c] + bn.eps);
    d[c] = beta + a[c] * (b - bn.runningMean[c]);
  }
  return { a, d };
}

/** The shift that gives m a 15-bit mult, before the 1…52 bounds. */
function naturalShift(m: number): number {
  let shift = MULT_BITS - 1 - Math.floor(Math.log2(Math.abs(m)));
  if (Math.round(Math.abs(m) * 2 ** shift) >= 2 ** MULT_BITS) shift--;
  return shift;
}

/** m ≈ mult / 2^shift with |mult| < 2^15 (as many bits as fit) and 1 ≤ shift ≤ 52. */
export function quantizeMultiplier(m: number, where = "requantization"): { mult: number; shift: number } {
  if (!Number.isFinite(m)) throw new Error(`${where}: the multiplier ${m} is not finite`);
  if (m === 0) return { mult: 0, shift: 1 };
  // the largest shift with |m|·2^shift < 2^15 − ½, so that rounding stays below 2^15
  let shift = naturalShift(m);
  if (shift < 1) throw new Error(`${where}: the multiplier ${m} is too large for a 15-bit mult and a right shift ≥ 1`);
  shift = Math.min(shift, MAX_REQUANT_SHIFT);
  return { mult: Math.round(m * 2 ** shift), shift };
}

/** A layer's per-channel accumulator model (see the header) and its worst-case range. */
export interface AccumulatorModel {
  /** Real value of one accumulator unit, per channel (A without BatchNorm). */
  unit: Float64Array;
  /** Correction in accumulator units, per channel. */
  offset: Float64Array;
  /** Smallest and largest accumulator any u8 input can produce, per channel. */
  accMin: Float64Array;
  accMax: Float64Array;
  /** The bundle reader's bound on |acc| (run/accumulator_reach.ts); absent: accMin and accMax bound it. */
  reach?: Float64Array;
}

export interface Requant {
  bias: Int32Array;
  mult: Int32Array;
  shift: Uint8Array;
  /** F: the accumulators are scaled by 2^F before the bias is added (bias in 2^−F units). */
  biasBits: number;
}

/**
 * Channels that output the zero point whatever their input: γ = 0, or (hidden layers) a channel
 * that every input moves by less than half an output step and whose value rounds to 0, such as a
 * channel a trained network switched off (γ ≈ 1e−8; its folded bias alone would overflow int32).
 */
export interface FoldReport {
  constantChannels: number[];
}

/** True when z = A·(acc + offset) + D stays within half an output step of 0 for every accumulator. */
function isZeroChannel(A: number, D: number, acc: AccumulatorModel, c: number, out: Quant): boolean {
  const ends = [acc.accMin[c]!, acc.accMax[c]!].map((x) => A * (x + acc.offset[c]!) + D);
  return ends.every((z) => Math.abs(z) < out.scale / 2);
}

/**
 * The requantization of a hidden layer (`out` given: q = round(z/s_out) + zp) or the logits
 * layer (out null: z = logitScale·(acc·2^F + bias), logitScale = a·unit·2^−F). Throws if any
 * input could take |acc + bias| to 2^31 even with F = 0.
 * The logits layer's per-channel scales are stored as logitUnit·mult/2^shift (its otherwise unused
 * requant slots), so a bundle's header needs one float for them instead of one per class; the
 * 15-bit mult costs a relative 2^−15 of each logit. logitScale holds exactly those products.
 */
export function foldRequant(
  name: string, acc: AccumulatorModel, a: Float64Array, d: Float64Array, out: Quant | null,
  roundUnit: (x: number) => number = (x) => x,
): Requant & FoldReport & { logitScale: Float64Array; logitUnit: number } {
  const K = acc.unit.length;
  const bias = new Int32Array(K), mult = new Int32Array(K), shift = new Uint8Array(K).fill(1);
  const logitScale = new Float64Array(K);
  const constant = new Set<number>();
  const exactBias = new Float64Array(K);
  for (let c = 0; c < K; c++) {
    const A = a[c] * acc.unit[c];
    logitScale[c] = A;
    if (A === 0 || !Number.isFinite(d[c] / A) || (out && isZeroChannel(A, d[c], acc, c, out))) constant.add(c);
    else exactBias[c] = acc.offset[c] + d[c] / A;
  }
  const live = Array.from({ length: K }, (_, c) => c).filter((c) => !constant.has(c));
  const reach = (c: number, F: number) => {
    const b = Math.round(exactBias[c] * 2 ** F);
    if (acc.reach) return acc.reach[c] * 2 ** F + Math.abs(b);
    return Math.max(Math.abs(acc.accMin[c] * 2 ** F + b), Math.abs(acc.accMax[c] * 2 ** F + b));
  };
  // every channel's multiplier must keep its 15 bits at the larger shift, too
  const fits = (F: number) => live.every((c) => reach(c, F) < I32_LIMIT && (!out || naturalShift(logitScale[c] * 2 ** -F / out.scale) <= MAX_REQUANT_SHIFT));
  let biasBits = EXPORT_BIAS_BITS;
  while (biasBits > 0 && !fits(biasBits)) biasBits--;
  for (const c of live) {
    if (!(reach(c, biasBits) < I32_LIMIT)) {
      throw new Error(`layer ${name}, channel ${c}: the accumulator plus its folded bias can reach ${reach(c, 0).toExponential(3)}, beyond int32 (|γ/σ| too small or the layer too wide)`);
    }
    bias[c] = Math.round(exactBias[c] * 2 ** biasBits);
    logitScale[c] *= 2 ** -biasBits;
    if (out) {
      const q = quantizeMultiplier(logitScale[c] / out.scale, `layer ${name}, channel ${c}`);
      mult[c] = q.mult;
      shift[c] = q.shift;
    }
  }
  const constantChannels = [...constant];
  let logitUnit = 0;
  if (!out) {
    for (let c = 0; c < K; c++) logitUnit = Math.max(logitUnit, Math.abs(logitScale[c]));
    logitUnit = roundUnit(logitUnit) || 1;
    for (let c = 0; c < K; c++) {
      const q = quantizeMultiplier(logitScale[c] / logitUnit, `layer ${name}, channel ${c}`);
      mult[c] = q.mult;
      shift[c] = q.shift;
      logitScale[c] = logitFactor(logitUnit, q.mult, q.shift);
    }
  }
  return { bias, mult, shift, biasBits, logitScale, logitUnit, constantChannels };
}
