// Float32 arithmetic helpers that reproduce PyTorch's element-wise formulas operation by operation.
import type { MomentScalars } from "./fused.js";
const f32 = Math.fround;

/** torch.lerp in float32: start + w·(end − start), or end − (end − start)·(1 − w) when |w| >= 0.5. */
export function lerp(start: number, end: number, w: number, wComplement: number): number {
  const diff = f32(end - start);
  return Math.abs(w) < 0.5 ? f32(start + f32(w * diff)) : f32(end - f32(diff * wComplement));
}

/**
 * Adam's moment estimates for element i, in place: m = lerp(m, g, w), v = β2·v + (1 − β2)·g·g
 * (torch's `exp_avg.lerp_` and `exp_avg_sq.mul_().addcmul_()`, shared by Adam and RAdam).
 */
export function updateMoments(m: Float32Array, v: Float32Array, i: number, g: number, w: number, wComplement: number, b2: number, oneMinusB2: number): void {
  m[i] = lerp(m[i], g, w, wComplement);
  v[i] = f32(f32(b2 * v[i]) + f32(f32(oneMinusB2 * g) * g));
}

/** The options Adam and RAdam share. */
export interface MomentOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** AdamW: shrink the weights by lr·weightDecay instead of adding weightDecay·p to the gradient. */
  decoupledWeightDecay: boolean;
}

/** The step's shared scalars: computed in double, as in Python, then used as float32 like PyTorch does. */
export function momentScalars(o: MomentOptions, step: number): MomentScalars {
  const w = f32(1 - o.betas[0]);
  const decoupled = o.decoupledWeightDecay && o.weightDecay !== 0;
  return {
    decoupled,
    decay: decoupled ? f32(1 - o.lr * o.weightDecay) : 1,
    l2: !o.decoupledWeightDecay && o.weightDecay !== 0 ? f32(o.weightDecay) : 0,
    w,
    wComplement: f32(1 - w),
    b2: f32(o.betas[1]),
    oneMinusB2: f32(1 - o.betas[1]),
    bc2Sqrt: f32(Math.sqrt(1 - o.betas[1] ** step)),
    eps: f32(o.eps),
  };
}
