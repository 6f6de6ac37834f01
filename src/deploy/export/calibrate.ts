// Post-training calibration: learn the model's integer graph from one traced pass
// (./trace_graph.ts), then run the float model in eval mode over a few hundred training images and
// record the range of every quantization point: the output of each hidden weight layer after its
// BatchNorm and ReLU, and of each residual add after its ReLU (what the next steps read: max
// pooling does not change a range, averaging narrows it).
import type { Module } from "../../nn/module.js";
import { traceModules, type ModuleCall } from "../../nn/trace.js";
import { noGrad } from "../../tensor/autograd.js";
import { allocF32, scope } from "../../tensor/storage.js";
import { Tensor } from "../../tensor/tensor.js";
import { quantFromRange } from "../run/defaults.js";
import type { Quant } from "../run/format.js";
import { traceGraph, type AddStep, type GraphStep, type LayerStep, type Probe } from "./trace_graph.js";

/** Values kept per quantization point for percentiles (a strided sample of everything seen). */
const SAMPLE_CAP = 1 << 20;

export class RangeStats {
  min = Infinity;
  max = -Infinity;
  private sample: Float32Array;
  private count = 0;
  private stride = 0;

  constructor(private readonly expectedValues: number, keepSample: boolean) {
    this.sample = new Float32Array(keepSample ? Math.min(SAMPLE_CAP, expectedValues) : 0);
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
  steps: GraphStep[];
  /** The range of each step that quantizes its output: hidden layers and residual adds. */
  ranges: Map<GraphStep, RangeStats>;
  images: number;
}

const probed = (step: GraphStep, last: boolean): step is LayerStep | AddStep => step.op === "add" || (step.op === "layer" && !last);
const observe = (calls: ModuleCall[], p: Probe): Tensor => calls[p.call]![p.side];

/**
 * images: n NCHW float samples of `shape`, already normalised as in training. `samples`: also keep
 * a strided sample of every range, for percentiles (up to 4 MB per quantization point).
 */
export function calibrate(model: Module, images: Float32Array, n: number, shape: [number, number, number], samples = false, batchSize = 128): CalibrationResult {
  const size = shape[0] * shape[1] * shape[2];
  if (n < 1 || images.length < n * size) throw new Error(`calibration needs at least 1 image of ${shape.join("×")}`);
  const wasTraining = model.training;
  model.eval();
  const ranges = new Map<GraphStep, RangeStats>();
  try {
    // the graph, from one image with gradients recorded (so the functional steps between modules show)
    const steps = scope(() => {
      const x = new Tensor(allocF32(size), [1, ...shape], true);
      x.data.set(images.subarray(0, size));
      return traceGraph(model, x);
    });
    const points = steps.filter((s, i) => probed(s, i === steps.length - 1)) as Array<LayerStep | AddStep>;
    noGrad(() => {
      for (let start = 0; start < n; start += batchSize) {
        const b = Math.min(batchSize, n - start);
        scope(() => {
          const x = new Tensor(allocF32(b * size), [b, ...shape]);
          x.data.set(images.subarray(start * size, (start + b) * size));
          const { calls } = traceModules(model, x);
          for (const step of points) {
            const values = observe(calls, step.probe);
            if (!ranges.has(step)) ranges.set(step, new RangeStats((values.size / b) * n, samples));
            ranges.get(step)!.add(values.data);
          }
        });
      }
    });
    return { steps, ranges, images: n };
  } finally {
    model.train(wasTraining);
  }
}

/** How a range becomes a scale: the observed min/max, or a quantile of the upper (and lower) tail. */
export type RangeMethod = { kind: "minmax" } | { kind: "percentile"; percentile: number };

/** The quantization of a calibrated point onto codes 0 .. levels; a ReLU output gets zero point 0 (every code ≥ 0). */
export function chooseQuant(stats: RangeStats, relu: boolean, method: RangeMethod, levels = 255): Quant {
  let lo = stats.min, hi = stats.max;
  if (method.kind === "percentile") {
    const q = method.percentile / 100;
    hi = stats.quantile(q);
    if (!relu) lo = stats.quantile(1 - q);
  }
  return quantFromRange(relu ? 0 : lo, hi, levels);
}
