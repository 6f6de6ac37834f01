// Inverted dropout. The mask is a hash of (seed, element index), so it does not depend on thread
// count; the seed comes from a counter the trainer advances, which keeps resumed runs identical.
import { dropoutBackward, dropoutForward } from "../../kernels/elementwise.js";
import { accumulateGrad, record } from "../autograd.js";
import { allocU8 } from "../storage.js";
import { Tensor } from "../tensor.js";

let dropoutSeed = 0;
let dropoutCalls = 0;

/** Set the stream of dropout masks (the trainer calls this once per step). */
export function setDropoutSeed(seed: number): void {
  dropoutSeed = seed >>> 0;
  dropoutCalls = 0;
}

/** The current step's seed; other per-step noise (DeepShift's stochastic rounding) derives its stream from it. */
export function stepNoiseSeed(): number {
  return dropoutSeed;
}

export function dropout(x: Tensor, p: number): Tensor {
  const y = Tensor.empty(x.shape);
  const mask = allocU8(x.size);
  // each call in a step gets its own stream
  const seed = (Math.imul(dropoutSeed, 0x9e3779b1) + Math.imul(++dropoutCalls, 0x85ebca6b)) >>> 0;
  dropoutForward(x.data, mask, y.data, p, seed, 0);
  return record(y, "dropout", [x], (dy) => accumulateGrad(x, (dx) => dropoutBackward(dy, mask, dx, p)));
}
