// Fake quantization for quantization-aware training (src/kernels/fake_quant.ts): f32 values to
// the nearest point of a B-bit grid, the clipped straight-through gradient, and block-wise
// min/max for the running ranges. Every step is the f64 arithmetic of the reference
// (src/kernels/reference/fake_quant.ts), so results are bit-identical:
//   q = clamp(round(x/s) + zp, 0, L),  out = f32((q − zp)·s),  round = JavaScript's Math.round
// (ties toward +∞), computed exactly as r = floor(v), r += 1 where v − r ≥ ½ (v − floor(v) is exact).

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** Two f64 lanes to the grid and back: (clamp(round(v/s) + zp, 0, L) − zp)·s, NaN kept. */
// @ts-ignore: decorator
@inline function grid2(x: v128, s: v128, zp: v128, levels: v128): v128 {
  const v = f64x2.div(x, s);
  let r = f64x2.floor(v);
  r = f64x2.add(r, v128.and(f64x2.ge(f64x2.sub(v, r), f64x2.splat(0.5)), f64x2.splat(1.0)));
  // pmax(q, 0) = q < 0 ? 0 : q and pmin(q, L) = L < q ? L : q, as the reference's ternaries (NaN stays)
  const q = f64x2.pmin(f64x2.pmax(f64x2.add(r, zp), f64x2.splat(0)), levels);
  return f64x2.mul(f64x2.sub(q, zp), s);
}

// @ts-ignore: decorator
@inline function grid1(x: f64, s: f64, zp: f64, levels: f64): f32 {
  const v = x / s;
  let r = Math.floor(v);
  if (v - r >= 0.5) r += 1;
  const q = r + zp;
  return <f32>(((q < 0 ? 0 : q > levels ? levels : q) - zp) * s);
}

/** out[i] = x̂[i] for i in [start, end); out may alias x. */
export function fakeQuantF32(x: usize, out: usize, s: f64, zp: f64, levels: f64, start: i32, end: i32): void {
  const vs = f64x2.splat(s), vzp = f64x2.splat(zp), vl = f64x2.splat(levels);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const v = v128.load(at(x, i));
    const lo = grid2(f64x2.promote_low_f32x4(v), vs, vzp, vl);
    const hi = grid2(f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 1)), vs, vzp, vl);
    v128.store(at(out, i), i64x2.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 2));
  }
  for (; i < end; i++) store<f32>(at(out, i), grid1(<f64>load<f32>(at(x, i)), s, zp, levels));
}

/** dx[i] = dy[i] where lo ≤ x[i] ≤ hi (compared in f64), else 0. */
export function fakeQuantBackwardF32(dy: usize, x: usize, dx: usize, lo: f64, hi: f64, start: i32, end: i32): void {
  const vlo = f64x2.splat(lo), vhi = f64x2.splat(hi);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const v = v128.load(at(x, i));
    const a = f64x2.promote_low_f32x4(v), b = f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 1));
    const ma = v128.and(f64x2.ge(a, vlo), f64x2.le(a, vhi)), mb = v128.and(f64x2.ge(b, vlo), f64x2.le(b, vhi));
    v128.store(at(dx, i), v128.and(v128.load(at(dy, i)), i32x4.shuffle(ma, mb, 0, 2, 4, 6)));
  }
  for (; i < end; i++) {
    const v = <f64>load<f32>(at(x, i));
    store<f32>(at(dx, i), v >= lo && v <= hi ? load<f32>(at(dy, i)) : 0);
  }
}

/**
 * partials[2b], partials[2b + 1] (f32) = min and max of x over block b = [b·block, (b+1)·block) ∩
 * [0, n), blocks b in [start, end); NaN is skipped (+∞ and −∞ for a block without a number).
 */
export function minMaxBlocksF32(x: usize, n: i32, block: i32, partials: usize, start: i32, end: i32): void {
  for (let b = start; b < end; b++) {
    const i0 = b * block, i1 = min(n, i0 + block);
    let lo = f32x4.splat(Infinity), hi = f32x4.splat(-Infinity);
    let i = i0;
    for (; i + 4 <= i1; i += 4) {
      const v = v128.load(at(x, i));
      lo = f32x4.pmin(lo, v); // v < lo ? v : lo: NaN never replaces
      hi = f32x4.pmax(hi, v); // hi < v ? v : hi
    }
    let l = min(min(f32x4.extract_lane(lo, 0), f32x4.extract_lane(lo, 1)), min(f32x4.extract_lane(lo, 2), f32x4.extract_lane(lo, 3)));
    let h = max(max(f32x4.extract_lane(hi, 0), f32x4.extract_lane(hi, 1)), max(f32x4.extract_lane(hi, 2), f32x4.extract_lane(hi, 3)));
    for (; i < i1; i++) {
      const v = load<f32>(at(x, i));
      if (v < l) l = v;
      if (v > h) h = v;
    }
    store<f32>(partials + (<usize>b << 3), l);
    store<f32>(partials + (<usize>b << 3), h, 4);
  }
}
