// Reference fake-quantization kernels: plain loops with the signatures of ../fake_quant.ts, and
// the definition of its results (the wasm kernels repeat this f64 arithmetic bit for bit).

/** out[i] = (clamp(round(x[i]/scale) + zeroPoint, 0, levels) − zeroPoint)·scale, rounded to f32; out may alias x. */
export function fakeQuant(x: Float32Array, out: Float32Array, scale: number, zeroPoint: number, levels: number): void {
  for (let i = 0; i < x.length; i++) {
    const q = Math.round(x[i]! / scale) + zeroPoint;
    out[i] = ((q < 0 ? 0 : q > levels ? levels : q) - zeroPoint) * scale;
  }
}

/** dx[i] = dy[i] where lo ≤ x[i] ≤ hi, else 0 (the clipped straight-through gradient). */
export function fakeQuantBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, lo: number, hi: number): void {
  for (let i = 0; i < dx.length; i++) dx[i] = x[i]! >= lo && x[i]! <= hi ? dy[i]! : 0;
}

/** [min, max] of x, NaN skipped; [+∞, −∞] when x holds no number. */
export function minMax(x: Float32Array): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    if (x[i]! < lo) lo = x[i]!;
    if (x[i]! > hi) hi = x[i]!;
  }
  return [lo, hi];
}
