// int8 AdderNet kernels for deployment: out = Σ |x − w| over u8 activations and u8 weights (the
// layer's shared scale and zero point make both u8 on one grid; see src/kernels/reference/int8.ts).
//
// The tiles use  |a − b| = a + b − 2·min(a, b),  so that over a row of taps
//
//   Σ|x − w| = Σx + Σw − 2·Σ min(x, w),
//
// exact in integers. Σw of each weight row is computed once when the weights are prepared (i32
// after the rows), Σx of each im2col row once per block (i32 after the block), and the tiles only
// accumulate min: per 16 pairs one min_u, one pairwise widening to u16 and one add, three
// instructions where |a − b| needs five (sub_sat_u both ways, or, widen, add).
//   16 min bytes → 8 u16 pair sums (extadd_pairwise) → added into u16 accumulators
//   at most 64 vectors per u16 accumulator (64·510 < 2^15), then widened to i32 with a
//   dot against ones, so the widening is one instruction and never overflows.
//
// Layout: an im2col block of output positions, rows of Rp = roundUp(R, 16) bytes, zeros past R,
// against prepared weight rows with zeros past R, so the padding adds |0 − 0| = 0.
// Micro-tiles: 2 positions × 4 channels (8 accumulators; each loaded vector is used 2 or 4
// times), and 4 positions × 2 channels for a group's last two channels. 8 accumulators + 2 row
// vectors + 1 weight vector + 2 temporaries fit x64's 16 xmm registers.
//
// Threads split output positions; every output is one chain in a fixed order, so results do not
// depend on the thread count.
import { threadSlot } from "./gemm";
import { adderLanesBlock, usesLanes } from "./int8_adder_lanes";
import { adderDepthwiseU8, isDepthwise } from "./int8_depthwise";
import { buildPlane, emit2x2, emit4, hsum4, im2colRows, Int8Conv, memoryEnd, PLANE_OFFSET, requantU16x16, rqRising } from "./int8_common";

/** Chunks of 16 bytes per u16 accumulation run. */
const RUN: i32 = 64;

/** |a − b| summed pairwise into u16 lanes: the ceiling's instructions (sadStreamU8). */
// @ts-ignore: decorator
@inline function sad(acc: v128, a: v128, b: v128): v128 {
  const d = v128.or(i8x16.sub_sat_u(a, b), i8x16.sub_sat_u(b, a));
  return i16x8.add(acc, i16x8.extadd_pairwise_i8x16_u(d));
}

/** min(a, b) summed pairwise into u16 lanes: the tiles' inner step. */
// @ts-ignore: decorator
@inline function addMin(acc: v128, a: v128, b: v128): v128 {
  return i16x8.add(acc, i16x8.extadd_pairwise_i8x16_u(i8x16.min_u(a, b)));
}

// @ts-ignore: decorator
@inline function widen(acc16: v128): v128 {
  return i32x4.dot_i16x8_s(acc16, i16x8.splat(1));
}

/** Σx + Σw − 2·Σmin, lane by lane. */
// @ts-ignore: decorator
@inline function fromMin(sumMin: v128, sumX: v128, sumW: v128): v128 {
  return i32x4.sub(i32x4.add(sumX, sumW), i32x4.shl(sumMin, 1));
}

/**
 * Σ of each of `count` rows of `chunks`·16 bytes (Rp apart) into i32 at xs, four rows at a time
 * (one transposed reduction and one store per four; rows past count are the block's stale rows,
 * summed into the 4 spare i32 after the block's sums).
 */
export function rowSumsU8(col: usize, rp: usize, chunks: i32, count: i32, xs: usize): void {
  for (let i = 0; i < count; i += 4) {
    const a0 = col + <usize>i * rp, a1 = a0 + rp, a2 = a1 + rp, a3 = a2 + rp;
    let t = i32x4.splat(0);
    for (let c0 = 0; c0 < chunks; c0 += RUN) {
      const c1 = min(chunks, c0 + RUN);
      let s0 = i16x8.splat(0), s1 = i16x8.splat(0), s2 = i16x8.splat(0), s3 = i16x8.splat(0);
      for (let o = <usize>c0 << 4, e = <usize>c1 << 4; o < e; o += 16) {
        s0 = i16x8.add(s0, i16x8.extadd_pairwise_i8x16_u(v128.load(a0 + o)));
        s1 = i16x8.add(s1, i16x8.extadd_pairwise_i8x16_u(v128.load(a1 + o)));
        s2 = i16x8.add(s2, i16x8.extadd_pairwise_i8x16_u(v128.load(a2 + o)));
        s3 = i16x8.add(s3, i16x8.extadd_pairwise_i8x16_u(v128.load(a3 + o)));
      }
      t = i32x4.add(t, hsum4(widen(s0), widen(s1), widen(s2), widen(s3)));
    }
    v128.store(xs + (<usize>i << 2), t);
  }
}

/**
 * `count` im2col rows from col (Rp bytes apart, row sums at xs), two at a time, × weight rows
 * w .. w + 3·Rp (row sums at ws) over `chunks` 16-byte chunks; emits channels k..k+nk−1 of each
 * position (the first at dst0, ldo apart).
 */
function tile2x4(col: usize, w: usize, rp: usize, chunks: i32, dst0: usize, ldo: usize, count: i32, nk: i32, rq: usize, k: i32, xs: usize, ws: usize): void {
  const w1 = w + rp, w2 = w + 2 * rp, w3 = w + 3 * rp;
  const sw = v128.load(ws);
  for (let i = 0; i < count; i += 2) {
    const a = col + <usize>i * rp, dst = dst0 + <usize>i * ldo, np = count - i;
    let t0 = i32x4.splat(0), t1 = i32x4.splat(0);
    const a1 = a + rp;
    for (let c0 = 0; c0 < chunks; c0 += RUN) {
      const c1 = min(chunks, c0 + RUN);
      let s00 = i32x4.splat(0), s01 = i32x4.splat(0), s02 = i32x4.splat(0), s03 = i32x4.splat(0);
      let s10 = i32x4.splat(0), s11 = i32x4.splat(0), s12 = i32x4.splat(0), s13 = i32x4.splat(0);
      for (let o = <usize>c0 << 4, e = <usize>c1 << 4; o < e; o += 16) {
        const x0 = v128.load(a + o), x1 = v128.load(a1 + o);
        const v0 = v128.load(w + o);
        s00 = addMin(s00, x0, v0); s10 = addMin(s10, x1, v0);
        const v1 = v128.load(w1 + o);
        s01 = addMin(s01, x0, v1); s11 = addMin(s11, x1, v1);
        const v2 = v128.load(w2 + o);
        s02 = addMin(s02, x0, v2); s12 = addMin(s12, x1, v2);
        const v3 = v128.load(w3 + o);
        s03 = addMin(s03, x0, v3); s13 = addMin(s13, x1, v3);
      }
      t0 = i32x4.add(t0, hsum4(widen(s00), widen(s01), widen(s02), widen(s03)));
      t1 = i32x4.add(t1, hsum4(widen(s10), widen(s11), widen(s12), widen(s13)));
    }
    const xi = xs + (<usize>i << 2);
    emit4(fromMin(t0, v128.load32_splat(xi), sw), dst, nk, rq, k);
    if (np > 1) emit4(fromMin(t1, v128.load32_splat(xi + 4), sw), dst + ldo, nk, rq, k);
  }
}

/** As tile2x4, four rows at a time × weight rows w, w + Rp: channels k, k+1 (nk valid). */
function tile4x2(col: usize, w: usize, rp: usize, chunks: i32, dst0: usize, ldo: usize, count: i32, nk: i32, rq: usize, k: i32, xs: usize, ws: usize): void {
  const w1 = w + rp;
  // lanes (position, channel): (0, k) (0, k+1) (1, k) (1, k+1)
  const sw = v128.load64_splat(ws);
  for (let i = 0; i < count; i += 4) {
    const a = col + <usize>i * rp, dst = dst0 + <usize>i * ldo, np = count - i;
    let t01 = i32x4.splat(0), t23 = i32x4.splat(0);
    const a1 = a + rp, a2 = a + 2 * rp, a3 = a + 3 * rp;
    for (let c0 = 0; c0 < chunks; c0 += RUN) {
      const c1 = min(chunks, c0 + RUN);
      let s00 = i32x4.splat(0), s01 = i32x4.splat(0), s10 = i32x4.splat(0), s11 = i32x4.splat(0);
      let s20 = i32x4.splat(0), s21 = i32x4.splat(0), s30 = i32x4.splat(0), s31 = i32x4.splat(0);
      for (let o = <usize>c0 << 4, e = <usize>c1 << 4; o < e; o += 16) {
        const v0 = v128.load(w + o), v1 = v128.load(w1 + o);
        const x0 = v128.load(a + o);
        s00 = addMin(s00, x0, v0); s01 = addMin(s01, x0, v1);
        const x1 = v128.load(a1 + o);
        s10 = addMin(s10, x1, v0); s11 = addMin(s11, x1, v1);
        const x2 = v128.load(a2 + o);
        s20 = addMin(s20, x2, v0); s21 = addMin(s21, x2, v1);
        const x3 = v128.load(a3 + o);
        s30 = addMin(s30, x3, v0); s31 = addMin(s31, x3, v1);
      }
      t01 = i32x4.add(t01, hsum4(widen(s00), widen(s01), widen(s10), widen(s11)));
      t23 = i32x4.add(t23, hsum4(widen(s20), widen(s21), widen(s30), widen(s31)));
    }
    // the row sums of rows i..i+3, each twice: (x_i, x_i, x_i+1, x_i+1) and (x_i+2, …)
    const x4 = v128.load(xs + (<usize>i << 2));
    emit2x2(fromMin(t01, i32x4.shuffle(x4, x4, 0, 0, 1, 1), sw), dst, dst + ldo, nk, np, rq, k);
    emit2x2(fromMin(t23, i32x4.shuffle(x4, x4, 2, 2, 3, 3), sw), dst + 2 * ldo, dst + 3 * ldo, nk, np - 2, rq, k);
  }
}

/**
 * One im2col row × 4 weight rows (or 2: `rows`), for a block of a single position (a linear layer
 * at batch 1), where the 2-row tiles would waste half their work on a stale row.
 */
function tile1x4(a: usize, w: usize, rp: usize, chunks: i32, dst: usize, rows: i32, nk: i32, rq: usize, k: i32, xs: usize, ws: usize): void {
  const w1 = w + rp, w2 = rows > 2 ? w + 2 * rp : w, w3 = rows > 2 ? w + 3 * rp : w1;
  let t = i32x4.splat(0);
  for (let c0 = 0; c0 < chunks; c0 += RUN) {
    const c1 = min(chunks, c0 + RUN);
    let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
    for (let o = <usize>c0 << 4, e = <usize>c1 << 4; o < e; o += 16) {
      const x = v128.load(a + o);
      s0 = addMin(s0, x, v128.load(w + o)); s1 = addMin(s1, x, v128.load(w1 + o));
      s2 = addMin(s2, x, v128.load(w2 + o)); s3 = addMin(s3, x, v128.load(w3 + o));
    }
    t = i32x4.add(t, hsum4(widen(s0), widen(s1), widen(s2), widen(s3)));
  }
  // lanes past `rows` hold stale sums; emit4 stores only nk ≤ rows of them
  emit4(fromMin(t, v128.load32_splat(xs), v128.load(ws)), dst, nk, rq, k);
}

/**
 * Σ|x − w| for output positions [start, end) of an NHWC conv (s: Int8Conv block), weights as
 * prepared by src/kernels/int8.ts: per group KgP rows of Rp bytes. With rq == 0 out is i32
 * [N][OH][OW][K]; otherwise the accumulators are requantized (block at rq) into u8 out.
 */
export function adderConvU8(shape: usize, start: i32, end: i32): void {
  const s = changetype<Int8Conv>(shape);
  adderConvInSlot(shape, threadSlot(<usize>s.scratch, s.slotBytes), start, end);
}

/** adderConvU8 in a scratch slot the caller owns (an int8 program's thread slot). */
export function adderConvInSlot(shape: usize, slot: usize, start: i32, end: i32): void {
  const s = changetype<Int8Conv>(shape);
  store<i32>(slot, -1); // no image in the plane yet
  if (directC1(s)) {
    if (s.pool != 0) adderConvDirectC1Pool(s, slot, start, end);
    else adderConvDirectC1(s, slot, start, end);
    return;
  }
  if (isDepthwise(s)) {
    adderDepthwiseU8(s, slot, start, end);
    return;
  }
  if (s.pool != 0) {
    adderConvPool(s, slot, start, end);
    return;
  }
  const x = <usize>s.x, out = <usize>s.out, rq = <usize>s.rq;
  const col = slot + PLANE_OFFSET + <usize>s.planeBytes;
  const memEnd = memoryEnd();
  const rp = <usize>s.Rp;
  // Σx of the block's rows after the block and its 64 bytes of slack
  const xs = col + <usize>s.block * rp + 64;
  const esz: usize = rq == 0 ? 4 : 1;
  // a 1×1 conv whose C fills whole vectors reads its rows straight from x (NHWC: a position's C
  // bytes are its im2col row), while the tiles' reads of up to 3 rows past the last stay in memory
  const rowsInX = s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.ph == 0 && s.pw == 0 && s.G == 1 && s.C == s.Rp &&
    x + (<usize>(end + 3)) * rp <= memEnd;
  const lanes = usesLanes(s);
  for (let p0 = start; p0 < end; p0 += s.block) {
    const count = min(s.block, end - p0);
    for (let g = 0; g < s.G; g++) {
      const rows = rowsInX ? x + <usize>p0 * rp : col;
      if (!rowsInX) im2colRows(x, s, g, p0, count, slot, col, memEnd);
      rowSumsU8(rows, rp, s.Rp >> 4, count, xs);
      const dst = out + <usize>p0 * <usize>s.K * esz, ldo = <usize>s.K * esz;
      // a block of 1–3 rows (a linear layer at small batch) keeps the tiles: the lanes tiles take 4
      if (lanes && count >= 4) adderLanesBlock(s, g, count, rows, xs, dst, ldo, rq);
      else tileRows(s, g, rows, xs, count, dst, ldo, rq);
    }
  }
}

/**
 * Group g's channels for `count` im2col rows at col (Σ of each at xs) by the micro-tiles: output
 * row i at dst + i·ldo (i32 when rq == 0, else requantized u8), channel g·Kg + c at element c.
 */
function tileRows(s: Int8Conv, g: i32, col: usize, xs: usize, count: i32, dst: usize, ldo: usize, rq: usize): void {
  const rp = <usize>s.Rp, chunks = s.Rp >> 4;
  const Kg = s.Kg, KgP = s.KgP;
  const esz: usize = rq == 0 ? 4 : 1;
  const wg = <usize>s.w + <usize>(g * KgP) * rp;
  // Σw after all the weight rows
  const wsg = <usize>s.w + <usize>(s.G * KgP) * rp + (<usize>(g * KgP) << 2);
  const d = dst + <usize>(g * Kg) * esz;
  if (count == 1) {
    for (let kq = 0; kq < KgP; kq += 4) {
      tile1x4(col, wg + <usize>kq * rp, rp, chunks, d + <usize>kq * esz, min(4, KgP - kq), min(4, Kg - kq), rq, g * Kg + kq, xs, wsg + (<usize>kq << 2));
    }
    return;
  }
  let kq = 0;
  for (; kq + 4 <= KgP; kq += 4) {
    tile2x4(col, wg + <usize>kq * rp, rp, chunks, d + <usize>kq * esz, ldo, count, min(4, Kg - kq), rq, g * Kg + kq, xs, wsg + (<usize>kq << 2));
  }
  if (kq < KgP) {
    tile4x2(col, wg + <usize>kq * rp, rp, chunks, d + <usize>kq * esz, ldo, count, min(2, Kg - kq), rq, g * Kg + kq, xs, wsg + (<usize>kq << 2));
  }
}

// ---- any other adder conv and a 2×2 max pool after it, fused ----
//
// As for the one-channel kernel below: the requantization is monotone in the accumulator, so the
// pool takes the max (mult ≥ 0) or the min (mult < 0) of each window's four raw accumulators and
// requantizes one value in four. A step takes `cnt` windows of a pooled row: the im2col rows of
// their 2·cnt positions in each of the two output rows, tiled into raw i32 in the thread slot.

/** Per lane, max (mask lane all ones) or min of four i32x4. */
// @ts-ignore: decorator
@inline function pool4(a: v128, b: v128, c: v128, d: v128, mask: v128): v128 {
  const hi = i32x4.max_s(i32x4.max_s(a, b), i32x4.max_s(c, d));
  const lo = i32x4.min_s(i32x4.min_s(a, b), i32x4.min_s(c, d));
  return v128.bitselect(hi, lo, mask);
}

/** Pooled positions [start, end) (of [N][OH/2][OW/2]) of an adder conv with a fused 2×2 stride-2 max pool. */
function adderConvPool(s: Int8Conv, slot: usize, start: i32, end: i32): void {
  const x = <usize>s.x, out = <usize>s.out, rq = <usize>s.rq;
  const col = slot + PLANE_OFFSET + <usize>s.planeBytes;
  const memEnd = memoryEnd();
  const rp = <usize>s.Rp, K = s.K, OW = s.OW;
  const xs = col + <usize>s.block * rp + 64;
  // raw accumulators of a step, i32 [4·cnt][K], after the row sums (src/kernels/int8.ts sizes it)
  const acc = (xs + (<usize>(s.block + 4) << 2) + 15) & ~15;
  const rowBytes = <usize>K << 2;
  const masks = rqRising(rq);
  const POW = OW >> 1, perImage = (s.OH >> 1) * POW;
  const most = s.block >> 2;
  const lanes = usesLanes(s);
  let p = start;
  while (p < end) {
    const n = p / perImage, rest = p - n * perImage;
    const ph = rest / POW, pw = rest - ph * POW;
    const cnt = min(most, min(POW - pw, end - p));
    const posA = (n * s.OH + 2 * ph) * OW + 2 * pw, posB = posA + OW;
    const half = <usize>(2 * cnt);
    for (let g = 0; g < s.G; g++) {
      im2colRows(x, s, g, posA, 2 * cnt, slot, col, memEnd);
      im2colRows(x, s, g, posB, 2 * cnt, slot, col + half * rp, memEnd);
      rowSumsU8(col, rp, s.Rp >> 4, 4 * cnt, xs);
      if (lanes) adderLanesBlock(s, g, 4 * cnt, col, xs, acc, rowBytes, 0);
      else tileRows(s, g, col, xs, 4 * cnt, acc, rowBytes, 0);
    }
    for (let j = 0; j < cnt; j++) {
      const a = acc + (<usize>(2 * j)) * rowBytes, b = a + half * rowBytes;
      const dst = out + <usize>(p + j) * <usize>K;
      for (let k = 0; k < K; k += 4) {
        const o = <usize>k << 2;
        const v = pool4(v128.load(a + o), v128.load(a + rowBytes + o), v128.load(b + o), v128.load(b + rowBytes + o), v128.load(masks + o));
        emit4(v, dst + <usize>k, min(4, K - k), rq, k);
      }
    }
    p += cnt;
  }
}

// ---- one input channel (LeNet's conv1): no im2col ----
//
// With C = 1 an im2col row holds only kh·kw taps (25, padded to 32) and the per-position work
// (im2col, the horizontal sums, the requantization of 4 channels) outweighed the SADs. Here
// output positions sit in the vector lanes instead, in the min form of the tiles:
//
//   Σ_t |x_t − w_t| = Σ_t x_t + Σ_t w_t − 2·Σ_t min(x_t, w_t).
//
// Taps go in pairs (t, t+1): the two input vectors of 16 positions are interleaved into
// [x_p0,t  x_p0,t+1  x_p1,t  x_p1,t+1 …] (positions 0–7, and 8–15 in a second vector), the pair's
// two weights are one u16 splat, and min + pairwise widening + add leave Σ of the pair in each
// position's u16 lane: 3 instructions per 16 pairs, where |x − w| widened by halves took 7. An odd
// last tap is paired with the zero past R in the weight row (min(x, 0) = 0). Σx comes from the
// output row's column sums (kh rows added once per row), kw shifted reads per 16 positions. Every sum is taken mod 2^16: the
// result Σ|x − w| ≤ 257·255 < 2^16, so it comes out exact.

/** The direct path applies: one channel, no groups, unit stride and dilation along W, u16-safe sums. */
// @ts-ignore: decorator
@inline function directC1(s: Int8Conv): bool {
  return s.C == 1 && s.G == 1 && s.sw == 1 && s.dw == 1 && s.planeBytes != 0 && s.R <= 257;
}

/** Σ min(x, w) of one tap pair into positions 0–7 (lo) and 8–15 (hi). */
// @ts-ignore: decorator
@inline function pairMin(acc: v128, x: v128, w: v128): v128 {
  return i16x8.add(acc, i16x8.extadd_pairwise_i8x16_u(i8x16.min_u(x, w)));
}

/** Σx + Σw − 2·Σmin in u16 lanes (exact: see above). */
// @ts-ignore: decorator
@inline function fromMin16(sumMin: v128, sumX: v128, sumW: v128): v128 {
  return i16x8.sub(i16x8.add(sumX, sumW), i16x8.shl(sumMin, 1));
}

/** Interleave the bytes of a and b: positions 0–7 of two taps. */
// @ts-ignore: decorator
@inline function pairLo(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
}
/** As pairLo for positions 8–15. */
// @ts-ignore: decorator
@inline function pairHi(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
}

/** One channel's Σ|x − w| from its Σmin accumulators (positions 0–7, 8–15) and Σw at ws, to r: 32 bytes. */
// @ts-ignore: decorator
@inline function sumsOut(r: usize, l: v128, h: v128, xl: v128, xh: v128, ws: usize): void {
  const sw = i16x8.splat(<i16>load<i32>(ws));
  v128.store(r, fromMin16(l, xl, sw));
  v128.store(r, fromMin16(h, xh, sw), 16);
}

/**
 * Σ|x − w| (exact, u16) of the 16 positions at src in the plane for `rows` (4 or 2) channels,
 * weight rows w, w + Rp, … (Σw of each at ws, Σx of the positions in xl, xh): per channel 32 bytes
 * at r, lanes of positions 0–7 then 8–15.
 */
// @ts-ignore: decorator
@inline function c1Sums(src: usize, taps: usize, pairs: i32, w: usize, rp: usize, rows: i32, xl: v128, xh: v128, ws: usize, r: usize): void {
  if (rows == 4) {
    const w1 = w + rp, w2 = w1 + rp, w3 = w2 + rp;
    let l0 = i16x8.splat(0), h0 = i16x8.splat(0), l1 = i16x8.splat(0), h1 = i16x8.splat(0);
    let l2 = i16x8.splat(0), h2 = i16x8.splat(0), l3 = i16x8.splat(0), h3 = i16x8.splat(0);
    for (let j = 0; j < pairs; j++) {
      const o = taps + (<usize>j << 3), t = <usize>j << 1;
      const a = v128.load(src + <usize>load<i32>(o)), b = v128.load(src + <usize>load<i32>(o, 4));
      const lo = pairLo(a, b), hi = pairHi(a, b);
      let v = v128.load16_splat(w + t);
      l0 = pairMin(l0, lo, v); h0 = pairMin(h0, hi, v);
      v = v128.load16_splat(w1 + t);
      l1 = pairMin(l1, lo, v); h1 = pairMin(h1, hi, v);
      v = v128.load16_splat(w2 + t);
      l2 = pairMin(l2, lo, v); h2 = pairMin(h2, hi, v);
      v = v128.load16_splat(w3 + t);
      l3 = pairMin(l3, lo, v); h3 = pairMin(h3, hi, v);
    }
    sumsOut(r, l0, h0, xl, xh, ws); sumsOut(r + 32, l1, h1, xl, xh, ws + 4);
    sumsOut(r + 64, l2, h2, xl, xh, ws + 8); sumsOut(r + 96, l3, h3, xl, xh, ws + 12);
    return;
  }
  let l0 = i16x8.splat(0), h0 = i16x8.splat(0), l1 = i16x8.splat(0), h1 = i16x8.splat(0);
  for (let j = 0; j < pairs; j++) {
    const o = taps + (<usize>j << 3), t = <usize>j << 1;
    const a = v128.load(src + <usize>load<i32>(o)), b = v128.load(src + <usize>load<i32>(o, 4));
    const lo = pairLo(a, b), hi = pairHi(a, b);
    let v = v128.load16_splat(w + t);
    l0 = pairMin(l0, lo, v); h0 = pairMin(h0, hi, v);
    v = v128.load16_splat(w + rp + t);
    l1 = pairMin(l1, lo, v); h1 = pairMin(h1, hi, v);
  }
  sumsOut(r, l0, h0, xl, xh, ws); sumsOut(r + 32, l1, h1, xl, xh, ws + 4);
}

/** Channel k's raw sums (32 bytes at r) for `count` positions as i32 at dst, dst + 4K, …. */
function emitC1Raw(r: usize, dst: usize, K: i32, count: i32, tmp: usize): void {
  const lo = v128.load(r), hi = v128.load(r, 16);
  v128.store(tmp, i32x4.extend_low_i16x8_u(lo)); v128.store(tmp, i32x4.extend_high_i16x8_u(lo), 16);
  v128.store(tmp, i32x4.extend_low_i16x8_u(hi), 32); v128.store(tmp, i32x4.extend_high_i16x8_u(hi), 48);
  const step = <usize>K << 2;
  for (let i = 0; i < count; i++) store<i32>(dst + <usize>i * step, load<i32>(tmp + (<usize>i << 2)));
}

/** Positions 0–3 of a 4-channel transpose (4 bytes each) at p, p + K, …: n positions, nk (1–4) channels. */
// @ts-ignore: decorator
@inline function put4x4(u: v128, p: usize, K: usize, n: i32, nk: i32): void {
  // lane indices must be constants: one unrolled block per channel count
  if (nk == 4) {
    v128.store32_lane(p, u, 0);
    if (n > 1) v128.store32_lane(p + K, u, 1);
    if (n > 2) v128.store32_lane(p + 2 * K, u, 2);
    if (n > 3) v128.store32_lane(p + 3 * K, u, 3);
  } else if (nk == 3) {
    v128.store16_lane(p, u, 0); v128.store8_lane(p + 2, u, 2);
    if (n > 1) { v128.store16_lane(p + K, u, 2); v128.store8_lane(p + K + 2, u, 6); }
    if (n > 2) { v128.store16_lane(p + 2 * K, u, 4); v128.store8_lane(p + 2 * K + 2, u, 10); }
    if (n > 3) { v128.store16_lane(p + 3 * K, u, 6); v128.store8_lane(p + 3 * K + 2, u, 14); }
  } else if (nk == 2) {
    v128.store16_lane(p, u, 0);
    if (n > 1) v128.store16_lane(p + K, u, 2);
    if (n > 2) v128.store16_lane(p + 2 * K, u, 4);
    if (n > 3) v128.store16_lane(p + 3 * K, u, 6);
  } else {
    v128.store8_lane(p, u, 0);
    if (n > 1) v128.store8_lane(p + K, u, 4);
    if (n > 2) v128.store8_lane(p + 2 * K, u, 8);
    if (n > 3) v128.store8_lane(p + 3 * K, u, 12);
  }
}

/** Channels k..k+nk−1 (nk = 1–4; v0..v3 hold 16 positions each) of n positions, NHWC u8 at dst. */
function storeC1x4(v0: v128, v1: v128, v2: v128, v3: v128, dst: usize, K: i32, n: i32, nk: i32): void {
  const a = pairLo(v0, v1), b = pairLo(v2, v3), c = pairHi(v0, v1), d = pairHi(v2, v3);
  const k = <usize>K;
  put4x4(i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), dst, k, n, nk);
  if (n > 4) put4x4(i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), dst + 4 * k, k, n - 4, nk);
  if (n > 8) put4x4(i16x8.shuffle(c, d, 0, 8, 1, 9, 2, 10, 3, 11), dst + 8 * k, k, n - 8, nk);
  if (n > 12) put4x4(i16x8.shuffle(c, d, 4, 12, 5, 13, 6, 14, 7, 15), dst + 12 * k, k, n - 12, nk);
}

/**
 * Σ over the kh kernel rows (rowStep apart from `top`) of every plane column, as u16 at cols:
 * pitch + 16 columns, so that output position ow's window sum is Σ_kj cols[ow + kj]. Shared by the
 * row's groups of 16 positions; columns past the row read the plane's slack (their sums are only
 * used for positions that are not stored).
 */
function columnSums(top: usize, rowStep: usize, kh: i32, pitch: usize, cols: usize): void {
  for (let c: usize = 0; c < pitch + 16; c += 16) {
    let lo = i16x8.splat(0), hi = i16x8.splat(0);
    let r = top + c;
    for (let ki = 0; ki < kh; ki++) {
      const a = v128.load(r);
      lo = i16x8.add(lo, i16x8.extend_low_i8x16_u(a));
      hi = i16x8.add(hi, i16x8.extend_high_i8x16_u(a));
      r += rowStep;
    }
    v128.store(cols + (c << 1), lo);
    v128.store(cols + (c << 1), hi, 16);
  }
}

/** Σ_kj of kw shifted u16 column-sum vectors from c: 8 positions' window sums. */
// @ts-ignore: decorator
@inline function windowSum(c: usize, kw: i32): v128 {
  let v = i16x8.splat(0);
  for (let kj = 0; kj < kw; kj++) v = i16x8.add(v, v128.load(c + (<usize>kj << 1)));
  return v;
}

/**
 * The one-channel kernel's scratch after the plane in the thread slot (src/kernels/int8.ts sizes
 * it): [64 bytes for partial stores][tap offsets, i32 × (R + 1)][column sums of two output rows,
 * u16 × (pitch + 32) each][Σ|x − w| of a channel group for two rows, 128 bytes each]; tap t = (ki, kj)
 * sits at ki·rowStep + kj, and tap R (odd R) reads tap R − 1 against a zero weight.
 */
function c1Scratch(s: Int8Conv, slot: usize, rowStep: usize): usize {
  const taps = slot + PLANE_OFFSET + <usize>s.planeBytes + 64;
  const R = s.R;
  for (let ki = 0, t = 0; ki < s.kh; ki++) for (let kj = 0; kj < s.kw; kj++, t++) store<i32>(taps + (<usize>t << 2), ki * <i32>rowStep + kj);
  store<i32>(taps + (<usize>R << 2), load<i32>(taps + (<usize>(R - 1) << 2)));
  return taps;
}

// @ts-ignore: decorator
@inline function c1Cols(taps: usize, R: i32): usize {
  return taps + (((<usize>(R + 1) << 2) + 15) & ~15);
}

/** Positions [start, end) of a C = 1 conv through the padded plane, 16 positions of a row at a time. */
function adderConvDirectC1(s: Int8Conv, slot: usize, start: i32, end: i32): void {
  const x = <usize>s.x, w = <usize>s.w, out = <usize>s.out, rq = <usize>s.rq;
  const memEnd = memoryEnd();
  const plane = slot + PLANE_OFFSET;
  const pitch = <usize>(s.W + 2 * s.pw);
  const rowStep = <usize>s.dh * pitch;
  const K = s.K, KgP = s.KgP, kw = s.kw, OW = s.OW, R = s.R;
  const rp = <usize>s.Rp;
  const esz: usize = rq == 0 ? 4 : 1;
  const pixelsPerImage = s.OH * OW;
  const pairs = (R + 1) >> 1;
  const taps = c1Scratch(s, slot, rowStep), tmp = taps - 64;
  const cols = c1Cols(taps, R), sums = cols + ((pitch + 32) << 2);
  const wsums = w + <usize>KgP * rp;
  let sumsRow = -1;
  let held = -1;
  let p = start;
  while (p < end) {
    const n = p / pixelsPerImage, rest = p - n * pixelsPerImage;
    const oh = rest / OW, ow = rest - oh * OW;
    const count = min(16, min(OW - ow, end - p));
    if (held != n) {
      buildPlane(x, s, n, plane, pitch, memEnd);
      held = n;
      sumsRow = -1;
    }
    const top = plane + <usize>(oh * s.sh) * pitch;
    if (sumsRow != oh) {
      columnSums(top, rowStep, s.kh, pitch, cols);
      sumsRow = oh;
    }
    const c = cols + (<usize>ow << 1);
    const xl = windowSum(c, kw), xh = windowSum(c + 16, kw);
    const dst = out + <usize>p * K * esz;
    // u8 stores write all 16 positions while the 16 stay in [start, end): past a row's end they
    // are the next positions of this range, overwritten when those are computed
    const stored = p + 16 <= end ? 16 : count;
    for (let kq = 0; kq < KgP; ) {
      const rows = KgP - kq >= 4 ? 4 : 2; // KgP is even; rows past K are zeros, never stored
      const nk = min(rows, K - kq);
      c1Sums(top + <usize>ow, taps, pairs, w + <usize>kq * rp, rp, rows, xl, xh, wsums + (<usize>kq << 2), sums);
      const d0 = dst + <usize>kq * esz;
      if (rq == 0) {
        for (let j = 0; j < nk; j++) emitC1Raw(sums + (<usize>j << 5), d0 + <usize>j * esz, K, count, tmp);
      } else {
        const v0 = requantU16x16(v128.load(sums), v128.load(sums, 16), rq, kq);
        const v1 = requantU16x16(v128.load(sums, 32), v128.load(sums, 48), rq, kq + 1);
        const v2 = rows == 4 ? requantU16x16(v128.load(sums, 64), v128.load(sums, 80), rq, kq + 2) : v0;
        const v3 = rows == 4 ? requantU16x16(v128.load(sums, 96), v128.load(sums, 112), rq, kq + 3) : v1;
        storeC1x4(v0, v1, v2, v3, d0, K, stored, nk);
      }
      kq += rows;
    }
    p += count;
  }
}

// ---- one input channel and a 2×2 max pool after it, fused ----
//
// The requantization is monotone in the accumulator: non-decreasing where mult ≥ 0, non-increasing
// where mult < 0, and so is its clamp. So the max of four requantized values is the
// requantization of the max (mult ≥ 0) or of the min (mult < 0) of their accumulators, exactly:
// the pool runs on the exact u16 sums of two output rows, and only one value in four is
// requantized and stored.

/** Pooled u16 values of 8 windows from two rows' sums of one channel (a, b: 32 bytes each). */
// @ts-ignore: decorator
@inline function poolPairs(a: usize, b: usize, rising: bool): v128 {
  let lo: v128, hi: v128;
  if (rising) {
    lo = i16x8.max_u(v128.load(a), v128.load(b));
    hi = i16x8.max_u(v128.load(a, 16), v128.load(b, 16));
    lo = i16x8.max_u(lo, i16x8.shuffle(lo, lo, 1, 0, 3, 2, 5, 4, 7, 6));
    hi = i16x8.max_u(hi, i16x8.shuffle(hi, hi, 1, 0, 3, 2, 5, 4, 7, 6));
  } else {
    lo = i16x8.min_u(v128.load(a), v128.load(b));
    hi = i16x8.min_u(v128.load(a, 16), v128.load(b, 16));
    lo = i16x8.min_u(lo, i16x8.shuffle(lo, lo, 1, 0, 3, 2, 5, 4, 7, 6));
    hi = i16x8.min_u(hi, i16x8.shuffle(hi, hi, 1, 0, 3, 2, 5, 4, 7, 6));
  }
  return i16x8.shuffle(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14);
}

/** Channel k pooled and requantized: 8 u8 windows in the low lanes. */
// @ts-ignore: decorator
@inline function poolChannel(a: usize, b: usize, rq: usize, k: i32): v128 {
  const v = poolPairs(a, b, load<i32>(rqRising(rq) + (<usize>k << 2)) != 0);
  return requantU16x16(v, v, rq, k);
}

/**
 * Pooled positions [start, end) (of [N][OH/2][OW/2]) of a C = 1 conv with requantization and a 2×2
 * stride-2 max pool: 8 windows (16 positions of two output rows) at a time.
 */
function adderConvDirectC1Pool(s: Int8Conv, slot: usize, start: i32, end: i32): void {
  const x = <usize>s.x, w = <usize>s.w, out = <usize>s.out, rq = <usize>s.rq;
  const memEnd = memoryEnd();
  const plane = slot + PLANE_OFFSET;
  const pitch = <usize>(s.W + 2 * s.pw);
  const rowStep = <usize>s.dh * pitch;
  const K = s.K, KgP = s.KgP, kw = s.kw, R = s.R;
  const POW = s.OW >> 1, perImage = (s.OH >> 1) * POW;
  const rp = <usize>s.Rp;
  const pairs = (R + 1) >> 1;
  const taps = c1Scratch(s, slot, rowStep);
  const colsA = c1Cols(taps, R), colsB = colsA + ((pitch + 32) << 1);
  const sumsA = colsB + ((pitch + 32) << 1), sumsB = sumsA + 128;
  const wsums = w + <usize>KgP * rp;
  let rowA = -1; // the output row pair whose column sums are held
  let held = -1;
  let p = start;
  while (p < end) {
    const n = p / perImage, rest = p - n * perImage;
    const ph = rest / POW, pw = rest - ph * POW;
    const count = min(8, min(POW - pw, end - p));
    if (held != n) {
      buildPlane(x, s, n, plane, pitch, memEnd);
      held = n;
      rowA = -1;
    }
    const oa = 2 * ph, ow = 2 * pw;
    const topA = plane + <usize>(oa * s.sh) * pitch, topB = topA + <usize>s.sh * pitch;
    if (rowA != oa) {
      columnSums(topA, rowStep, s.kh, pitch, colsA);
      columnSums(topB, rowStep, s.kh, pitch, colsB);
      rowA = oa;
    }
    const ca = colsA + (<usize>ow << 1), cb = colsB + (<usize>ow << 1);
    const xla = windowSum(ca, kw), xha = windowSum(ca + 16, kw), xlb = windowSum(cb, kw), xhb = windowSum(cb + 16, kw);
    const dst = out + <usize>p * K;
    // as adderConvDirectC1: whole groups of 8 windows while they stay in [start, end)
    const stored = p + 8 <= end ? 8 : count;
    for (let kq = 0; kq < KgP; ) {
      const rows = KgP - kq >= 4 ? 4 : 2;
      const nk = min(rows, K - kq);
      const wq = w + <usize>kq * rp, ws = wsums + (<usize>kq << 2);
      c1Sums(topA + <usize>ow, taps, pairs, wq, rp, rows, xla, xha, ws, sumsA);
      c1Sums(topB + <usize>ow, taps, pairs, wq, rp, rows, xlb, xhb, ws, sumsB);
      const v0 = poolChannel(sumsA, sumsB, rq, kq);
      const v1 = poolChannel(sumsA + 32, sumsB + 32, rq, kq + 1);
      const v2 = rows == 4 ? poolChannel(sumsA + 64, sumsB + 64, rq, kq + 2) : v0;
      const v3 = rows == 4 ? poolChannel(sumsA + 96, sumsB + 96, rq, kq + 3) : v1;
      storeC1x4(v0, v1, v2, v3, dst + <usize>kq, K, stored, nk);
      kq += rows;
    }
    p += count;
  }
}

/**
 * The min-form tiles' own ceiling: tile2x4 itself on two x rows and four w rows of n bytes (a
 * multiple of 16) that stay in L1, `reps` times: 8·n·reps elements. What the adder tiles could
 * reach with no im2col, row sums or requantization. `scratch` holds 64 bytes: the raw i32 outputs
 * (32), then zero row sums for x (16) and w (16).
 */
export function minTileStreamU8(a: usize, b: usize, n: i32, reps: i32, scratch: usize): void {
  const xs = scratch + 32, ws = scratch + 48;
  v128.store(xs, i32x4.splat(0));
  v128.store(ws, i32x4.splat(0));
  for (let r = 0; r < reps; r++) tile2x4(a, b, <usize>n, n >> 4, scratch, 16, 2, 4, 0, 0, xs, ws);
}

/**
 * The per-core SAD ceiling: Σ|a − b| over n bytes (a multiple of 4096) of two L1-resident arrays,
 * `reps` times, with the same instructions as the tiles: 4 independent u16 accumulators, each
 * taking 64 vectors per run before the widening. The total goes to out (i32) so nothing is
 * optimised away.
 */
export function sadStreamU8(a: usize, b: usize, n: i32, reps: i32, out: usize): void {
  let total = i32x4.splat(0);
  for (let r = 0; r < reps; r++) {
    for (let run: usize = 0; run < <usize>n; run += <usize>RUN << 6) {
      let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
      const e = run + (<usize>RUN << 6);
      for (let o = run; o < e; o += 64) {
        s0 = sad(s0, v128.load(a + o), v128.load(b + o));
        s1 = sad(s1, v128.load(a + o, 16), v128.load(b + o, 16));
        s2 = sad(s2, v128.load(a + o, 32), v128.load(b + o, 32));
        s3 = sad(s3, v128.load(a + o, 48), v128.load(b + o, 48));
      }
      total = i32x4.add(total, i32x4.add(i32x4.add(widen(s0), widen(s1)), i32x4.add(widen(s2), widen(s3))));
    }
  }
  v128.store(out, total);
}
