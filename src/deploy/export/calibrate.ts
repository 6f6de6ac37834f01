// Post-training calibration: run the float model in eval mode over a few hundred training images,
// learn its layer chain from the traced calls, and record the range of every quantization point
// (the output of each hidden weight layer after its BatchNorm and ReLU, i.e. what the next layer
// reads once pools have run: max pooling does not change a range, averaging narrows it).
import type { Module } from "../../nn/module.js";
import { traceModules } from "../../nn/trace.js";
import { noGrad } from "../../tensor/autograd.js";
import { allocF32, scope } from "../../tensor/storage.js";
import { Tensor } from "../../tensor/tensor.js";
import { parseChain, type ChainStep } from "./chain.js";
import { quantFromRange } from "../run/defaults.js";
import type { Quant } from "../run/format.js";

/** Values kept per quantization point for percentiles (a strided sample of everything seen). */
const SAMPLE_CAP = 1 << 20;

export class RangeStats {
  min = Infinity;
  max = -Infinity;
  private sample: Float32Array;
  private count = 0;
  private stride = 0;

  constructor(private readonly expectedValues: number) {
    this.sample = new Float32Array(Math.min(SAMPLE_CAP, expectedValues));
  }

  add(values: Float32Array): void {
    if (!this.stride) this.stride = Math.max(1, Math.ceil(this.expectedValues / SAMPLE_CAP));
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
    }
    for (let i = 0; i < values.length && this.count < this.sample.length; i += this.stride) this.sample[this.count++] = values[i];
  }

  /** The q-quantile (0…1) of the sampled values. */
  quantile(q: number): number {
    const sorted = this.sample.slice(0, this.count).sort();
    if (!sorted.length) return 0;
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
  }
}

export interface CalibrationResult {
  steps: ChainStep[];
  /** Per layer step (by outCall index): the range of its quantization point. */
  ranges: Map<number, RangeStats>;
  images: number;
}

/** images: n NCHW float samples of `shape`, already normalised as in training. */
export function calibrate(model: Module, images: Float32Array, n: number, shape: [number, number, number], batchSize = 128): CalibrationResult {
  const sample = shape[0] * shape[1] * shape[2];
  if (n < 1 || images.length < n * sample) throw new Error(`calibration needs at least 1 image of ${shape.join("×")}`);
  const wasTraining = model.training;
  model.eval();
  let steps: ChainStep[] | null = null;
  const ranges = new Map<number, RangeStats>();
  try {
    noGrad(() => {
      for (let start = 0; start < n; start += batchSize) {
        const b = Math.min(batchSize, n - start);
        scope(() => {
          const x = new Tensor(allocF32(b * sample), [b, ...shape]);
          x.data.set(images.subarray(start * sample, (start + b) * sample));
          const { output, calls } = traceModules(model, x);
          if (!steps) {
            steps = parseChain(calls, x, output);
            const layers = steps.filter((s) => s.op === "layer");
            for (const s of layers.slice(0, -1)) ranges.set(s.outCall, new RangeStats((calls[s.outCall].output.size / b) * n));
          }
          for (const [index, stats] of ranges) stats.add(calls[index].output.data);
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return { steps: steps!, ranges, images: n };
}

/** How a range becomes a scale: the observed min/max, or a quantile of the upper (and lower) tail. */
export type RangeMethod = { kind: "minmax" } | { kind: "percentile"; percentile: number };

/** The quantization of a calibrated point; a ReLU output gets zero point 0 (all 256 codes ≥ 0). */
export function chooseQuant(stats: RangeStats, relu: boolean, method: RangeMethod): Quant {
  let lo = stats.min, hi = stats.max;
  if (method.kind === "percentile") {
    const q = method.percentile / 100;
    hi = stats.quantile(q);
    if (!relu) lo = stats.quantile(1 - q);
  }
  return quantFromRange(relu ? 0 : lo, hi);
}
