// Float32 arithmetic helpers that reproduce PyTorch's element-wise formulas operation by operation.
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
