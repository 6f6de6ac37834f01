// int8 AdderNet conv/linear with output channels in the vector lanes, for layers of ≤ 256 taps per
// output and ≥ 8 output channels per group (LeNet's conv2, fc2 and fc3, `mobile`'s pointwise convs).
// The micro-tiles of int8_adder.ts end every 2 × 4 tile with horizontal sums of its 8 accumulators;
// with 2–16 chunks per row that epilogue weighs a good part of the loop. The min form
//
//   Σ_t |x_t − w_t| = Σ_t x_t + Σ_t w_t − 2·Σ_t min(x_t, w_t)
//
// is taken over tap pairs (t, t+1): a position's two taps are one u16 splat, and 8 channels'
// weights for the pair sit interleaved in one vector [w_c,t w_c,t+1 …] (prepared by
// src/kernels/int8.ts), so min + pairwise widening + add leave each channel's Σ of the pair in
// its u16 lane, with no horizontal sums after. A tile is 4 positions × 16 channels (8 u16
// accumulators); R ≤ 256 keeps every u16 sum below 2^16 (128 pairs · 510).
//
// With a prepared requantization whose channels take one shift (lanesForm, requant_u16.ts), a
// position's 16 channels are requantized in u16/u32 integer steps straight from the u16 lanes;
// otherwise each 4 go through the f64 path (emit8).
//
// Threads split output positions; each output is one chain in a fixed order, whatever the split.
import { emit4, extraWeights, Int8Conv, lanesForm, requantLanes16, storeBytes } from "./int8_common";

/** Most taps per output the lanes tiles take: every u16 sum stays below 2^16 in one run. */
export const LANES_MAX_R: i32 = 256;

/** The lanes path applies (src/kernels/int8.ts prepares its weights for exactly these layers). */
// @ts-ignore: decorator
@inline export function usesLanes(s: Int8Conv): bool {
  return s.Kg >= 8 && s.R <= LANES_MAX_R;
}

// @ts-ignore: decorator
@inline function addMin(acc: v128, x: v128, w: v128): v128 {
  return i16x8.add(acc, i16x8.extadd_pairwise_i8x16_u(i8x16.min_u(x, w)));
}

/** Σx + Σw − 2·Σmin for 8 channels of one position (u16 lanes of acc), emitted as channels k.. (n valid). */
// @ts-ignore: decorator
@inline function emit8(acc: v128, sx: v128, sw: usize, dst: usize, esz: usize, n: i32, rq: usize, k: i32): void {
  const lo = i32x4.sub(i32x4.add(sx, v128.load(sw)), i32x4.shl(i32x4.extend_low_i16x8_u(acc), 1));
  emit4(lo, dst, min(n, 4), rq, k);
  if (n > 4) emit4(i32x4.sub(i32x4.add(sx, v128.load(sw, 16)), i32x4.shl(i32x4.extend_high_i16x8_u(acc), 1)), dst + 4 * esz, n - 4, rq, k + 4);
}

/**
 * Σx + Σw − 2·Σmin of 16 channels of one position (u16 lanes of a0, a1; Σx at xs, Σw in w0, w1),
 * requantized in the lanes form at `lanes` (lanesForm) and stored as n u8. Taken mod 2^16, which is exact: the true
 * Σ|x − w| ≤ 256·255 < 2^16.
 */
// @ts-ignore: decorator
@inline function emit16(a0: v128, a1: v128, xs: usize, w0: v128, w1: v128, dst: usize, n: i32, lanes: usize, k: i32): void {
  const sx = v128.load16_splat(xs);
  const r0 = i16x8.sub(i16x8.add(sx, w0), i16x8.shl(a0, 1)), r1 = i16x8.sub(i16x8.add(sx, w1), i16x8.shl(a1, 1));
  storeBytes(dst, requantLanes16(r0, r1, lanes, k), n);
}

/**
 * Group g's channels for `count` im2col rows at col (Rp bytes apart, zeros past R; Σ of each at
 * xs, 4 spare), as tileRows of int8_adder.ts: output row i at dst + i·ldo (i32 when rq == 0, else
 * requantized u8), channel g·Kg + c at element c.
 */
export function adderLanesBlock(s: Int8Conv, g: i32, count: i32, col: usize, xs: usize, dst: usize, ldo: usize, rq: usize): void {
  const rp = <usize>s.Rp, Kg = s.Kg;
  const pairs = (s.R + 1) >> 1;
  const KV = (Kg + 7) >> 3;
  const jStep = <usize>KV << 4;
  const wg = extraWeights(s) + <usize>g * <usize>pairs * jStep;
  // Σw per channel, i32 [G][KV·8], after all groups' lane weights
  const swg = extraWeights(s) + <usize>s.G * <usize>pairs * jStep + (<usize>(g * KV) << 5);
  const esz: usize = rq == 0 ? 4 : 1;
  const out = dst + <usize>(g * Kg) * esz;
  // the lanes form holds channels in blocks of 8 from channel 0: a group must start on one
  const lanes = s.G == 1 || (Kg & 7) == 0 ? lanesForm(rq) : 0;
  for (let i = 0; i < count; i += 4) {
    // rows past count (the block holds a multiple of 4) are stale: computed, not stored
    const np = min(4, count - i);
    const r0 = col + <usize>i * rp, r1 = r0 + rp, r2 = r1 + rp, r3 = r2 + rp;
    const sx0 = v128.load32_splat(xs + (<usize>i << 2)), sx1 = v128.load32_splat(xs + (<usize>(i + 1) << 2));
    const sx2 = v128.load32_splat(xs + (<usize>(i + 2) << 2)), sx3 = v128.load32_splat(xs + (<usize>(i + 3) << 2));
    for (let v = 0; v < KV; v += 2) {
      // a lone last vector reads its own weights twice: computed, not stored
      const w1off: usize = v + 1 < KV ? 16 : 0;
      let a00 = i16x8.splat(0), a01 = i16x8.splat(0), a10 = i16x8.splat(0), a11 = i16x8.splat(0);
      let a20 = i16x8.splat(0), a21 = i16x8.splat(0), a30 = i16x8.splat(0), a31 = i16x8.splat(0);
      let wp = wg + (<usize>v << 4);
      for (let j = 0; j < pairs; j++) {
        const t = <usize>j << 1;
        const w0 = v128.load(wp), w1 = v128.load(wp + w1off);
        wp += jStep;
        const x0 = v128.load16_splat(r0 + t);
        a00 = addMin(a00, x0, w0); a01 = addMin(a01, x0, w1);
        const x1 = v128.load16_splat(r1 + t);
        a10 = addMin(a10, x1, w0); a11 = addMin(a11, x1, w1);
        const x2 = v128.load16_splat(r2 + t);
        a20 = addMin(a20, x2, w0); a21 = addMin(a21, x2, w1);
        const x3 = v128.load16_splat(r3 + t);
        a30 = addMin(a30, x3, w0); a31 = addMin(a31, x3, w1);
      }
      const k = g * Kg + (v << 3);
      const n0 = min(8, Kg - (v << 3)), n1 = v + 1 < KV ? min(8, Kg - ((v + 1) << 3)) : 0;
      const sw = swg + (<usize>v << 5);
      const d = out + <usize>i * ldo + (<usize>(v << 3)) * esz;
      if (lanes != 0) {
        // u16 sums of the 16 channels' Σw (≤ 256·255, so the narrows are exact)
        const w0 = i16x8.narrow_i32x4_u(v128.load(sw), v128.load(sw, 16));
        const w1 = n1 > 0 ? i16x8.narrow_i32x4_u(v128.load(sw, 32), v128.load(sw, 48)) : w0;
        const n = n0 + n1;
        emit16(a00, a01, xs + (<usize>i << 2), w0, w1, d, n, lanes, k);
        if (np > 1) emit16(a10, a11, xs + (<usize>(i + 1) << 2), w0, w1, d + ldo, n, lanes, k);
        if (np > 2) emit16(a20, a21, xs + (<usize>(i + 2) << 2), w0, w1, d + 2 * ldo, n, lanes, k);
        if (np > 3) emit16(a30, a31, xs + (<usize>(i + 3) << 2), w0, w1, d + 3 * ldo, n, lanes, k);
        continue;
      }
      emit8(a00, sx0, sw, d, esz, n0, rq, k);
      if (n1 > 0) emit8(a01, sx0, sw + 32, d + 8 * esz, esz, n1, rq, k + 8);
      if (np > 1) {
        emit8(a10, sx1, sw, d + ldo, esz, n0, rq, k);
        if (n1 > 0) emit8(a11, sx1, sw + 32, d + ldo + 8 * esz, esz, n1, rq, k + 8);
      }
      if (np > 2) {
        emit8(a20, sx2, sw, d + 2 * ldo, esz, n0, rq, k);
        if (n1 > 0) emit8(a21, sx2, sw + 32, d + 2 * ldo + 8 * esz, esz, n1, rq, k + 8);
      }
      if (np > 3) {
        emit8(a30, sx3, sw, d + 3 * ldo, esz, n0, rq, k);
        if (n1 > 0) emit8(a31, sx3, sw + 32, d + 3 * ldo + 8 * esz, esz, n1, rq, k + 8);
      }
    }
  }
}
