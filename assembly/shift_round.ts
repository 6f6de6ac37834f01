// DeepShift's per-step weight transforms (training forward and backward), fused and vectorised.
// Each is a pure map over [start, end) (4-lane SIMD body, scalar tail), bit-identical to the
// TypeScript reference in src/tensor/ops/shift.ts (roundToPowerOfTwo, shiftSignToWeight, the
// clamps of ShiftLayer) and src/models/shift_op.ts (the 2^P penalty, to float32 rounding).

/** Float32 mantissas m with 1.m ≥ √2 are exactly those ≥ this: the log-domain tie 2^(k+½). */
const SQRT2_MANTISSA: i32 = 3474676; // ceil((√2 − 1)·2^23)
const ABS: i32 = 0x7fffffff;
const SIGN: i32 = 0x80000000;
const CANONICAL_NAN: i32 = 0x7fc00000;

@inline function clampKeepNaN(v: v128, lo: v128, hi: v128): v128 {
  // v < lo ? lo : v > hi ? hi : v  (NaN passes through, as the TypeScript clamp)
  return v128.bitselect(lo, v128.bitselect(hi, v, f32x4.gt(v, hi)), f32x4.lt(v, lo));
}

@inline function clampScalar(v: f32, lo: f32, hi: f32): f32 {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * DeepShift-Q's weight, Wq = sign(W)·2^p with p = round(log2|W|) (tie at 2^(k+½)) clamped to
 * [min, 0]; an exact ±0 gives +0. With `project` ≠ 0, W is first clamped in place to [−1, 1]
 * (ShiftLayer's training-time projection). Needs min ≥ −126 (every 2^p normal); the caller
 * falls back to the reference below that (8-bit Q only).
 */
export function shiftQWeightF32(w: usize, out: usize, min: i32, project: i32, start: i32, end: i32): void {
  const one = f32x4.splat(1), negOne = f32x4.splat(-1);
  const vMin = i32x4.splat(min), zero = i32x4.splat(0);
  const vTie = i32x4.splat(SQRT2_MANTISSA), vBias = i32x4.splat(127);
  const vAbs = i32x4.splat(ABS), vSign = i32x4.splat(SIGN), vMant = i32x4.splat(0x7fffff);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    let b = v128.load(w + o);
    if (project) {
      b = clampKeepNaN(b, negOne, one);
      v128.store(w + o, b);
    }
    const mag = v128.and(b, vAbs);
    const up = i32x4.ge_s(v128.and(mag, vMant), vTie); // −1 where the mantissa rounds up
    let p = i32x4.sub(i32x4.sub(i32x4.shr_u(mag, 23), vBias), up);
    p = i32x4.max_s(i32x4.min_s(p, zero), vMin);
    const bits = v128.or(v128.and(b, vSign), i32x4.shl(i32x4.add(p, vBias), 23));
    v128.store(out + o, v128.andnot(bits, i32x4.eq(mag, zero)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    let v = load<f32>(w + o);
    if (project) {
      v = clampScalar(v, -1, 1);
      store<f32>(w + o, v);
    }
    const b = reinterpret<i32>(v), mag = b & ABS;
    if (mag == 0) {
      store<f32>(out + o, 0);
      continue;
    }
    let p = (mag >>> 23) - 127 + ((mag & 0x7fffff) >= SQRT2_MANTISSA ? 1 : 0);
    p = p > 0 ? 0 : p < min ? min : p;
    store<i32>(out + o, (b & SIGN) | ((p + 127) << 23));
  }
}

/**
 * DeepShift-PS's weight, W = sign(round(S))·2^round(clamp(P, min, 0)) (round half to even; the
 * ternary sign is 0 for |S| ≤ 0.5). With `project` ≠ 0, P is first clamped in place to [min, 0]
 * and S to [−1, 1]. A NaN P with a nonzero sign gives NaN, as the reference. min ≥ −126 always
 * holds for PS (−126 at 8 bits).
 */
export function shiftPSWeightF32(shift: usize, sign: usize, out: usize, min: i32, project: i32, start: i32, end: i32): void {
  const fMin = <f32>min;
  const vfMin = f32x4.splat(fMin), vfZero = f32x4.splat(0), one = f32x4.splat(1), negOne = f32x4.splat(-1);
  const half = f32x4.splat(0.5), negHalf = f32x4.splat(-0.5);
  const vBias = i32x4.splat(127), vSign = i32x4.splat(SIGN), vNaN = i32x4.splat(CANONICAL_NAN);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    let P = v128.load(shift + o), S = v128.load(sign + o);
    if (project) {
      P = clampKeepNaN(P, vfMin, vfZero);
      S = clampKeepNaN(S, negOne, one);
      v128.store(shift + o, P);
      v128.store(sign + o, S);
    }
    const r = f32x4.nearest(clampKeepNaN(P, vfMin, vfZero)); // ties to even, as torch.round
    const pos = f32x4.gt(S, half), neg = f32x4.lt(S, negHalf);
    let mag = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(r), vBias), 23);
    mag = v128.bitselect(vNaN, mag, f32x4.ne(r, r));
    const bits = v128.or(v128.and(mag, v128.or(pos, neg)), v128.and(vSign, neg));
    v128.store(out + o, bits);
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    let P = load<f32>(shift + o), S = load<f32>(sign + o);
    if (project) {
      P = clampScalar(P, fMin, 0);
      S = clampScalar(S, -1, 1);
      store<f32>(shift + o, P);
      store<f32>(sign + o, S);
    }
    if (!(S > 0.5) && !(S < -0.5)) {
      store<f32>(out + o, 0);
      continue;
    }
    const r = nearest<f32>(clampScalar(P, fMin, 0));
    const mag = r != r ? CANONICAL_NAN : (<i32>r + 127) << 23;
    store<i32>(out + o, S < -0.5 ? mag | SIGN : mag);
  }
}

/** PS's shift gradient g_P = g_W·W·ln 2, in float64 and rounded once, as the reference. */
export function shiftPSGradF32(dw: usize, w: usize, dp: usize, start: i32, end: i32): void {
  const ln2 = f64x2.splat(Math.LN2);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(dw + o), x = v128.load(w + o);
    const lo = f64x2.mul(f64x2.mul(f64x2.promote_low_f32x4(g), f64x2.promote_low_f32x4(x)), ln2);
    const gh = i32x4.shuffle(g, g, 2, 3, 0, 1), xh = i32x4.shuffle(x, x, 2, 3, 0, 1);
    const hi = f64x2.mul(f64x2.mul(f64x2.promote_low_f32x4(gh), f64x2.promote_low_f32x4(xh)), ln2);
    const l = f32x4.demote_f64x2_zero(lo), h = f32x4.demote_f64x2_zero(hi);
    v128.store(dp + o, i32x4.shuffle(l, h, 0, 1, 4, 5));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(dp + o, <f32>(<f64>load<f32>(dw + o) * <f64>load<f32>(w + o) * Math.LN2));
  }
}

// 2^f for f in [−½, ½] (Cephes exp2f): 1 + f·poly(f), relative error below 2·10⁻⁷.
const E0: f32 = 1.535336188319500e-4;
const E1: f32 = 1.339887440266574e-3;
const E2: f32 = 9.618437357674640e-3;
const E3: f32 = 5.550332471162809e-2;
const E4: f32 = 2.402264791363012e-1;
const E5: f32 = 6.931472028550421e-1;

/**
 * The gradient of DeepShift-PS's penalty wd·½·Σ(2^P)² added to P's raw gradient:
 * grad += scale·(2^P)², scale = wd·ln 2. 2^P is evaluated in float32 (n = round(P) clamped to
 * [−126, 127], Cephes' polynomial for the rest), the product and the sum in float64.
 */
export function shiftPenaltyF32(grad: usize, shift: usize, scale: f64, start: i32, end: i32): void {
  const vs = f64x2.splat(scale);
  const c0 = f32x4.splat(E0), c1 = f32x4.splat(E1), c2 = f32x4.splat(E2), c3 = f32x4.splat(E3), c4 = f32x4.splat(E4), c5 = f32x4.splat(E5);
  const vOne = f32x4.splat(1), lo = f32x4.splat(-126), hi = f32x4.splat(127), vBias = i32x4.splat(127);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const P = v128.load(shift + o);
    const n = f32x4.nearest(f32x4.max(f32x4.min(P, hi), lo));
    const f = f32x4.sub(P, n);
    let poly = f32x4.add(f32x4.mul(c0, f), c1);
    poly = f32x4.add(f32x4.mul(poly, f), c2);
    poly = f32x4.add(f32x4.mul(poly, f), c3);
    poly = f32x4.add(f32x4.mul(poly, f), c4);
    poly = f32x4.add(f32x4.mul(poly, f), c5);
    const frac = f32x4.add(vOne, f32x4.mul(f, poly));
    const e = f32x4.mul(frac, i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), vBias), 23)); // 2^P
    const g = v128.load(grad + o);
    const el = f64x2.promote_low_f32x4(e), gl = f64x2.promote_low_f32x4(g);
    const eh = f64x2.promote_low_f32x4(i32x4.shuffle(e, e, 2, 3, 0, 1)), gh = f64x2.promote_low_f32x4(i32x4.shuffle(g, g, 2, 3, 0, 1));
    const l = f32x4.demote_f64x2_zero(f64x2.add(gl, f64x2.mul(vs, f64x2.mul(el, el))));
    const h = f32x4.demote_f64x2_zero(f64x2.add(gh, f64x2.mul(vs, f64x2.mul(eh, eh))));
    v128.store(grad + o, i32x4.shuffle(l, h, 0, 1, 4, 5));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const P = load<f32>(shift + o);
    const n = nearest<f32>(max<f32>(min<f32>(P, 127), -126));
    const f = P - n;
    let poly = E0 * f + E1;
    poly = poly * f + E2;
    poly = poly * f + E3;
    poly = poly * f + E4;
    poly = poly * f + E5;
    const e = <f64>((<f32>1 + f * poly) * reinterpret<f32>((<i32>n + 127) << 23));
    store<f32>(grad + o, <f32>(<f64>load<f32>(grad + o) + scale * (e * e)));
  }
}

/**
 * The fixed-point input and bias of a shift layer: clamp(floor(x·2^F)·2^−F, lo, hi), exactly the
 * reference's float64 result (x·2^F and the floor are exact in float32, and so is the product by
 * 2^−F: the floor is an integer below 2^24 or x·2^F itself). lo and hi are the bounds rounded to
 * float32; clamping to them stores what the reference stores. NaN stays NaN.
 */
export function fixedPointF32(x: usize, out: usize, scale: f32, invScale: f32, lo: f32, hi: f32, start: i32, end: i32): void {
  const vs = f32x4.splat(scale), vi = f32x4.splat(invScale), vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const q = f32x4.mul(f32x4.floor(f32x4.mul(v128.load(x + o), vs)), vi);
    v128.store(out + o, clampKeepNaN(q, vlo, vhi));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, clampScalar(floor<f32>(load<f32>(x + o) * scale) * invScale, lo, hi));
  }
}
