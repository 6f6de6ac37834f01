// Float32 arithmetic helpers that reproduce PyTorch's element-wise formulas operation by operation.
const f32 = Math.fround;

/** torch.lerp in float32: start + w·(end − start), or end − (end − start)·(1 − w) when |w| >= 0.5. */
export function lerp(start: number, end: number, w: number, wComplement: number): number {
  const diff = f32(end - start);
  return Math.abs(w) < 0.5 ? f32(start + f32(w * diff)) : f32(end - f32(diff * wComplement));
}
