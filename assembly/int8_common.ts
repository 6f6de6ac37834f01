// Shared pieces of the int8 deployment kernels (int8_adder.ts, int8_mul.ts, int8_ops.ts): the
// geometry block, NHWC im2col into padded rows, the transposed reduction of tile accumulators,
// the requantization of four channels, and partial vector loads and stores.
//
// Not re-exported from index.ts: these take and return v128, which cannot cross the JS boundary.

/** Convolution geometry and buffers, written as 32 i32 by src/kernels/int8.ts in this order. */
// @ts-ignore: decorator
@unmanaged export class Int8Conv {
  N: i32; C: i32; H: i32; W: i32; K: i32;
  kh: i32; kw: i32; sh: i32; sw: i32; ph: i32; pw: i32; dh: i32; dw: i32;
  G: i32; OH: i32; OW: i32;
  /** channels per group, in and out */
  Cg: i32; Kg: i32;
  /** prepared weight rows per group: Kg rounded up to even (the extra row is zeros, never stored) */
  KgP: i32;
  /** taps per output: kh·kw·Cg */
  R: i32;
  /** im2col row length in elements: R rounded up to the vector width (16 u8 or 8 i16), pad = 0 */
  Rp: i32;
  /** the activation zero point, taken by padded taps */
  padValue: i32;
  /** output positions per im2col block, a multiple of 4 */
  block: i32;
  /** 1: im2col rows hold i16 (multiply kernels), 0: u8 (adder kernels) */
  wide: i32;
  /** bytes of the thread slot reserved for a padded copy of one image; 0: no copy (im2colRowsNHWC) */
  planeBytes: i32;
  /** the call's buffers (byte addresses) and per-thread scratch: kept here so a call passes one argument */
  x: i32; w: i32; out: i32;
  /** the requantization block, or 0 for raw i32 accumulators */
  rq: i32;
  scratch: i32; slotBytes: i32;
  /** 1: a 2×2 stride-2 max pool follows, fused (adder kernels but depthwise; out is pooled) */
  pool: i32;
}

/**
 * Byte address of a layer's second weight layout, prepared by src/kernels/int8.ts after the G·KgP
 * rows of Rp bytes and their G·KgP + 4 i32 sums: the depthwise kernel's tap-major copy or the lanes
 * tiles' interleaved pairs (never both: a depthwise layer has one channel per group).
 */
// @ts-ignore: decorator
@inline export function extraWeights(s: Int8Conv): usize {
  const rows = <usize>(s.G * s.KgP);
  return <usize>s.w + rows * <usize>s.Rp + ((rows + 4) << 2);
}

/** Thread slot layout: [64 bytes: the image held in the plane][plane: planeBytes][im2col block]. */
export const PLANE_OFFSET: usize = 64;

// ---- partial loads and stores ----

/** The first n (0–16) bytes of v at p, nothing past them. */
// @ts-ignore: decorator
@inline export function storeBytes(p: usize, v: v128, n: i32): void {
  if (n >= 16) {
    v128.store(p, v);
    return;
  }
  if (n & 8) {
    v128.store64_lane(p, v, 0);
    v = i64x2.shuffle(v, v, 1, 1);
    p += 8;
  }
  if (n & 4) {
    v128.store32_lane(p, v, 0);
    v = i64x2.shr_u(v, 32);
    p += 4;
  }
  if (n & 2) {
    v128.store16_lane(p, v, 0);
    v = i64x2.shr_u(v, 16);
    p += 2;
  }
  if (n & 1) v128.store8_lane(p, v, 0);
}

/** 16 bytes at p where at least the first n are meaningful; never reads past `end` (memory's end). */
export function loadBytes(p: usize, n: i32, end: usize): v128 {
  if (p + 16 <= end) return v128.load(p);
  let lo: u64 = 0, hi: u64 = 0;
  for (let i = 0; i < n && i < 8; i++) lo |= (<u64>load<u8>(p + i)) << (<u64>i << 3);
  for (let i = 8; i < n && i < 16; i++) hi |= (<u64>load<u8>(p + i)) << (<u64>(i - 8) << 3);
  return i64x2.replace_lane(i64x2.splat(lo), 1, hi);
}

/** Bytes of linear memory; no kernel reads at or past this. */
// @ts-ignore: decorator
@inline export function memoryEnd(): usize {
  return <usize>memory.size() << 16;
}

// ---- im2col of NHWC patches ----

/**
 * Copy n bytes src → dst (u8 rows) or widen them to n i16 (wide rows). Whole vectors are written,
 * so up to 15 bytes past the copy are clobbered: callers write a row's pieces in increasing order.
 */
// @ts-ignore: decorator
@inline function copyPiece(dst: usize, src: usize, n: i32, wide: bool, end: usize): void {
  if (wide) {
    if (src + ((<usize>n + 7) & ~7) <= end) {
      for (let o = 0; o < n; o += 8) v128.store(dst + (<usize>o << 1), v128.load8x8_u(src + o));
    } else {
      for (let o = 0; o < n; o++) store<u16>(dst + (<usize>o << 1), load<u8>(src + o));
    }
  } else if (src + ((<usize>n + 15) & ~15) <= end) {
    for (let o = 0; o < n; o += 16) v128.store(dst + o, v128.load(src + o));
  } else {
    memory.copy(dst, src, n);
  }
}

/** Fill n elements with the pad value (`pad` is its u8 or i16 splat), whole vectors as copyPiece. */
// @ts-ignore: decorator
@inline function fillPiece(dst: usize, pad: v128, n: i32, wide: bool): void {
  const bytes = wide ? n << 1 : n;
  for (let o = 0; o < bytes; o += 16) v128.store(dst + o, pad);
}

/**
 * Rows [pos0, pos0 + count) of group g's im2col: row i holds the patch of output position
 * pos0 + i (positions index [N][OH][OW]) in (ki, kj, c) order, padded taps taking padValue,
 * then zeros up to Rp. Rows are Rp elements apart; the buffer needs 16 bytes of slack at its end.
 */
export function im2colRowsNHWC(x: usize, s: Int8Conv, g: i32, pos0: i32, count: i32, col: usize, end: usize): void {
  const wide = s.wide != 0;
  const esz: usize = wide ? 2 : 1;
  const rowBytes = <usize>s.Rp * esz;
  const pad = wide ? i16x8.splat(<i16>s.padValue) : i8x16.splat(<i8>s.padValue);
  const C = s.C, Cg = s.Cg, W = s.W, H = s.H, kh = s.kh, kw = s.kw;
  const seg = kw * Cg;
  // one piece per kernel row when the row's taps are contiguous in x
  const contiguous = s.dw == 1 && Cg == C;
  const pixelsPerImage = s.OH * s.OW;
  let n = pos0 / pixelsPerImage;
  let rest = pos0 - n * pixelsPerImage;
  let oh = rest / s.OW;
  let ow = rest - oh * s.OW;
  const xg = x + <usize>g * Cg;
  for (let i = 0; i < count; i++) {
    const row = col + <usize>i * rowBytes;
    let dst = row;
    const iw0 = ow * s.sw - s.pw;
    const rowInside = iw0 >= 0 && iw0 + (kw - 1) * s.dw < W;
    for (let ki = 0; ki < kh; ki++) {
      const ih = oh * s.sh - s.ph + ki * s.dh;
      if (ih < 0 || ih >= H) {
        fillPiece(dst, pad, seg, wide);
      } else {
        const xrow = xg + (<usize>(n * H + ih) * W) * C;
        if (contiguous && rowInside) {
          copyPiece(dst, xrow + <usize>iw0 * C, seg, wide, end);
        } else {
          for (let kj = 0; kj < kw; kj++) {
            const iw = iw0 + kj * s.dw;
            const d = dst + <usize>(kj * Cg) * esz;
            if (iw < 0 || iw >= W) fillPiece(d, pad, Cg, wide);
            else copyPiece(d, xrow + <usize>iw * C, Cg, wide, end);
          }
        }
      }
      dst += <usize>seg * esz;
    }
    // zeros from R to Rp (the prepared weights hold zeros there too, so padding adds 0)
    v128.store(row + <usize>s.R * esz, i64x2.splat(0));
    if (++ow == s.OW) {
      ow = 0;
      if (++oh == s.OH) {
        oh = 0;
        n++;
      }
    }
  }
}

/**
 * As im2colRowsNHWC for groups = 1 and dilationW = 1, through a padded copy of the image in the
 * thread slot (rebuilt when the block reaches another image): every kernel row of a patch is then
 * one contiguous piece of kw·C bytes, copied with no bounds logic. LeNet's conv1 (C = 1) spent
 * more time in im2col's bounds logic than in the SADs before this.
 */
export function im2colRowsPlane(x: usize, s: Int8Conv, pos0: i32, count: i32, slot: usize, col: usize, end: usize): void {
  const wide = s.wide != 0;
  const esz: usize = wide ? 2 : 1;
  const rowBytes = <usize>s.Rp * esz;
  const plane = slot + PLANE_OFFSET;
  const C = s.C, kh = s.kh;
  const pitch = <usize>(s.W + 2 * s.pw) * C;
  const seg = s.kw * C;
  const pieceStep = <usize>s.dh * pitch, pieceBytes = <usize>seg * esz;
  const stepW = <usize>(s.sw * C);
  const short = seg <= (wide ? 8 : 16);
  const tiny = !wide && seg <= 8;
  const R = <usize>s.R * esz, OW = s.OW, OH = s.OH, sh = s.sh;
  const pixelsPerImage = s.OH * s.OW;
  let n = pos0 / pixelsPerImage;
  let rest = pos0 - n * pixelsPerImage;
  let oh = rest / s.OW;
  let ow = rest - oh * s.OW;
  let src = plane + <usize>(oh * s.sh) * pitch + <usize>ow * stepW;
  let held = load<i32>(slot);
  for (let i = 0; i < count; i++) {
    if (held != n) {
      buildPlane(x, s, n, plane, pitch, end);
      held = n;
      store<i32>(slot, n);
    }
    const row = col + <usize>i * rowBytes;
    let p = src, d = row;
    if (tiny && kh == 5) {
      // LeNet's conv1 (5 rows of 5 bytes), unrolled
      store<u64>(d, load<u64>(p));
      store<u64>(d + pieceBytes, load<u64>(p + pieceStep));
      store<u64>(d + 2 * pieceBytes, load<u64>(p + 2 * pieceStep));
      store<u64>(d + 3 * pieceBytes, load<u64>(p + 3 * pieceStep));
      store<u64>(d + 4 * pieceBytes, load<u64>(p + 4 * pieceStep));
    } else if (tiny) {
      // ≤ 8 bytes per kernel row: one 64-bit move each, no inner loop
      for (let ki = 0; ki < kh; ki++) {
        store<u64>(d, load<u64>(p));
        p += pieceStep;
        d += pieceBytes;
      }
    } else if (!wide && seg <= 32 && seg > 16) {
      // two vectors per kernel row (LeNet's conv2: 30 bytes): no inner loop
      for (let ki = 0; ki < kh; ki++) {
        v128.store(d, v128.load(p));
        v128.store(d, v128.load(p, 16), 16);
        p += pieceStep;
        d += pieceBytes;
      }
    } else if (short) {
      // one vector per kernel row: no inner loop
      for (let ki = 0; ki < kh; ki++) {
        if (wide) v128.store(d, v128.load8x8_u(p));
        else v128.store(d, v128.load(p));
        p += pieceStep;
        d += pieceBytes;
      }
    } else for (let ki = 0; ki < kh; ki++) {
      if (wide) {
        for (let o = 0; o < seg; o += 8) v128.store(d + (<usize>o << 1), v128.load8x8_u(p + o));
      } else {
        for (let o = 0; o < seg; o += 16) v128.store(d + o, v128.load(p + o));
      }
      p += pieceStep;
      d += pieceBytes;
    }
    v128.store(row + R, i64x2.splat(0));
    src += stepW;
    if (++ow == OW) {
      ow = 0;
      if (++oh == OH) {
        oh = 0;
        n++;
      }
      src = plane + <usize>(oh * sh) * pitch;
    }
  }
}

/** Image n of x, padded with padValue: (H + 2ph) rows of `pitch` = (W + 2pw)·C bytes, 16 bytes of slack after. */
export function buildPlane(x: usize, s: Int8Conv, n: i32, plane: usize, pitch: usize, end: usize): void {
  const pad = i8x16.splat(<i8>s.padValue);
  const C = s.C, side = s.pw * C, inner = s.W * C;
  const Hp = s.H + 2 * s.ph;
  for (let r = 0; r < Hp; r++) {
    const ih = r - s.ph;
    const dst = plane + <usize>r * pitch;
    if (ih < 0 || ih >= s.H) {
      fillPiece(dst, pad, <i32>pitch, false);
      continue;
    }
    // left pad, row, right pad: each piece's overrun is overwritten by the next
    fillPiece(dst, pad, side, false);
    copyPiece(dst + side, x + (<usize>(n * s.H + ih) * inner), inner, false, end);
    fillPiece(dst + side + inner, pad, side, false);
  }
}

/** Group g's rows of the im2col block, through the padded plane when the layer has one. */
// @ts-ignore: decorator
@inline export function im2colRows(x: usize, s: Int8Conv, g: i32, pos0: i32, count: i32, slot: usize, col: usize, end: usize): void {
  if (s.planeBytes != 0) im2colRowsPlane(x, s, pos0, count, slot, col, end);
  else im2colRowsNHWC(x, s, g, pos0, count, col, end);
}

// ---- reductions and requantization ----

/** [Σa, Σb, Σc, Σd] of four i32x4 vectors. */
// @ts-ignore: decorator
@inline export function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i64x2.shuffle(ab, cd, 0, 2), i64x2.shuffle(ab, cd, 1, 3));
}

/**
 * Prepared requantization block (built by src/kernels/int8.ts), per channel c:
 *   bias i32 at RQ_BIAS + 4c, m = mult·2^−shift as f64 at rqMult(K) + 8c;
 * three f64 constants: lo − zp, hi − zp, zp + 2^52; and the i32 biasBits F of the layer.
 */
export const RQ_LO: usize = 0;
export const RQ_HI: usize = 8;
export const RQ_MAGIC: usize = 16;
export const RQ_KPAD: usize = 24;
export const RQ_BIAS_BITS: usize = 28;
export const RQ_BIAS: usize = 32;

/**
 * clamp(floor((acc·2^F + bias)·mult / 2^shift + 1/2) + zp, lo, hi) for four lanes, in f64: the
 * product is below 2^52 in magnitude (the requantizeU8 contract) and 2^−shift scales exactly, so
 * every step is exact. The result is the i32x4 of u8 values. `bias` and m01/m23 are the lanes'
 * channel parameters.
 */
// @ts-ignore: decorator
@inline export function requant4(acc: v128, bias: v128, m01: v128, m23: v128, rq: usize): v128 {
  const a = i32x4.add(i32x4.shl(acc, load<i32>(rq, RQ_BIAS_BITS)), bias);
  const half = f64x2.splat(0.5);
  const lo = v128.load64_splat(rq, RQ_LO), hi = v128.load64_splat(rq, RQ_HI), magic = v128.load64_splat(rq, RQ_MAGIC);
  let f0 = f64x2.floor(f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(a), m01), half));
  let f1 = f64x2.floor(f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(i64x2.shuffle(a, a, 1, 1)), m23), half));
  // clamp to [lo − zp, hi − zp], then + zp + 2^52 puts the integer in the low 32 bits
  f0 = f64x2.add(f64x2.pmin(f64x2.pmax(f0, lo), hi), magic);
  f1 = f64x2.add(f64x2.pmin(f64x2.pmax(f1, lo), hi), magic);
  return i32x4.shuffle(f0, f1, 0, 2, 4, 6);
}

/** Offset of the f64 multipliers in a requantization block. */
// @ts-ignore: decorator
@inline export function rqMult(rq: usize): usize {
  return rq + RQ_BIAS + (<usize>load<i32>(rq, RQ_KPAD) << 2);
}

/**
 * The u16-lane integer form of the block (src/kernels/requant_u16.ts, after the f64 multipliers):
 * i32 [lo, hi, 0, 0], then per channel i32 [mode, rA, rB, m, b, k, q, 0].
 */
// @ts-ignore: decorator
@inline function rqU16(rq: usize): usize {
  return rq + RQ_BIAS + <usize>load<i32>(rq, RQ_KPAD) * 12;
}

/** i32 [Kpad] after the u16-lane form: all ones where channel k's mult ≥ 0 (its output rises with the accumulator), else 0. */
// @ts-ignore: decorator
@inline export function rqRising(rq: usize): usize {
  return rqU16(rq) + 16 + (<usize>load<i32>(rq, RQ_KPAD) << 5);
}

/**
 * The lanes form after the rising masks (requant_u16.ts lanesRequant, written by src/kernels/int8.ts):
 * i32 [ready, shift, 0, lo, hi, 0, 0, 0], then per 8 channels one block of LANES_BLOCK bytes:
 * u16 flip [8], ref [8], span [8], u32 m [8], u32 b [8], i32 q [8].
 */
const LANES_BLOCK: usize = 144;

/** Address of the block's lanes form when every channel takes it (requantLanes16 applies), else 0. */
// @ts-ignore: decorator
@inline export function lanesForm(rq: usize): usize {
  if (rq == 0) return 0;
  const L = rqRising(rq) + (<usize>load<i32>(rq, RQ_KPAD) << 2);
  return load<i32>(L) != 0 ? L : 0;
}

/** u32 → i32 of four channels (lanes of d) whose parameters start at p: q + (b + d·m) >> shift. */
// @ts-ignore: decorator
@inline function lanesStep(d: v128, p: usize, shift: i32): v128 {
  const u = i32x4.add(i32x4.mul(d, v128.load(p, 48)), v128.load(p, 80));
  return i32x4.add(i32x4.shr_u(u, shift), v128.load(p, 112));
}

/** requantizeU8 of 8 channels' u16 accumulators r, parameters at p, into i16 (saturated). */
// @ts-ignore: decorator
@inline function lanes8(r: v128, p: usize, shift: i32): v128 {
  // d = min(sat_sub_u(r xor flip, ref), span)
  const d = i16x8.min_u(i16x8.sub_sat_u(v128.xor(r, v128.load(p)), v128.load(p, 16)), v128.load(p, 32));
  return i16x8.narrow_i32x4_s(lanesStep(i32x4.extend_low_i16x8_u(d), p, shift), lanesStep(i32x4.extend_high_i16x8_u(d), p + 16, shift));
}

/**
 * requantizeU8 of one position's u16 accumulators of channels c..c+7 (r0) and c+8..c+15 (r1)
 * (c a multiple of 8) into 16 u8, with the lanes form at L (lanesForm): per lane
 * q + (b + d·m) >> shift, then saturating narrows and the clamp to [lo, hi], as requantU16x16
 * does for one channel.
 */
// @ts-ignore: decorator
@inline export function requantLanes16(r0: v128, r1: v128, L: usize, c: i32): v128 {
  const shift = load<i32>(L, 4), p = L + 32 + (<usize>(c >> 3)) * LANES_BLOCK;
  const v = i8x16.narrow_i16x8_u(lanes8(r0, p, shift), lanes8(r1, p + LANES_BLOCK, shift));
  return i8x16.min_u(i8x16.max_u(v, i8x16.splat(<i8>load<i32>(L, 12))), i8x16.splat(<i8>load<i32>(L, 16)));
}

/** u32 → i32 of four lanes of d: q + (b + d·m) >> k (no lane exceeds u32 or i32: requant_u16.ts). */
// @ts-ignore: decorator
@inline function stepU32(d: v128, m: v128, b: v128, k: i32, q: v128): v128 {
  return i32x4.add(i32x4.shr_u(i32x4.add(i32x4.mul(d, m), b), k), q);
}

/**
 * requantizeU8 of 16 u16 accumulators of one channel k (lo: lanes 0–7, hi: 8–15) into 16 u8:
 * the integer form of requant_u16.ts when the channel has one, else requant4's f64 path.
 */
// @ts-ignore: decorator
@inline export function requantU16x16(lo: v128, hi: v128, rq: usize, k: i32): v128 {
  const head = rqU16(rq), c = head + 16 + (<usize>k << 5);
  const mode = load<i32>(c);
  if (mode == 0) {
    const bias = v128.load32_splat(rq + RQ_BIAS + (<usize>k << 2));
    const m = v128.load64_splat(rqMult(rq) + (<usize>k << 3));
    const r0 = requant4(i32x4.extend_low_i16x8_u(lo), bias, m, m, rq), r1 = requant4(i32x4.extend_high_i16x8_u(lo), bias, m, m, rq);
    const r2 = requant4(i32x4.extend_low_i16x8_u(hi), bias, m, m, rq), r3 = requant4(i32x4.extend_high_i16x8_u(hi), bias, m, m, rq);
    return i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(r0, r1), i16x8.narrow_i32x4_u(r2, r3));
  }
  // clamp r to [rA, rB] (no output changes), then d = r − rA or rB − r
  const rA = i16x8.splat(<i16>load<i32>(c, 4)), rB = i16x8.splat(<i16>load<i32>(c, 8));
  let l = i16x8.min_u(i16x8.max_u(lo, rA), rB), h = i16x8.min_u(i16x8.max_u(hi, rA), rB);
  if (mode == 1) {
    l = i16x8.sub(l, rA);
    h = i16x8.sub(h, rA);
  } else {
    l = i16x8.sub(rB, l);
    h = i16x8.sub(rB, h);
  }
  const m = i32x4.splat(load<i32>(c, 12)), b = i32x4.splat(load<i32>(c, 16)), sh = load<i32>(c, 20), q = i32x4.splat(load<i32>(c, 24));
  const r0 = stepU32(i32x4.extend_low_i16x8_u(l), m, b, sh, q), r1 = stepU32(i32x4.extend_high_i16x8_u(l), m, b, sh, q);
  const r2 = stepU32(i32x4.extend_low_i16x8_u(h), m, b, sh, q), r3 = stepU32(i32x4.extend_high_i16x8_u(h), m, b, sh, q);
  // saturating narrows, then the clamp to [lo, hi] in u8
  const v = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(r0, r1), i16x8.narrow_i32x4_s(r2, r3));
  return i8x16.min_u(i8x16.max_u(v, i8x16.splat(<i8>load<i32>(head))), i8x16.splat(<i8>load<i32>(head, 4)));
}

/** The low bytes of four i32 lanes in [0, 255], packed into the first 4 bytes. */
// @ts-ignore: decorator
@inline export function packU8(v: v128): v128 {
  const h = i16x8.narrow_i32x4_u(v, v);
  return i8x16.narrow_i16x8_u(h, h);
}

/**
 * Store results for channels k..k+3 of one output position: i32 accumulators (rq == 0, `dst` is
 * the i32 element address) or requantized u8 (`dst` is the u8 element address). n lanes are valid.
 */
// @ts-ignore: decorator
@inline export function emit4(v: v128, dst: usize, n: i32, rq: usize, k: i32): void {
  if (rq == 0) {
    if (n >= 4) v128.store(dst, v);
    else storeBytes(dst, v, n << 2);
    return;
  }
  const m = rqMult(rq) + (<usize>k << 3);
  const r = packU8(requant4(v, v128.load(rq + RQ_BIAS + (<usize>k << 2)), v128.load(m), v128.load(m, 16), rq));
  if (n >= 4) v128.store32_lane(dst, r, 0);
  else storeBytes(dst, r, n);
}

/**
 * Store a 2-position × 2-channel result [p0k, p0k+1, p1k, p1k+1] (from a 4×2 tile): `dst0`/`dst1`
 * are the two positions' element addresses, nk valid channels, np valid positions.
 */
// @ts-ignore: decorator
@inline export function emit2x2(v: v128, dst0: usize, dst1: usize, nk: i32, np: i32, rq: usize, k: i32): void {
  if (np <= 0) return;
  if (rq == 0) {
    storeBytes(dst0, v, nk << 2);
    if (np > 1) storeBytes(dst1, i64x2.shuffle(v, v, 1, 1), nk << 2);
    return;
  }
  const m = v128.load(rqMult(rq) + (<usize>k << 3));
  const r = packU8(requant4(v, v128.load64_splat(rq + RQ_BIAS + (<usize>k << 2)), m, m, rq));
  storeBytes(dst0, r, nk);
  if (np > 1) storeBytes(dst1, i64x2.shr_u(r, 16), nk);
}
