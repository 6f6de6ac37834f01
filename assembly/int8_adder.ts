// int8 AdderNet kernels for deployment: out = Σ |x − w| over u8 activations and u8 weights (the
// layer's shared scale and zero point make both u8 on one grid; see src/kernels/reference/int8.ts).
//
//   |a − b| = sub_sat_u(a, b) | sub_sat_u(b, a)      (one of the two is 0)
//   16 |a − b| bytes → 8 u16 pair sums (extadd_pairwise) → added into u16 accumulators
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
import { emit2x2, emit4, hsum4, im2colRows, Int8Conv, memoryEnd, PLANE_OFFSET } from "./int8_common";

/** Chunks of 16 bytes per u16 accumulation run. */
const RUN: i32 = 64;

// @ts-ignore: decorator
@inline function sad(acc: v128, a: v128, b: v128): v128 {
  const d = v128.or(i8x16.sub_sat_u(a, b), i8x16.sub_sat_u(b, a));
  return i16x8.add(acc, i16x8.extadd_pairwise_i8x16_u(d));
}

// @ts-ignore: decorator
@inline function widen(acc16: v128): v128 {
  return i32x4.dot_i16x8_s(acc16, i16x8.splat(1));
}

/**
 * `count` im2col rows from col (Rp bytes apart), two at a time, × weight rows w .. w + 3·Rp over
 * `chunks` 16-byte chunks; emits channels k..k+nk−1 of each position (the first at dst0, ldo apart).
 */
function tile2x4(col: usize, w: usize, rp: usize, chunks: i32, dst0: usize, ldo: usize, count: i32, nk: i32, rq: usize, k: i32): void {
  const w1 = w + rp, w2 = w + 2 * rp, w3 = w + 3 * rp;
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
        s00 = sad(s00, x0, v0); s10 = sad(s10, x1, v0);
        const v1 = v128.load(w1 + o);
        s01 = sad(s01, x0, v1); s11 = sad(s11, x1, v1);
        const v2 = v128.load(w2 + o);
        s02 = sad(s02, x0, v2); s12 = sad(s12, x1, v2);
        const v3 = v128.load(w3 + o);
        s03 = sad(s03, x0, v3); s13 = sad(s13, x1, v3);
      }
      t0 = i32x4.add(t0, hsum4(widen(s00), widen(s01), widen(s02), widen(s03)));
      t1 = i32x4.add(t1, hsum4(widen(s10), widen(s11), widen(s12), widen(s13)));
    }
    emit4(t0, dst, nk, rq, k);
    if (np > 1) emit4(t1, dst + ldo, nk, rq, k);
  }
}

/** As tile2x4, four rows at a time × weight rows w, w + Rp: channels k, k+1 (nk valid). */
function tile4x2(col: usize, w: usize, rp: usize, chunks: i32, dst0: usize, ldo: usize, count: i32, nk: i32, rq: usize, k: i32): void {
  const w1 = w + rp;
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
        s00 = sad(s00, x0, v0); s01 = sad(s01, x0, v1);
        const x1 = v128.load(a1 + o);
        s10 = sad(s10, x1, v0); s11 = sad(s11, x1, v1);
        const x2 = v128.load(a2 + o);
        s20 = sad(s20, x2, v0); s21 = sad(s21, x2, v1);
        const x3 = v128.load(a3 + o);
        s30 = sad(s30, x3, v0); s31 = sad(s31, x3, v1);
      }
      t01 = i32x4.add(t01, hsum4(widen(s00), widen(s01), widen(s10), widen(s11)));
      t23 = i32x4.add(t23, hsum4(widen(s20), widen(s21), widen(s30), widen(s31)));
    }
    emit2x2(t01, dst, dst + ldo, nk, np, rq, k);
    emit2x2(t23, dst + 2 * ldo, dst + 3 * ldo, nk, np - 2, rq, k);
  }
}

/**
 * One im2col row × 4 weight rows (or 2: `rows`), for a block of a single position (a linear layer
 * at batch 1), where the 2-row tiles would waste half their work on a stale row.
 */
function tile1x4(a: usize, w: usize, rp: usize, chunks: i32, dst: usize, rows: i32, nk: i32, rq: usize, k: i32): void {
  const w1 = w + rp, w2 = rows > 2 ? w + 2 * rp : w, w3 = rows > 2 ? w + 3 * rp : w1;
  let t = i32x4.splat(0);
  for (let c0 = 0; c0 < chunks; c0 += RUN) {
    const c1 = min(chunks, c0 + RUN);
    let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
    for (let o = <usize>c0 << 4, e = <usize>c1 << 4; o < e; o += 16) {
      const x = v128.load(a + o);
      s0 = sad(s0, x, v128.load(w + o)); s1 = sad(s1, x, v128.load(w1 + o));
      s2 = sad(s2, x, v128.load(w2 + o)); s3 = sad(s3, x, v128.load(w3 + o));
    }
    t = i32x4.add(t, hsum4(widen(s0), widen(s1), widen(s2), widen(s3)));
  }
  emit4(t, dst, nk, rq, k);
}

/**
 * Σ|x − w| for output positions [start, end) of an NHWC conv (s: Int8Conv block), weights as
 * prepared by src/kernels/int8.ts: per group KgP rows of Rp bytes. With rq == 0 out is i32
 * [N][OH][OW][K]; otherwise the accumulators are requantized (block at rq) into u8 out.
 */
export function adderConvU8(shape: usize, start: i32, end: i32): void {
  const s = changetype<Int8Conv>(shape);
  const x = <usize>s.x, w = <usize>s.w, out = <usize>s.out, rq = <usize>s.rq;
  const slot = threadSlot(<usize>s.scratch, s.slotBytes);
  store<i32>(slot, -1); // no image in the plane yet
  const col = slot + PLANE_OFFSET + <usize>s.planeBytes;
  const memEnd = memoryEnd();
  const rp = <usize>s.Rp;
  const chunks = s.Rp >> 4;
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
          tile1x4(col, wg + <usize>kq * rp, rp, chunks, out + (<usize>p0 * K + k) * esz, min(4, KgP - kq), min(4, Kg - kq), rq, k);
        }
        continue;
      }
      let kq = 0;
      for (; kq + 4 <= KgP; kq += 4) {
        const k = g * Kg + kq, nk = min(4, Kg - kq);
        tile2x4(col, wg + <usize>kq * rp, rp, chunks, out + (<usize>p0 * K + k) * esz, ldo, count, nk, rq, k);
      }
      if (kq < KgP) {
        const k = g * Kg + kq, nk = min(2, Kg - kq);
        tile4x2(col, wg + <usize>kq * rp, rp, chunks, out + (<usize>p0 * K + k) * esz, ldo, count, nk, rq, k);
      }
    }
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
