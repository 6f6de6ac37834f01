// Weight initialisers (PyTorch defaults), drawing from the global seeded generator.
import { globalRng, normal, uniform } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";

export function uniform_(t: Tensor, lo: number, hi: number): void {
  const rng = globalRng();
  for (let i = 0; i < t.size; i++) t.data[i] = uniform(rng, lo, hi);
}

export function normal_(t: Tensor, mean = 0, std = 1): void {
  const rng = globalRng();
  for (let i = 0; i < t.size; i++) t.data[i] = mean + std * normal(rng);
}

/** fan_in of a [out, in, ...kernel] weight. */
export function fanIn(shape: readonly number[]): number {
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

export function fanOut(shape: readonly number[]): number {
  return shape[0] * shape.slice(2).reduce((a, b) => a * b, 1);
}

/** PyTorch's default for Conv and Linear: kaiming_uniform(a=√5), i.e. U(±1/√fan_in). */
export function defaultWeightInit(t: Tensor): void {
  const bound = 1 / Math.sqrt(fanIn(t.shape));
  uniform_(t, -bound, bound);
}

/** Kaiming normal (fan_out, ReLU), as the official ResNets use for their conv layers. */
export function kaimingNormalFanOut(t: Tensor): void {
  normal_(t, 0, Math.sqrt(2 / fanOut(t.shape)));
}
