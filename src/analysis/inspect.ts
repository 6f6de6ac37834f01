// Per-layer statistics of the weights a model computes with: for shift layers the histogram of
// shifts, the share of zeros and the bits a weight needs; multiplicative layers are listed as
// float32 so a mixed model shows which layers still multiply.
import type { Module } from "../nn/module.js";
import { ShiftLayer } from "../nn/shift.js";

export interface ShiftBin {
  shift: number;
  positive: number;
  negative: number;
}

export interface LayerReport {
  name: string;
  /** 'shift-q', 'shift-ps', or the class of a multiplicative layer ('Conv2d', 'Linear'). */
  kind: string;
  shape: number[];
  weights: number;
  zeros: number;
  zeroFraction: number;
  /** Shift layers: the weight-bit setting and the allowed shifts [min, max]. */
  weightBits: number | null;
  shiftRange: [number, number] | null;
  /** Shift layers: nonzero weights per shift, from 0 down to the range's minimum. */
  histogram: ShiftBin[] | null;
  bitsPerWeight: {
    /** The layer's setting (32 for float layers). */
    nominal: number;
    /** A fixed-width code for the values this layer actually uses: one sign bit plus ceil(log2(shift codes + a zero code)). */
    code: number;
    /** Shannon entropy of the weight values: the floor for an entropy coder (null for float layers). */
    entropy: number | null;
  };
  /** Every effective weight is 0 or ±2^p with p in range (always true for shift layers; checked anyway). */
  valid: boolean | null;
  /** The live tensors already hold rounded values (true for a checkpoint written by mulfree). */
  storedRounded: boolean | null;
}

function entropyBits(counts: Iterable<number>, total: number): number {
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / total) * Math.log2(c / total);
  return h + 0; // no −0
}

function shiftReport(name: string, layer: ShiftLayer): LayerReport {
  const { shift, sign } = layer.shiftsAndSigns();
  const w = layer.effectiveWeight();
  const { min, max } = layer.range;
  const histogram: ShiftBin[] = [];
  for (let p = max; p >= min; p--) histogram.push({ shift: p, positive: 0, negative: 0 });
  let zeros = 0;
  let valid = true;
  for (let i = 0; i < w.length; i++) {
    if (sign[i] === 0) {
      zeros++;
      valid &&= w[i] === 0;
      continue;
    }
    const p = shift[i];
    valid &&= p >= min && p <= max && w[i] === sign[i] * 2 ** p;
    if (!valid) continue;
    const bin = histogram[max - p];
    if (sign[i] > 0) bin.positive++;
    else bin.negative++;
  }
  let lowest = 0;
  for (const b of histogram) if (b.positive + b.negative > 0) lowest = b.shift;
  const codes = -lowest + 1 + (zeros > 0 ? 1 : 0);
  const values = [zeros, ...histogram.flatMap((b) => [b.positive, b.negative])];
  const saved = layer.savedTensors();
  const own = new Map(layer.namedParameters());
  const storedRounded = [...saved].every(([key, data]) => own.get(key)?.data.every((v, i) => v === data[i]) ?? false);
  return {
    name,
    kind: `shift-${layer.mode}`,
    shape: [...layer.weightShape],
    weights: w.length,
    zeros,
    zeroFraction: zeros / w.length,
    weightBits: layer.weightBits,
    shiftRange: [min, max],
    histogram,
    bitsPerWeight: { nominal: layer.weightBits, code: 1 + Math.ceil(Math.log2(codes)), entropy: entropyBits(values, w.length) },
    valid,
    storedRounded,
  };
}

function floatReport(name: string, module: Module, weight: { shape: readonly number[]; size: number; data: Float32Array }): LayerReport {
  let zeros = 0;
  for (let i = 0; i < weight.size; i++) if (weight.data[i] === 0) zeros++;
  return {
    name,
    kind: module.constructor.name,
    shape: [...weight.shape],
    weights: weight.size,
    zeros,
    zeroFraction: zeros / weight.size,
    weightBits: null,
    shiftRange: null,
    histogram: null,
    bitsPerWeight: { nominal: 32, code: 32, entropy: null },
    valid: null,
    storedRounded: null,
  };
}

/** One report per weight layer, in module order (input to output). */
export function inspectModel(model: Module): LayerReport[] {
  const out: LayerReport[] = [];
  for (const [name, m] of model.namedModules()) {
    if (m instanceof ShiftLayer) out.push(shiftReport(name, m));
    else {
      const weight = m.namedParameters().find(([key]) => key === "weight")?.[1];
      if (weight && weight.ndim >= 2) out.push(floatReport(name, m, weight));
    }
  }
  return out;
}
