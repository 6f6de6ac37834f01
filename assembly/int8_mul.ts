// int8 multiply conv/linear kernels for deployment (the honest baseline of the adder and shift
// kernels): out = Σ x·w over u8 activations and i8 weights, i32 accumulation.
//
// u8·i8 has no exact 8-bit SIMD product (i16x8.q15 and relaxed dots saturate or are flag-only),
// so both operands are widened to i16 once, outside the inner loop: the im2col block holds i16
// rows (x ≤ 255 fits) and the prepared weights are i16 rows. The inner loop is then one
// i32x4.dot_i16x8_s (8 products, pairwise added) and one i32x4.add per 8 taps, with the same
// 2×4 / 4×2 micro-tiles, im2col blocks and thread split as int8_adder.ts.
import { threadSlot } from "./gemm";
import { emit2x2, emit4, hsum4, im2colRows, Int8Conv, memoryEnd, PLANE_OFFSET } from "./int8_common";

// @ts-ignore: decorator
@inline function dot(acc: v128, a: v128, b: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(a, b));
}

/** As tile2x4 in int8_adder.ts, over i16 rows (rp bytes apart, `bytes` long). */
function tile2x4(col: usize, w: usize, rp: usize, bytes: usize, dst0: usize, ldo: usize, count: i32, nk: i32, rq: usize, k: i32): void {
  const w1 = w + rp, w2 = w + 2 * rp, w3 = w + 3 * rp;
  for (let i = 0; i < count; i += 2) {
    const a = col + <usize>i * rp, dst = dst0 + <usize>i * ldo, np = count - i;
    let s00 = i32x4.splat(0), s01 = i32x4.splat(0), s02 = i32x4.splat(0), s03 = i32x4.splat(0);
    let s10 = i32x4.splat(0), s11 = i32x4.splat(0), s12 = i32x4.splat(0), s13 = i32x4.splat(0);
    const a1 = a + rp;
    for (let o: usize = 0; o < bytes; o += 16) {
      const x0 = v128.load(a + o), x1 = v128.load(a1 + o);
      const v0 = v128.load(w + o);
      s00 = dot(s00, x0, v0); s10 = dot(s10, x1, v0);
      const v1 = v128.load(w1 + o);
      s01 = dot(s01, x0, v1); s11 = dot(s11, x1, v1);
      const v2 = v128.load(w2 + o);
      s02 = dot(s02, x0, v2); s12 = dot(s12, x1, v2);
      const v3 = v128.load(w3 + o);
      s03 = dot(s03, x0, v3); s13 = dot(s13, x1, v3);
    }
    emit4(hsum4(s00, s01, s02, s03), dst, nk, rq, k);
    if (np > 1) emit4(hsum4(s10, s11, s12, s13), dst + ldo, nk, rq, k);
  }
}

/** As tile4x2 in int8_adder.ts, over i16 rows. */
function tile4x2(col: usize, w: usize, rp: usize, bytes: usize, dst0: usize, ldo: usize, count: i32, nk: i32, rq: usize, k: i32): void {
  const w1 = w + rp;
  for (let i = 0; i < count; i += 4) {
    const a = col + <usize>i * rp, dst = dst0 + <usize>i * ldo, np = count - i;
    let s00 = i32x4.splat(0), s01 = i32x4.splat(0), s10 = i32x4.splat(0), s11 = i32x4.splat(0);
    let s20 = i32x4.splat(0), s21 = i32x4.splat(0), s30 = i32x4.splat(0), s31 = i32x4.splat(0);
    const a1 = a + rp, a2 = a + 2 * rp, a3 = a + 3 * rp;
    for (let o: usize = 0; o < bytes; o += 16) {
      const v0 = v128.load(w + o), v1 = v128.load(w1 + o);
      const x0 = v128.load(a + o);
      s00 = dot(s00, x0, v0); s01 = dot(s01, x0, v1);
      const x1 = v128.load(a1 + o);
      s10 = dot(s10, x1, v0); s11 = dot(s11, x1, v1);
      const x2 = v128.load(a2 + o);
      s20 = dot(s20, x2, v0); s21 = dot(s21, x2, v1);
      const x3 = v128.load(a3 + o);
      s30 = dot(s30, x3, v0); s31 = dot(s31, x3, v1);
    }
    emit2x2(hsum4(s00, s01, s10, s11), dst, dst + ldo, nk, np, rq, k);
    emit2x2(hsum4(s20, s21, s30, s31), dst + 2 * ldo, dst + 3 * ldo, nk, np - 2, rq, k);
  }
}

/** As tile1x4 in int8_adder.ts, over i16 rows. */
function tile1x4(a: usize, w: usize, rp: usize, bytes: usize, dst: usize, rows: i32, nk: i32, rq: usize, k: i32): void {
  const w1 = w + rp, w2 = rows > 2 ? w + 2 * rp : w, w3 = rows > 2 ? w + 3 * rp : w1;
  let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
  for (let o: usize = 0; o < bytes; o += 16) {
    const x = v128.load(a + o);
    s0 = dot(s0, x, v128.load(w + o)); s1 = dot(s1, x, v128.load(w1 + o));
    s2 = dot(s2, x, v128.load(w2 + o)); s3 = dot(s3, x, v128.load(w3 + o));
  }
  emit4(hsum4(s0, s1, s2, s3), dst, nk, rq, k);
}

/**
 * Σ x·w for output positions [start, end) of an NHWC conv (s: Int8Conv block, wide = 1), weights
 * as prepared by src/kernels/int8.ts: per group KgP i16 rows of Rp. With rq == 0 out is i32
 * [N][OH][OW][K]; otherwise the accumulators are requantized (block at rq) into u8 out.
 */
export function mulConvU8I8(shape: usize, start: i32, end: i32): void {
  const s = changetype<Int8Conv>(shape);
  mulConvInSlot(shape, threadSlot(<usize>s.scratch, s.slotBytes), start, end);
}

/** mulConvU8I8 in a scratch slot the caller owns (an int8 program's thread slot). */
export function mulConvInSlot(shape: usize, slot: usize, start: i32, end: i32): void {
  const s = changetype<Int8Conv>(shape);
  const x = <usize>s.x, w = <usize>s.w, out = <usize>s.out, rq = <usize>s.rq;
  store<i32>(slot, -1); // no image in the plane yet
  const col = slot + PLANE_OFFSET + <usize>s.planeBytes;
  const memEnd = memoryEnd();
  const rp = <usize>s.Rp << 1;
  const K = s.K, Kg = s.Kg, KgP = s.KgP;
  const esz: usize = rq == 0 ? 4 : 1;
  const ldo = <usize>K * esz;
  for (let p0 = start; p0 < end; p0 += s.block) {
    const count = min(s.block, end - p0);
    for (let g = 0; g < s.G; g++) {
      im2colRows(x, s, g, p0, count, slot, col, memEnd);
      const wg = w + <usize>(g * KgP) * rp;
      if (count == 1) {
        for (let kq = 0; kq < KgP; kq += 4) {
          const k = g * Kg + kq;
          tile1x4(col, wg + <usize>kq * rp, rp, rp, out + (<usize>p0 * K + k) * esz, min(4, KgP - kq), min(4, Kg - kq), rq, k);
        }
        continue;
      }
      let kq = 0;
      for (; kq + 4 <= KgP; kq += 4) {
        const k = g * Kg + kq, nk = min(4, Kg - kq);
        tile2x4(col, wg + <usize>kq * rp, rp, rp, out + (<usize>p0 * K + k) * esz, ldo, count, nk, rq, k);
      }
      if (kq < KgP) {
        const k = g * Kg + kq, nk = min(2, Kg - kq);
        tile4x2(col, wg + <usize>kq * rp, rp, rp, out + (<usize>p0 * K + k) * esz, ldo, count, nk, rq, k);
      }
    }
  }
}

/**
 * The per-core int8 dot ceiling: Σ a·b over n (a multiple of 32) u8 a and i8 b in L1, `reps`
 * times: widen both to i16 (4 extends per 16 pairs), two dot_i16x8_s, two adds; 4 accumulators.
 */
export function dotStreamU8I8(a: usize, b: usize, n: i32, reps: i32, out: usize): void {
  let total = i32x4.splat(0);
  for (let r = 0; r < reps; r++) {
    let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
    for (let o: usize = 0; o < <usize>n; o += 32) {
      const x0 = v128.load(a + o), y0 = v128.load(b + o);
      s0 = dot(s0, i16x8.extend_low_i8x16_u(x0), i16x8.extend_low_i8x16_s(y0));
      s1 = dot(s1, i16x8.extend_high_i8x16_u(x0), i16x8.extend_high_i8x16_s(y0));
      const x1 = v128.load(a + o, 16), y1 = v128.load(b + o, 16);
      s2 = dot(s2, i16x8.extend_low_i8x16_u(x1), i16x8.extend_low_i8x16_s(y1));
      s3 = dot(s3, i16x8.extend_high_i8x16_u(x1), i16x8.extend_high_i8x16_s(y1));
    }
    total = i32x4.add(total, i32x4.add(i32x4.add(s0, s1), i32x4.add(s2, s3)));
  }
  v128.store(out, total);
}
