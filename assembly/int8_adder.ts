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
import { adderDepthwiseU8, isDepthwise } from "./int8_depthwise";
import { buildPlane, emit2x2, emit4, hsum4, im2colRows, Int8Conv, memoryEnd, packU8, PLANE_OFFSET, requant4, rqMult, RQ_BIAS } from "./int8_common";

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

/** Σ of each of `count` rows of `chunks`·16 bytes (Rp apart) into i32 at xs. */
export function rowSumsU8(col: usize, rp: usize, chunks: i32, count: i32, xs: usize): void {
  for (let i = 0; i < count; i++) {
    const a = col + <usize>i * rp;
    let total = i32x4.splat(0);
    for (let c0 = 0; c0 < chunks; c0 += RUN) {
      const c1 = min(chunks, c0 + RUN);
      let s = i16x8.splat(0);
      for (let o = <usize>c0 << 4, e = <usize>c1 << 4; o < e; o += 16) s = i16x8.add(s, i16x8.extadd_pairwise_i8x16_u(v128.load(a + o)));
      total = i32x4.add(total, widen(s));
    }
    store<i32>(xs + (<usize>i << 2), i32x4.extract_lane(total, 0) + i32x4.extract_lane(total, 1) + i32x4.extract_lane(total, 2) + i32x4.extract_lane(total, 3));
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
  const x = <usize>s.x, w = <usize>s.w, out = <usize>s.out, rq = <usize>s.rq;
  store<i32>(slot, -1); // no image in the plane yet
  if (directC1(s)) {
    adderConvDirectC1(s, slot, start, end);
    return;
  }
  if (isDepthwise(s)) {
    adderDepthwiseU8(s, slot, start, end);
    return;
  }
  const col = slot + PLANE_OFFSET + <usize>s.planeBytes;
  const memEnd = memoryEnd();
  const rp = <usize>s.Rp;
  const chunks = s.Rp >> 4;
  const K = s.K, Kg = s.Kg, KgP = s.KgP;
  // Σx of the block's rows after the block and its 64 bytes of slack; Σw after the weight rows
  const xs = col + <usize>s.block * rp + 64;
  const wsums = w + <usize>(s.G * KgP) * rp;
  const esz: usize = rq == 0 ? 4 : 1;
  const ldo = <usize>K * esz;
  for (let p0 = start; p0 < end; p0 += s.block) {
    const count = min(s.block, end - p0);
    for (let g = 0; g < s.G; g++) {
      im2colRows(x, s, g, p0, count, slot, col, memEnd);
      rowSumsU8(col, rp, chunks, count, xs);
      const wg = w + <usize>(g * KgP) * rp;
      const wsg = wsums + (<usize>(g * KgP) << 2);
      if (count == 1) {
        for (let kq = 0; kq < KgP; kq += 4) {
          const k = g * Kg + kq;
          tile1x4(col, wg + <usize>kq * rp, rp, chunks, out + (<usize>p0 * K + k) * esz, min(4, KgP - kq), min(4, Kg - kq), rq, k, xs, wsg + (<usize>kq << 2));
        }
        continue;
      }
      let kq = 0;
      for (; kq + 4 <= KgP; kq += 4) {
        const k = g * Kg + kq, nk = min(4, Kg - kq);
        tile2x4(col, wg + <usize>kq * rp, rp, chunks, out + (<usize>p0 * K + k) * esz, ldo, count, nk, rq, k, xs, wsg + (<usize>kq << 2));
      }
      if (kq < KgP) {
        const k = g * Kg + kq, nk = min(2, Kg - kq);
        tile4x2(col, wg + <usize>kq * rp, rp, chunks, out + (<usize>p0 * K + k) * esz, ldo, count, nk, rq, k, xs, wsg + (<usize>kq << 2));
      }
    }
  }
}

// ---- one input channel (LeNet's conv1): no im2col ----
//
// With C = 1 an im2col row holds only kh·kw taps (25, padded to 32) and the per-position work
// (im2col, the horizontal sums, the requantization of 4 channels) outweighed the SADs. Here 16
// output positions of one row sit in the vector lanes instead: each weight is a splat, the
// input vector for tap (ki, kj) is one unaligned load from the padded plane, and |x − w| widens
// into u16 lanes (kh·kw ≤ 257, so 257·255 < 2^16), one accumulator pair per channel.

/** The direct path applies: one channel, no groups, unit stride and dilation along W, u16-safe sums. */
// @ts-ignore: decorator
@inline function directC1(s: Int8Conv): bool {
  return s.C == 1 && s.G == 1 && s.sw == 1 && s.dw == 1 && s.planeBytes != 0 && s.R <= 257;
}

// @ts-ignore: decorator
@inline function sadLo(acc: v128, d: v128): v128 {
  return i16x8.add(acc, i16x8.extend_low_i8x16_u(d));
}
// @ts-ignore: decorator
@inline function sadHi(acc: v128, d: v128): v128 {
  return i16x8.add(acc, i16x8.extend_high_i8x16_u(d));
}
// @ts-ignore: decorator
@inline function absDiff(a: v128, b: v128): v128 {
  return v128.or(i8x16.sub_sat_u(a, b), i8x16.sub_sat_u(b, a));
}

/**
 * Channel k's sums for `count` (1–16) positions, u16 lanes lo (positions 0–7) and hi (8–15),
 * to out: i32 at dst, dst + 4K, … (rq == 0) or requantized u8 at dst, dst + K, ….
 */
function emitC1(lo: v128, hi: v128, dst: usize, K: i32, count: i32, rq: usize, k: i32, tmp: usize): void {
  const q0 = i32x4.extend_low_i16x8_u(lo), q1 = i32x4.extend_high_i16x8_u(lo);
  const q2 = i32x4.extend_low_i16x8_u(hi), q3 = i32x4.extend_high_i16x8_u(hi);
  if (rq == 0) {
    v128.store(tmp, q0); v128.store(tmp, q1, 16); v128.store(tmp, q2, 32); v128.store(tmp, q3, 48);
    const step = <usize>K << 2;
    for (let i = 0; i < count; i++) store<i32>(dst + <usize>i * step, load<i32>(tmp + (<usize>i << 2)));
    return;
  }
  const bias = v128.load32_splat(rq + RQ_BIAS + (<usize>k << 2));
  const m = v128.load64_splat(rqMult(rq) + (<usize>k << 3));
  const r0 = requant4(q0, bias, m, m, rq), r1 = requant4(q1, bias, m, m, rq);
  const r2 = requant4(q2, bias, m, m, rq), r3 = requant4(q3, bias, m, m, rq);
  const v = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(r0, r1), i16x8.narrow_i32x4_u(r2, r3));
  const st = <usize>K;
  if (count == 16) {
    v128.store8_lane(dst, v, 0); v128.store8_lane(dst + st, v, 1); v128.store8_lane(dst + 2 * st, v, 2); v128.store8_lane(dst + 3 * st, v, 3);
    v128.store8_lane(dst + 4 * st, v, 4); v128.store8_lane(dst + 5 * st, v, 5); v128.store8_lane(dst + 6 * st, v, 6); v128.store8_lane(dst + 7 * st, v, 7);
    v128.store8_lane(dst + 8 * st, v, 8); v128.store8_lane(dst + 9 * st, v, 9); v128.store8_lane(dst + 10 * st, v, 10); v128.store8_lane(dst + 11 * st, v, 11);
    v128.store8_lane(dst + 12 * st, v, 12); v128.store8_lane(dst + 13 * st, v, 13); v128.store8_lane(dst + 14 * st, v, 14); v128.store8_lane(dst + 15 * st, v, 15);
    return;
  }
  v128.store(tmp, v);
  for (let i = 0; i < count; i++) store<u8>(dst + <usize>i * st, load<u8>(tmp + i));
}

/** Positions [start, end) of a C = 1 conv through the padded plane, 16 positions of a row at a time. */
function adderConvDirectC1(s: Int8Conv, slot: usize, start: i32, end: i32): void {
  const x = <usize>s.x, w = <usize>s.w, out = <usize>s.out, rq = <usize>s.rq;
  const memEnd = memoryEnd();
  const plane = slot + PLANE_OFFSET;
  const tmp = plane + <usize>s.planeBytes; // the unused im2col block: 64 bytes for partial stores
  const pitch = <usize>(s.W + 2 * s.pw);
  const rowStep = <usize>s.dh * pitch;
  const K = s.K, KgP = s.KgP, kh = s.kh, kw = s.kw, OW = s.OW, OH = s.OH;
  const rp = <usize>s.Rp;
  const esz: usize = rq == 0 ? 4 : 1;
  const pixelsPerImage = OH * OW;
  let held = -1;
  let p = start;
  while (p < end) {
    const n = p / pixelsPerImage, rest = p - n * pixelsPerImage;
    const oh = rest / OW, ow = rest - oh * OW;
    const count = min(16, min(OW - ow, end - p));
    if (held != n) {
      buildPlane(x, s, n, plane, pitch, memEnd);
      held = n;
    }
    const src = plane + <usize>(oh * s.sh) * pitch + <usize>ow;
    const dst = out + <usize>p * K * esz;
    let kq = 0;
    for (; kq + 4 <= KgP; kq += 4) {
      const w0 = w + <usize>kq * rp, w1 = w0 + rp, w2 = w1 + rp, w3 = w2 + rp;
      let l0 = i16x8.splat(0), h0 = i16x8.splat(0), l1 = i16x8.splat(0), h1 = i16x8.splat(0);
      let l2 = i16x8.splat(0), h2 = i16x8.splat(0), l3 = i16x8.splat(0), h3 = i16x8.splat(0);
      let t: usize = 0, r = src;
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          const a = v128.load(r + <usize>kj);
          let d = absDiff(a, v128.load8_splat(w0 + t));
          l0 = sadLo(l0, d); h0 = sadHi(h0, d);
          d = absDiff(a, v128.load8_splat(w1 + t));
          l1 = sadLo(l1, d); h1 = sadHi(h1, d);
          d = absDiff(a, v128.load8_splat(w2 + t));
          l2 = sadLo(l2, d); h2 = sadHi(h2, d);
          d = absDiff(a, v128.load8_splat(w3 + t));
          l3 = sadLo(l3, d); h3 = sadHi(h3, d);
          t++;
        }
        r += rowStep;
      }
      const nk = min(4, K - kq);
      const d0 = dst + <usize>kq * esz;
      emitC1(l0, h0, d0, K, count, rq, kq, tmp);
      if (nk > 1) emitC1(l1, h1, d0 + esz, K, count, rq, kq + 1, tmp);
      if (nk > 2) emitC1(l2, h2, d0 + 2 * esz, K, count, rq, kq + 2, tmp);
      if (nk > 3) emitC1(l3, h3, d0 + 3 * esz, K, count, rq, kq + 3, tmp);
    }
    if (kq < KgP) {
      // the last two rows (KgP is even; a row past K is zeros and is not stored)
      const w0 = w + <usize>kq * rp, w1 = w0 + rp;
      let l0 = i16x8.splat(0), h0 = i16x8.splat(0), l1 = i16x8.splat(0), h1 = i16x8.splat(0);
      let t: usize = 0, r = src;
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          const a = v128.load(r + <usize>kj);
          let d = absDiff(a, v128.load8_splat(w0 + t));
          l0 = sadLo(l0, d); h0 = sadHi(h0, d);
          d = absDiff(a, v128.load8_splat(w1 + t));
          l1 = sadLo(l1, d); h1 = sadHi(h1, d);
          t++;
        }
        r += rowStep;
      }
      const d0 = dst + <usize>kq * esz;
      emitC1(l0, h0, d0, K, count, rq, kq, tmp);
      if (K - kq > 1) emitC1(l1, h1, d0 + esz, K, count, rq, kq + 1, tmp);
    }
    p += count;
  }
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
