// Fake quantization for quantization-aware training (`train --qat B`): float values forward that
// lie exactly on the grids `export --bits B` will use, and straight-through gradients backward.
// The grids are those of src/deploy/export/quantize_layers.ts:
//   activation  q = clamp(round(x/s) + zp, 0, L),  x̂ = (q − zp)·s          L = 2^B − 1 codes
//               gradient: dy where x lies in the range [−zp·s, (L − zp)·s], else 0 (clipped STE)
//   mul weight  per output channel k: s_k = max|w_k| / M, ŵ = round(w/s_k)·s_k   M = 2^(B−1) − 1
//               (BatchNorm folding scales a channel by γ/σ and max-abs scaling follows it, so the
//               folded weights export to the same codes)
//   adder weight on the grid of the layer's input (s, zp): weights inside the input's range are
//               rounded onto it; weights outside stay as they are (export keeps them exactly,
//               |x − w| = |x − c| + |w − c| for c the clamped weight)
//   weights: identity gradient (the STE of rounding).
import { fakeQuant, fakeQuantBackward } from "../../kernels/fake_quant.js";
import { accumulateGrad, record } from "../autograd.js";
import { Tensor } from "../tensor.js";

export interface Grid {
  scale: number;
  zeroPoint: number;
  /** The largest code L. */
  levels: number;
}

/** out = x̂ of every x (out may alias x); both in the kernels' memory. */
export function quantizeToGrid(x: Float32Array, out: Float32Array, g: Grid): void {
  fakeQuant(x, out, g.scale, g.zeroPoint, g.levels);
}

/** Per-output-channel symmetric rounding: `channels` rows of w.length / channels weights. */
export function quantizeSymmetricRows(w: Float32Array, out: Float32Array, channels: number, maxCode: number): void {
  const taps = w.length / channels;
  for (let k = 0; k < channels; k++) {
    let max = 0;
    for (let i = k * taps; i < (k + 1) * taps; i++) max = Math.max(max, Math.abs(w[i]));
    const s = max > 0 ? max / maxCode : 1;
    for (let i = k * taps; i < (k + 1) * taps; i++) out[i] = Math.round(w[i] / s) * s;
  }
}

/** Weights inside the grid's range rounded onto it; the others unchanged. */
export function quantizeInsideGrid(w: Float32Array, out: Float32Array, g: Grid): void {
  const lo = -g.zeroPoint * g.scale, hi = (g.levels - g.zeroPoint) * g.scale;
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    out[i] = v < lo || v > hi ? v : (Math.min(g.levels, Math.max(0, Math.round(v / g.scale) + g.zeroPoint)) - g.zeroPoint) * g.scale;
  }
}

/** Autograd op: activations on the grid, gradient passed inside its range only. */
export function fakeQuantize(x: Tensor, g: Grid): Tensor {
  const y = Tensor.empty(x.shape);
  quantizeToGrid(x.data, y.data, g);
  const lo = -g.zeroPoint * g.scale, hi = (g.levels - g.zeroPoint) * g.scale;
  return record(y, "fake_quantize", [x], (dy) => accumulateGrad(x, (dx) => fakeQuantBackward(dy, x.data, dx, lo, hi)));
}

/** Autograd op: `round(w)` by `rounding` forward, identity gradient backward. */
export function straightThrough(w: Tensor, rounding: (w: Float32Array, out: Float32Array) => void): Tensor {
  const y = Tensor.empty(w.shape);
  rounding(w.data, y.data);
  return record(y, "straight_through", [w], (dy) => accumulateGrad(w, (dw) => dw.set(dy)));
}
