// Integer shift conv/linear for deployment: out = Σ sign·(x << shift) over every tap, u8 NHWC
// activations, weights w = sign·2^shift. The inner loop only adds and subtracts; shifts happen
// once per (output channel, group of shift planes, tile), plus one i16 Horner shift per plane.
//
// Why lanes run over output positions: a WASM shift takes one count for the whole vector, so a
// vector must hold values that meet the SAME weight. Each output channel's weights are compiled
// (src/kernels/int8_shift.ts) into a "program": its nonzero taps grouped into planes of equal
// shift, each plane a list of + taps and − taps given as byte offsets into a lane-major copy of
// the input. Over a tile of 32 positions the kernel sums a plane's taps in i16 vectors; planes
// from the largest shift down are merged into one i16 group sum by Horner steps
// (acc = (acc << d) + next plane) while 255·Σ 2^(shift − base) ≤ 128·255 < 2^15 keeps the sum
// exact; then the group is sign-extended to i32, shifted by its base once and added. Zero
// weights are not in the program at all.
//
// Three lane-major layouts of the input (built by the layout kernels below, padding filled with
// the pad value), chosen per call by the TS side:
//   batch   [block of 32 images][Hp][Wp][C][32 lanes] i16: lanes are images; any stride/dilation
//   planes  [image][C][sH][sW][Hq][Wq] i16: polyphase planes, lanes are consecutive positions
//           q = oh·Wq + ow of one image (columns ow ≥ OW are computed and dropped)
//   scalar  [image][Hp][Wp][C] u8 (or x itself when unpadded): one position at a time, for tiny
//           position counts such as a linear layer at batch 1
// Program per output channel k (i32 words; the block starts with K byte offsets, one per channel,
// relative to the block): nGroups, then per group: base shift, nSteps, and per step: Horner
// shift d (0 for the first), nPlus, nMinus, nPlus + nMinus tap offsets.
//
// Arithmetic is i32 modulo 2^32, like the reference's Int32Array accumulation, so the result is
// bit-exact for any weights. Every work item writes its own outputs: results do not depend on the
// thread count.
import { threadSlot } from "./gemm";
import { packU8, requant4, RQ_BIAS, RQ_BIAS_BITS, RQ_HI, RQ_LO, RQ_MAGIC, rqMult } from "./int8_common";

const LANES: i32 = 32;

// Fields of the parameter block (i32), mirrored in src/kernels/int8_shift.ts.
const F_N = 0, F_C = 1, F_H = 2, F_W = 3, F_K = 4, F_OH = 5, F_OW = 6, F_SH = 7, F_SW = 8;
const F_PADH = 9, F_PADW = 10, F_HL = 11, F_WL = 12, F_IMG = 13, F_PADV = 14, F_TILES = 15;

// @ts-ignore: decorator
@inline function field(p: usize, f: i32): i32 {
  return load<i32>(p + (<usize>f << 2));
}

// ---- layouts ----

/** Items are blocks of 32 images: dst[b][ih][iw][c][lane] = x[b·32 + lane] at (ih − padH, iw − padW, c). */
export function shiftLayoutBatchU8(x: usize, dst: usize, p: usize, start: i32, end: i32): void {
  const N = field(p, F_N), C = field(p, F_C), H = field(p, F_H), W = field(p, F_W);
  const padH = field(p, F_PADH), padW = field(p, F_PADW), Hp = field(p, F_HL), Wp = field(p, F_WL);
  const pad = <u16>field(p, F_PADV);
  const img = <usize>(H * W * C);
  for (let b = start; b < end; b++) {
    const lanes = min(LANES, N - b * LANES);
    let d = dst + (<usize>b * <usize>field(p, F_IMG) << 1);
    for (let ih = 0; ih < Hp; ih++) {
      const h = ih - padH;
      for (let iw = 0; iw < Wp; iw++) {
        const w = iw - padW;
        const inside = h >= 0 && h < H && w >= 0 && w < W;
        let src = x + <usize>b * LANES * img + <usize>((h * W + w) * C);
        for (let c = 0; c < C; c++) {
          if (inside) {
            let s = src + <usize>c;
            for (let j = 0; j < lanes; j++) {
              store<u16>(d + (<usize>j << 1), load<u8>(s));
              s += img;
            }
            for (let j = lanes; j < LANES; j++) store<u16>(d + (<usize>j << 1), pad);
          } else {
            const v = i16x8.splat(pad);
            v128.store(d, v); v128.store(d, v, 16); v128.store(d, v, 32); v128.store(d, v, 48);
          }
          d += LANES << 1;
        }
      }
    }
  }
}

/** Items are images: dst[n][c][ph][pw][i][j] = x[n] at (i·sH + ph − padH, j·sW + pw − padW, c). */
export function shiftLayoutPlanesU8(x: usize, dst: usize, p: usize, start: i32, end: i32): void {
  const C = field(p, F_C), H = field(p, F_H), W = field(p, F_W), sH = field(p, F_SH), sW = field(p, F_SW);
  const padH = field(p, F_PADH), padW = field(p, F_PADW), Hq = field(p, F_HL), Wq = field(p, F_WL);
  const pad = <u16>field(p, F_PADV);
  for (let n = start; n < end; n++) {
    const src = x + <usize>n * <usize>(H * W * C);
    let d = dst + (<usize>n * <usize>field(p, F_IMG) << 1);
    for (let c = 0; c < C; c++) {
      for (let ph = 0; ph < sH; ph++) {
        for (let pw = 0; pw < sW; pw++) {
          for (let i = 0; i < Hq; i++) {
            const h = i * sH + ph - padH;
            const rowInside = h >= 0 && h < H;
            for (let j = 0; j < Wq; j++) {
              const w = j * sW + pw - padW;
              const v = rowInside && w >= 0 && w < W ? <u16>load<u8>(src + <usize>((h * W + w) * C + c)) : pad;
              store<u16>(d, v);
              d += 2;
            }
          }
        }
      }
    }
  }
}

/** Items are images: dst[n][ih][iw][c] = x[n] at (ih − padH, iw − padW, c), padValue outside. */
export function shiftLayoutPaddedU8(x: usize, dst: usize, p: usize, start: i32, end: i32): void {
  const C = field(p, F_C), H = field(p, F_H), W = field(p, F_W);
  const padH = field(p, F_PADH), padW = field(p, F_PADW), Hp = field(p, F_HL), Wp = field(p, F_WL);
  const pad = <u8>field(p, F_PADV);
  for (let n = start; n < end; n++) {
    const src = x + <usize>n * <usize>(H * W * C);
    let d = dst + <usize>n * <usize>field(p, F_IMG);
    for (let ih = 0; ih < Hp; ih++) {
      const h = ih - padH;
      for (let iw = 0; iw < Wp; iw++) {
        const w = iw - padW;
        if (h >= 0 && h < H && w >= 0 && w < W) memory.copy(d, src + <usize>((h * W + w) * C), <usize>C);
        else memory.fill(d, pad, <usize>C);
        d += <usize>C;
      }
    }
  }
}

// ---- one output channel over one tile ----

/** Runs channel program `prog` over 32 i16 lanes at `base`; stores 32 i32 sums at dst. */
// @ts-ignore: decorator
@inline function channelTile32(base: usize, prog: usize, dst: usize): void {
  let c0 = i32x4.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  const groups = load<i32>(prog);
  let t = prog + 4;
  for (let g = 0; g < groups; g++) {
    const sh = load<i32>(t), steps = load<i32>(t, 4);
    t += 8;
    let a0 = i16x8.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let st = 0; st < steps; st++) {
      const d = load<i32>(t);
      const plusEnd = t + 12 + (<usize>load<i32>(t, 4) << 2);
      const minusEnd = plusEnd + (<usize>load<i32>(t, 8) << 2);
      t += 12;
      if (d) { // Horner step down to this plane's shift
        a0 = i16x8.shl(a0, d); a1 = i16x8.shl(a1, d); a2 = i16x8.shl(a2, d); a3 = i16x8.shl(a3, d);
      }
      // two taps per iteration: half the loop overhead, and two loads in flight per accumulator
      for (; t + 4 < plusEnd; t += 8) {
        const a = base + <usize>load<i32>(t), b = base + <usize>load<i32>(t, 4);
        a0 = i16x8.add(a0, i16x8.add(v128.load(a), v128.load(b)));
        a1 = i16x8.add(a1, i16x8.add(v128.load(a, 16), v128.load(b, 16)));
        a2 = i16x8.add(a2, i16x8.add(v128.load(a, 32), v128.load(b, 32)));
        a3 = i16x8.add(a3, i16x8.add(v128.load(a, 48), v128.load(b, 48)));
      }
      if (t < plusEnd) {
        const a = base + <usize>load<i32>(t);
        a0 = i16x8.add(a0, v128.load(a));
        a1 = i16x8.add(a1, v128.load(a, 16));
        a2 = i16x8.add(a2, v128.load(a, 32));
        a3 = i16x8.add(a3, v128.load(a, 48));
        t += 4;
      }
      for (; t + 4 < minusEnd; t += 8) {
        const a = base + <usize>load<i32>(t), b = base + <usize>load<i32>(t, 4);
        a0 = i16x8.sub(a0, i16x8.add(v128.load(a), v128.load(b)));
        a1 = i16x8.sub(a1, i16x8.add(v128.load(a, 16), v128.load(b, 16)));
        a2 = i16x8.sub(a2, i16x8.add(v128.load(a, 32), v128.load(b, 32)));
        a3 = i16x8.sub(a3, i16x8.add(v128.load(a, 48), v128.load(b, 48)));
      }
      if (t < minusEnd) {
        const a = base + <usize>load<i32>(t);
        a0 = i16x8.sub(a0, v128.load(a));
        a1 = i16x8.sub(a1, v128.load(a, 16));
        a2 = i16x8.sub(a2, v128.load(a, 32));
        a3 = i16x8.sub(a3, v128.load(a, 48));
        t += 4;
      }
    }
    c0 = i32x4.add(c0, i32x4.shl(i32x4.extend_low_i16x8_s(a0), sh));
    c1 = i32x4.add(c1, i32x4.shl(i32x4.extend_high_i16x8_s(a0), sh));
    c2 = i32x4.add(c2, i32x4.shl(i32x4.extend_low_i16x8_s(a1), sh));
    c3 = i32x4.add(c3, i32x4.shl(i32x4.extend_high_i16x8_s(a1), sh));
    c4 = i32x4.add(c4, i32x4.shl(i32x4.extend_low_i16x8_s(a2), sh));
    c5 = i32x4.add(c5, i32x4.shl(i32x4.extend_high_i16x8_s(a2), sh));
    c6 = i32x4.add(c6, i32x4.shl(i32x4.extend_low_i16x8_s(a3), sh));
    c7 = i32x4.add(c7, i32x4.shl(i32x4.extend_high_i16x8_s(a3), sh));
  }
  v128.store(dst, c0); v128.store(dst, c1, 16); v128.store(dst, c2, 32); v128.store(dst, c3, 48);
  v128.store(dst, c4, 64); v128.store(dst, c5, 80); v128.store(dst, c6, 96); v128.store(dst, c7, 112);
}

/** Runs channel program `prog` at one position of the u8 layout. */
// @ts-ignore: decorator
@inline function channelScalar(base: usize, prog: usize): i32 {
  let acc = 0;
  const groups = load<i32>(prog);
  let t = prog + 4;
  for (let g = 0; g < groups; g++) {
    const sh = load<i32>(t), steps = load<i32>(t, 4);
    t += 8;
    let sum = 0;
    for (let st = 0; st < steps; st++) {
      const plusEnd = t + 12 + (<usize>load<i32>(t, 4) << 2);
      const minusEnd = plusEnd + (<usize>load<i32>(t, 8) << 2);
      sum <<= load<i32>(t);
      t += 12;
      for (; t + 4 < plusEnd; t += 8) sum += <i32>load<u8>(base + <usize>load<i32>(t)) + <i32>load<u8>(base + <usize>load<i32>(t, 4));
      if (t < plusEnd) { sum += <i32>load<u8>(base + <usize>load<i32>(t)); t += 4; }
      for (; t + 4 < minusEnd; t += 8) sum -= <i32>load<u8>(base + <usize>load<i32>(t)) + <i32>load<u8>(base + <usize>load<i32>(t, 4));
      if (t < minusEnd) { sum -= <i32>load<u8>(base + <usize>load<i32>(t)); t += 4; }
    }
    acc += sum << sh;
  }
  return acc;
}

// ---- requantization ----

/**
 * requantizeU8 of one accumulator from the prepared block of src/kernels/int8.ts (RQ_* in
 * int8_common.ts): floor((acc·2^F + bias)·mult·2^−shift + 1/2) in f64, exact under the requantizeU8
 * contract, then + zp and clamped. The multiply is the requantization's (BatchNorm and scale).
 */
// @ts-ignore: decorator
@inline function requant(acc: i32, k: i32, rq: usize): u8 {
  const a = <f64>((acc << load<i32>(rq, RQ_BIAS_BITS)) + load<i32>(rq + RQ_BIAS + (<usize>k << 2)));
  let r = Math.floor(a * load<f64>(rqMult(rq) + (<usize>k << 3)) + 0.5);
  const lo = load<f64>(rq + RQ_LO), hi = load<f64>(rq + RQ_HI); // lo − zp, hi − zp
  r = r < lo ? lo : r > hi ? hi : r;
  return <u8><i32>(r + (load<f64>(rq + RQ_MAGIC) - 4503599627370496.0)); // + zp
}

// @ts-ignore: decorator
@inline function put(out: usize, index: i32, acc: i32, k: i32, rq: usize): void {
  if (rq == 0) store<i32>(out + (<usize>index << 2), acc);
  else store<u8>(out + <usize>index, requant(acc, k, rq));
}

/** Requantize the 32 lanes of channel k in the i32 tile row `src` to 32 bytes at dst (one channel: one set of parameters). */
// @ts-ignore: decorator
@inline function requantRow32(src: usize, dst: usize, k: i32, rq: usize): void {
  const bias = i32x4.splat(load<i32>(rq + RQ_BIAS + (<usize>k << 2)));
  const m = f64x2.splat(load<f64>(rqMult(rq) + (<usize>k << 3)));
  for (let v: usize = 0; v < 128; v += 16) {
    v128.store32_lane(dst + (v >> 2), packU8(requant4(v128.load(src + v), bias, m, m, rq)), 0);
  }
}

// ---- conv kernels ----

/**
 * Batch or planes layout (batch when `batch` != 0). Items: batch = (block, oh, ow); planes =
 * (image, tile of 32 positions). out is i32 accumulators, or u8 requantized when rq (a prepared
 * requantization block) != 0.
 */
export function shiftConvLanesU8(
  batch: i32, xl: usize, prog: usize, out: usize, p: usize, rq: usize,
  scratch: usize, slotBytes: i32, start: i32, end: i32,
): void {
  const tile = threadSlot(scratch, slotBytes);
  const N = field(p, F_N), C = field(p, F_C), K = field(p, F_K), OH = field(p, F_OH), OW = field(p, F_OW);
  const sH = field(p, F_SH), sW = field(p, F_SW), Wl = field(p, F_WL), img = <usize>field(p, F_IMG), T = field(p, F_TILES);
  const P = OH * OW;
  const bytes = tile + (<usize>K << 7); // requantized tile [K][32] u8 after the i32 tile [K][32]
  for (let item = start; item < end; item++) {
    let base: usize;
    let b = 0, pos = 0, n = 0, q0 = 0;
    if (batch) {
      b = item / P;
      pos = item - b * P;
      const oh = pos / OW, ow = pos - oh * OW;
      base = xl + ((<usize>b * img + <usize>((oh * sH * Wl + ow * sW) * C * LANES)) << 1);
    } else {
      n = item / T;
      q0 = (item - n * T) * LANES;
      base = xl + ((<usize>n * img + <usize>q0) << 1);
    }
    for (let k = 0; k < K; k++) {
      const row = tile + (<usize>k << 7);
      channelTile32(base, prog + <usize>load<i32>(prog + (<usize>k << 2)), row);
      if (rq) requantRow32(row, bytes + (<usize>k << 5), k, rq);
    }
    for (let j = 0; j < LANES; j++) {
      let o: i32;
      if (batch) {
        const image = b * LANES + j;
        if (image >= N) break;
        o = (image * P + pos) * K;
      } else {
        const q = q0 + j, oh = q / Wl, ow = q - oh * Wl;
        if (oh >= OH) break;
        if (ow >= OW) continue;
        o = ((n * OH + oh) * OW + ow) * K;
      }
      if (rq) {
        for (let k = 0; k < K; k++) store<u8>(out + <usize>(o + k), load<u8>(bytes + <usize>(k * LANES + j)));
      } else {
        for (let k = 0; k < K; k++) store<i32>(out + (<usize>(o + k) << 2), load<i32>(tile + (<usize>(k * LANES + j) << 2)));
      }
    }
  }
}

/** Scalar layout; items are output positions (n, oh, ow). */
export function shiftConvScalarU8(xl: usize, prog: usize, out: usize, p: usize, rq: usize, start: i32, end: i32): void {
  const C = field(p, F_C), K = field(p, F_K), OH = field(p, F_OH), OW = field(p, F_OW);
  const sH = field(p, F_SH), sW = field(p, F_SW), Wl = field(p, F_WL), img = <usize>field(p, F_IMG);
  const P = OH * OW;
  for (let item = start; item < end; item++) {
    const n = item / P, pos = item - n * P, oh = pos / OW, ow = pos - oh * OW;
    const base = xl + <usize>n * img + <usize>((oh * sH * Wl + ow * sW) * C);
    const o = item * K;
    for (let k = 0; k < K; k++) put(out, o + k, channelScalar(base, prog + <usize>load<i32>(prog + (<usize>k << 2))), k, rq);
  }
}
