// Quantization-aware training (`train --qat B`): every weight layer sees its input and its weights
// on the grids that `export --bits B` will give them (src/tensor/ops/fake_quant.ts), so the
// weights learn to live with B-bit rounding; gradients pass straight through the rounding.
//   input of a layer   B-bit codes over a running range (an exponential moving average of each
//                      training batch's min and max, as export calibrates min/max); the network's
//                      first layer reads the image, which stays 8-bit, so its input is not touched
//   mul weights        B-bit per-channel symmetric
//   adder weights      the grid of the layer's input (8-bit for a first layer)
//   shift weights      ±2^p already: unchanged
//   average pools      their input and output on the input's grid: export quantizes a layer's
//                      output before the pool, and the pool rounds its averages onto that grid
// The ranges freeze in eval mode and are saved with the training state, so `--resume` continues
// bit for bit. The checkpoint keeps the float weights: export quantizes them to the same codes.
import { minMax } from "../kernels/fake_quant.js";
import { quantFromRange } from "../kernels/reference/quant_range.js";
import { AdderLayer } from "../nn/adder.js";
import { Conv2d } from "../nn/conv.js";
import { AvgPool2d, GlobalAvgPool2d } from "../nn/layers.js";
import { Linear } from "../nn/linear.js";
import type { Module } from "../nn/module.js";
import { ShiftLayer } from "../nn/shift.js";
import { traceModules } from "../nn/trace.js";
import { noGrad } from "../tensor/autograd.js";
import { fakeQuantize, quantizeInsideGrid, quantizeSymmetricRows, straightThrough, type Grid } from "../tensor/ops/fake_quant.js";
import { scope } from "../tensor/storage.js";
import { Parameter, Tensor } from "../tensor/tensor.js";

export const QAT_MIN_BITS = 4;
export const QAT_MAX_BITS = 8;
/** Weight of the running range against a new batch's range. */
const RANGE_MOMENTUM = 0.9;

/** The running input range of each quantized layer, by layer name. */
export type QatRanges = Record<string, [min: number, max: number]>;

/** The modules whose input is a quantization point, by what they do to weights. */
type PointKind = "mul" | "adder" | "shift" | "pool";

function kindOf(m: Module): PointKind | null {
  if (m instanceof Conv2d || m instanceof Linear) return "mul";
  if (m instanceof AdderLayer) return "adder";
  if (m instanceof ShiftLayer) return "shift";
  if (m instanceof AvgPool2d || m instanceof GlobalAvgPool2d) return "pool";
  return null;
}

export class QuantizationAwareTraining {
  readonly ranges: QatRanges = {};

  /** Instruments every weight layer and average pool of `model`; `inputShape` (C, H, W) finds the layer that reads the image. */
  constructor(model: Module, readonly bits: number, inputShape: readonly number[]) {
    if (!Number.isInteger(bits) || bits < QAT_MIN_BITS || bits > QAT_MAX_BITS) throw new Error(`--qat must be an integer from ${QAT_MIN_BITS} to ${QAT_MAX_BITS}, got ${bits}`);
    const order = quantizationPointsInCallOrder(model, inputShape);
    if (!order.some(([, , kind]) => kind !== "pool")) throw new Error("--qat: the model has no weight layers");
    order.forEach(([name, layer, kind], i) => this.instrument(name, layer, kind, i === 0));
  }

  /** Restores running ranges saved by `ranges` (a resumed run). */
  restore(saved: QatRanges): void {
    for (const [name, range] of Object.entries(saved)) this.ranges[name] = [range[0], range[1]];
  }

  private instrument(name: string, layer: Module & { weight?: Parameter | null }, kind: PointKind, first: boolean): void {
    const original = layer.forward;
    const codes = 2 ** this.bits - 1;
    layer.forward = (x: Tensor): Tensor => {
      // the first layer reads 8-bit pixels: its input grid only places a first adder layer's weights
      const grid = this.inputGrid(name, x, layer.training, first ? 255 : codes);
      if (!first) x = fakeQuantize(x, grid);
      const weight = layer.weight;
      if (kind === "pool") return fakeQuantize(original.call(layer, x), grid);
      if (kind === "shift" || !weight) return original.call(layer, x);
      layer.weight = (kind === "mul"
        ? straightThrough(weight, (w, out) => quantizeSymmetricRows(w, out, weight.shape[0], 2 ** (this.bits - 1) - 1))
        : straightThrough(weight, (w, out) => quantizeInsideGrid(w, out, grid))) as Parameter;
      try {
        return original.call(layer, x);
      } finally {
        layer.weight = weight;
      }
    };
  }

  /** The layer's input grid; in training mode the running range first takes in this batch. */
  private inputGrid(name: string, x: Tensor, training: boolean, levels: number): Grid {
    let lo: number, hi: number;
    const seen = this.ranges[name];
    if (training || !seen) {
      [lo, hi] = minMax(x.data);
      if (seen) {
        lo = RANGE_MOMENTUM * seen[0] + (1 - RANGE_MOMENTUM) * lo;
        hi = RANGE_MOMENTUM * seen[1] + (1 - RANGE_MOMENTUM) * hi;
      }
      // eval without a range yet (a fresh model evaluated first) uses the batch's, without keeping it
      if (training) this.ranges[name] = [lo, hi];
    } else {
      [lo, hi] = seen;
    }
    return { ...quantFromRange(lo, hi, levels), levels };
  }
}

/** The weight layers and average pools as one forward pass calls them (the first reads the image). */
function quantizationPointsInCallOrder(model: Module, inputShape: readonly number[]): Array<[string, Module, PointKind]> {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => scope(() => {
      const { calls } = traceModules(model, Tensor.zeros([1, ...inputShape]));
      const out: Array<[string, Module, PointKind]> = [];
      for (const c of calls) {
        const kind = kindOf(c.module);
        if (kind && !out.some(([, m]) => m === c.module)) out.push([c.name, c.module, kind]);
      }
      return out;
    }));
  } finally {
    model.train(wasTraining);
  }
}
