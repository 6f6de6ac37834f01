// int8 AdderNet depthwise convolution (groups = C = K, as in the `mobile` model): channels sit in
// the vector lanes, as NHWC stores them, so one output position's 16 channels are
//
//   out[p][c..c+15] = Σ over taps t of |x[tap t of p][c..c+15] − w[t][c..c+15]|
//
// one 16-byte load of x (from a padded copy of the image, so padding needs no branches) and one
// of w per tap, |a − b| = sub_sat_u(a, b) | sub_sat_u(b, a), widened into two u16 accumulators
// (kh·kw ≤ 257 taps, 257·255 < 2^16). The im2col path would give each 9-tap channel its own
// 16-byte row and its own tile. Weights are a tap-major copy [kh·kw][Cp] that src/kernels/int8.ts
// prepares after the rows and their sums (Cp = C rounded up to 16, zeros past C).
//
// The u16 sums are requantized in integer steps when the prepared requantization has the one-shift
// lanes form (requant_u16.ts), else in f64.
//
// Threads split output positions; each output is one chain in tap order, whatever the split.
import { buildPlane, extraWeights, Int8Conv, lanesForm, memoryEnd, PLANE_OFFSET, requant4, requantLanes16, rqMult, RQ_BIAS, storeBytes } from "./int8_common";

/** The depthwise path applies: one channel per group in and out, u16-safe sums, a padded plane. */
// @ts-ignore: decorator
@inline export function isDepthwise(s: Int8Conv): bool {
  return s.G > 1 && s.Cg == 1 && s.Kg == 1 && s.planeBytes != 0 && s.kh * s.kw <= 257;
}

// @ts-ignore: decorator
@inline function absDiff(a: v128, b: v128): v128 {
  return v128.or(i8x16.sub_sat_u(a, b), i8x16.sub_sat_u(b, a));
}

/** acc + the low 8 bytes of d widened to u16. */
// @ts-ignore: decorator
@inline function addLow(acc: v128, d: v128): v128 {
  return i16x8.add(acc, i16x8.extend_low_i8x16_u(d));
}

/** acc + the high 8 bytes of d widened to u16. */
// @ts-ignore: decorator
@inline function addHigh(acc: v128, d: v128): v128 {
  return i16x8.add(acc, i16x8.extend_high_i8x16_u(d));
}

/** Output positions [start, end) of a depthwise adder conv (s: Int8Conv), in the thread's slot. */
export function adderDepthwiseU8(s: Int8Conv, slot: usize, start: i32, end: i32): void {
  const x = <usize>s.x, out = <usize>s.out, rq = <usize>s.rq;
  const wt = extraWeights(s); // the tap-major copy
  const memEnd = memoryEnd();
  const plane = slot + PLANE_OFFSET;
  const C = s.C, kh = s.kh, kw = s.kw, OW = s.OW;
  const cp = <usize>((C + 15) & ~15);
  const pitch = <usize>((s.W + 2 * s.pw) * C);
  const rowStep = <usize>s.dh * pitch, colStep = <usize>(s.dw * C);
  const esz: usize = rq == 0 ? 4 : 1;
  const m: usize = rq == 0 ? 0 : rqMult(rq);
  const lanes = lanesForm(rq);
  const pixelsPerImage = s.OH * OW;
  let held = load<i32>(slot);
  for (let p = start; p < end; p++) {
    const n = p / pixelsPerImage, rest = p - n * pixelsPerImage;
    const oh = rest / OW, ow = rest - oh * OW;
    if (held != n) {
      buildPlane(x, s, n, plane, pitch, memEnd);
      held = n;
      store<i32>(slot, n);
    }
    const window = plane + <usize>(oh * s.sh) * pitch + <usize>(ow * s.sw * C);
    const dst = out + <usize>p * C * esz;
    if (kh == 3 && kw == 3) {
      // the common 3×3 case unrolled: no loop counters or pointer steps between the taps
      for (let c = 0; c < C; c += 16) {
        const r = window + <usize>c, r1 = r + rowStep, r2 = r1 + rowStep, w = wt + <usize>c;
        let lo = i16x8.splat(0), hi = i16x8.splat(0), d: v128;
        d = absDiff(v128.load(r), v128.load(w)); lo = addLow(lo, d); hi = addHigh(hi, d);
        d = absDiff(v128.load(r + colStep), v128.load(w + cp)); lo = addLow(lo, d); hi = addHigh(hi, d);
        d = absDiff(v128.load(r + 2 * colStep), v128.load(w + 2 * cp)); lo = addLow(lo, d); hi = addHigh(hi, d);
        d = absDiff(v128.load(r1), v128.load(w + 3 * cp)); lo = addLow(lo, d); hi = addHigh(hi, d);
        d = absDiff(v128.load(r1 + colStep), v128.load(w + 4 * cp)); lo = addLow(lo, d); hi = addHigh(hi, d);
        d = absDiff(v128.load(r1 + 2 * colStep), v128.load(w + 5 * cp)); lo = addLow(lo, d); hi = addHigh(hi, d);
        d = absDiff(v128.load(r2), v128.load(w + 6 * cp)); lo = addLow(lo, d); hi = addHigh(hi, d);
        d = absDiff(v128.load(r2 + colStep), v128.load(w + 7 * cp)); lo = addLow(lo, d); hi = addHigh(hi, d);
        d = absDiff(v128.load(r2 + 2 * colStep), v128.load(w + 8 * cp)); lo = addLow(lo, d); hi = addHigh(hi, d);
        // emit16 does the same, but inlining the integer path here saved about 3% of this layer
        // (a shared inline dispatch for both loops was 3% slower: bench/results/int8-review-refactors-*)
        if (lanes != 0) storeBytes(dst + <usize>c, requantLanes16(lo, hi, lanes, c), min(16, C - c));
        else emit16(lo, hi, dst + <usize>c * esz, min(16, C - c), rq, m, lanes, c);
      }
      continue;
    }
    for (let c = 0; c < C; c += 16) {
      let lo = i16x8.splat(0), hi = i16x8.splat(0);
      let r = window + <usize>c, w = wt + <usize>c;
      for (let ki = 0; ki < kh; ki++) {
        let a = r;
        for (let kj = 0; kj < kw; kj++) {
          const d = absDiff(v128.load(a), v128.load(w));
          lo = addLow(lo, d);
          hi = addHigh(hi, d);
          a += colStep;
          w += cp;
        }
        r += rowStep;
      }
      emit16(lo, hi, dst + <usize>c * esz, min(16, C - c), rq, m, lanes, c);
    }
  }
}

/** Channels c..c+n−1 (n ≤ 16) of one position from u16 sums: i32 (rq == 0) or requantized u8 (lanes: lanesForm(rq)). */
function emit16(lo: v128, hi: v128, dst: usize, n: i32, rq: usize, m: usize, lanes: usize, c: i32): void {
  const q0 = i32x4.extend_low_i16x8_u(lo), q1 = i32x4.extend_high_i16x8_u(lo);
  const q2 = i32x4.extend_low_i16x8_u(hi), q3 = i32x4.extend_high_i16x8_u(hi);
  if (rq == 0) {
    if (n == 16) {
      v128.store(dst, q0); v128.store(dst, q1, 16); v128.store(dst, q2, 32); v128.store(dst, q3, 48);
      return;
    }
    storeBytes(dst, q0, min(4, n) << 2);
    if (n > 4) storeBytes(dst + 16, q1, min(4, n - 4) << 2);
    if (n > 8) storeBytes(dst + 32, q2, min(4, n - 8) << 2);
    if (n > 12) storeBytes(dst + 48, q3, (n - 12) << 2);
    return;
  }
  if (lanes != 0) {
    storeBytes(dst, requantLanes16(lo, hi, lanes, c), n);
    return;
  }
  // per-lane channel parameters: bias i32 and m f64 of channels c..c+15 (the block pads K to 4 + 4)
  const b = rq + RQ_BIAS + (<usize>c << 2), mc = m + (<usize>c << 3);
  const r0 = requant4(q0, v128.load(b), v128.load(mc), v128.load(mc, 16), rq);
  const r1 = n > 4 ? requant4(q1, v128.load(b, 16), v128.load(mc, 32), v128.load(mc, 48), rq) : r0;
  const r2 = n > 8 ? requant4(q2, v128.load(b, 32), v128.load(mc, 64), v128.load(mc, 80), rq) : r0;
  const r3 = n > 12 ? requant4(q3, v128.load(b, 48), v128.load(mc, 96), v128.load(mc, 112), rq) : r0;
  const v = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(r0, r1), i16x8.narrow_i32x4_u(r2, r3));
  if (n == 16) v128.store(dst, v);
  else storeBytes(dst, v, n);
}
