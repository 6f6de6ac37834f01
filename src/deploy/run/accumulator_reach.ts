// The largest |accumulator| a layer's weights allow over any u8 input, per output channel: the
// bound the bundle reader checks against int32 (the kernels never check) and the export keeps to.
// For u8 inputs the accumulator is at most 255·taps (adder: |x − w| ≤ 255), 255·Σ|w| (mul) or
// 255·Σ 2^shift over the nonzero weights (shift); the sums are exact in doubles.
import type { LayerWeights } from "./bundle.js";

export function accumulatorReach(w: LayerWeights, K: number): Float64Array {
  const count = w.kind === "shift" ? w.sign.length : w.w.length;
  const taps = count / K;
  const reach = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let units = 0;
    if (w.kind === "adder") units = taps;
    else if (w.kind === "mul") for (let i = k * taps; i < (k + 1) * taps; i++) units += w.w[i]! < 0 ? -w.w[i]! : w.w[i]!;
    else for (let i = k * taps; i < (k + 1) * taps; i++) units += w.sign[i]! === 0 ? 0 : 1 << w.shift[i]!; // shift ≤ 23
    reach[k] = 255 * units;
  }
  return reach;
}
