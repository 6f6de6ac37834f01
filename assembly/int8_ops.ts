// The integer graph's other kernels over u8 NHWC tensors: standalone requantization of i32
// accumulators, max pooling and global average pooling. Semantics: src/kernels/reference/int8.ts.
// Vectors run over channels; a channel count that does not fill a vector uses partial loads (never
// past memory's end) and partial stores (never past the output).
import { threadSlot } from "./gemm";
import { loadBytes, memoryEnd, packU8, requant4, rqMult, RQ_BIAS, storeBytes } from "./int8_common";

/** Requantize rows [start, end) of acc [M][Nc] (i32) into out [M][Nc] (u8) with the block at rq. */
export function requantizeU8(acc: usize, out: usize, Nc: i32, rq: usize, start: i32, end: i32): void {
  const memEnd = memoryEnd();
  const m = rqMult(rq);
  for (let r = start; r < end; r++) {
    const a = acc + (<usize>r * Nc << 2), o = out + <usize>r * Nc;
    for (let c = 0; c < Nc; c += 4) {
      const n = min(4, Nc - c);
      const v = n == 4 ? v128.load(a + (<usize>c << 2)) : loadBytes(a + (<usize>c << 2), n << 2, memEnd);
      const mc = m + (<usize>c << 3);
      const q = packU8(requant4(v, v128.load(rq + RQ_BIAS + (<usize>c << 2)), v128.load(mc), v128.load(mc, 16), rq));
      storeBytes(o + c, q, n);
    }
  }
}

/**
 * Max pooling of u8 NHWC x [N][H][W][C] with a kh×kw window, no padding, into out [N][OH][OW][C],
 * for output rows [start, end) of N·OH.
 */
export function maxPool2dU8(x: usize, out: usize, H: i32, W: i32, C: i32, window: i32, start: i32, end: i32): void {
  // window = kh | kw << 10 | stride << 20: six arguments keep the JS dispatch off its spread path
  const kh = window & 1023, kw = (window >> 10) & 1023, stride = window >> 20;
  const memEnd = memoryEnd();
  const OH = (H - kh) / stride + 1, OW = (W - kw) / stride + 1;
  const rowOut = OW * C;
  for (let r = start; r < end; r++) {
    const n = r / OH, oh = r - n * OH;
    const top = x + <usize>((n * H + oh * stride) * W) * C;
    const o = out + <usize>r * OW * C;
    // C ≤ 16 (LeNet: 6): one whole-vector load per window tap and a whole-vector store per
    // output pixel; a store's overrun is overwritten by the next pixel, and the row's last
    // pixels (whose overrun would leave the row, maybe another thread's) store exactly C bytes.
    // The per-channel loop below spent most of its time in partial loads and stores.
    if (C <= 16 && top + <usize>((kh - 1) * W + (OW - 1) * stride + kw - 1) * C + 16 <= memEnd) {
      const rowStep = <usize>W * C, step = <usize>(stride * C);
      let base = top;
      for (let ow = 0; ow < OW; ow++) {
        let m = v128.load(base);
        if (kh == 2 && kw == 2) {
          // the common 2×2 window, unrolled
          const c = <usize>C;
          m = i8x16.max_u(i8x16.max_u(m, v128.load(base + c)), i8x16.max_u(v128.load(base + rowStep), v128.load(base + rowStep + c)));
        } else for (let i = 0; i < kh; i++) {
          const rowp = base + <usize>i * rowStep;
          for (let j = 0; j < kw; j++) m = i8x16.max_u(m, v128.load(rowp + <usize>j * C));
        }
        const d = o + <usize>ow * C;
        if (ow * C + 16 <= rowOut) v128.store(d, m);
        else storeBytes(d, m, C);
        base += step;
      }
      continue;
    }
    for (let ow = 0; ow < OW; ow++) {
      const base = top + <usize>(ow * stride) * C;
      for (let c = 0; c < C; c += 16) {
        const nc = min(16, C - c);
        let m = i8x16.splat(0);
        for (let i = 0; i < kh; i++) {
          const rowp = base + <usize>(i * W) * C + c;
          for (let j = 0; j < kw; j++) m = i8x16.max_u(m, loadBytes(rowp + <usize>j * C, nc, memEnd));
        }
        storeBytes(o + <usize>ow * C + c, m, nc);
      }
    }
  }
}

/**
 * Global average pooling of u8 x [N][HW][C] into out [N][C], floor((Σ + ⌊HW/2⌋) / HW), for images
 * [start, end). Sums are i32 lanes (HW·255 < 2^31); the division is scalar, through 64 bytes of
 * per-thread scratch.
 */
export function avgPoolGlobalU8(x: usize, out: usize, HW: i32, C: i32, scratch: usize, slotBytes: i32, start: i32, end: i32): void {
  avgPoolGlobalInSlot(x, out, HW, C, threadSlot(scratch, slotBytes), start, end);
}

/** avgPoolGlobalU8 with 64 bytes of scratch at `sums` that the caller owns. */
export function avgPoolGlobalInSlot(x: usize, out: usize, HW: i32, C: i32, sums: usize, start: i32, end: i32): void {
  const memEnd = memoryEnd();
  const half = HW >> 1;
  for (let n = start; n < end; n++) {
    const img = x + <usize>n * HW * C;
    for (let c = 0; c < C; c += 16) {
      const nc = min(16, C - c);
      let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
      for (let p = 0; p < HW; p++) {
        const v = loadBytes(img + <usize>p * C + c, nc, memEnd);
        const lo = i16x8.extend_low_i8x16_u(v), hi = i16x8.extend_high_i8x16_u(v);
        s0 = i32x4.add(s0, i32x4.extend_low_i16x8_u(lo));
        s1 = i32x4.add(s1, i32x4.extend_high_i16x8_u(lo));
        s2 = i32x4.add(s2, i32x4.extend_low_i16x8_u(hi));
        s3 = i32x4.add(s3, i32x4.extend_high_i16x8_u(hi));
      }
      v128.store(sums, s0); v128.store(sums, s1, 16); v128.store(sums, s2, 32); v128.store(sums, s3, 48);
      const o = out + <usize>n * C + c;
      for (let j = 0; j < nc; j++) store<u8>(o + j, <u32>(load<i32>(sums + (<usize>j << 2)) + half) / <u32>HW);
    }
  }
}

/**
 * Residual add of u8 a and b into u8 out with requantization, for elements [start, end):
 *   out = clamp(((a − zeroA)·multA + (b − zeroB)·multB + 2^(shift−1)) >> shift + outZp, lo, hi)
 * (addRequantU8 in src/kernels/reference/int8.ts derives it). p holds eight i32: zeroA, multA,
 * zeroB, multB, shift, outZp, lo, hi. Sixteen elements a step: a − z in i16 lanes, exact i16 × i16
 * → i32 products (|m| < 2^15), the i32 sum (< 2^24, plus the rounding term < 2^30) shifted right
 * arithmetically, narrowed to i16 with saturation (harmless: the clamp bounds lie in [0, 255]),
 * clamped, and narrowed to u8. Threads split the elements at multiples of 16.
 */
export function addRequantU8(a: usize, b: usize, out: usize, p: usize, start: i32, end: i32): void {
  const za = load<i32>(p), ma = load<i32>(p, 4), zb = load<i32>(p, 8), mb = load<i32>(p, 12);
  const shift = load<i32>(p, 16), zo = load<i32>(p, 20), lo = load<i32>(p, 24), hi = load<i32>(p, 28);
  const round = 1 << (shift - 1);
  const vza = i16x8.splat(<i16>za), vzb = i16x8.splat(<i16>zb), vma = i16x8.splat(<i16>ma), vmb = i16x8.splat(<i16>mb);
  const vround = i32x4.splat(round), vzo = i32x4.splat(zo), vlo = i16x8.splat(<i16>lo), vhi = i16x8.splat(<i16>hi);
  let i = start;
  for (; i + 16 <= end; i += 16) {
    const va = v128.load(a + <usize>i), vb = v128.load(b + <usize>i);
    const a0 = i16x8.sub(i16x8.extend_low_i8x16_u(va), vza), a1 = i16x8.sub(i16x8.extend_high_i8x16_u(va), vza);
    const b0 = i16x8.sub(i16x8.extend_low_i8x16_u(vb), vzb), b1 = i16x8.sub(i16x8.extend_high_i8x16_u(vb), vzb);
    const q0 = addShift(i32x4.extmul_low_i16x8_s(a0, vma), i32x4.extmul_low_i16x8_s(b0, vmb), vround, shift, vzo);
    const q1 = addShift(i32x4.extmul_high_i16x8_s(a0, vma), i32x4.extmul_high_i16x8_s(b0, vmb), vround, shift, vzo);
    const q2 = addShift(i32x4.extmul_low_i16x8_s(a1, vma), i32x4.extmul_low_i16x8_s(b1, vmb), vround, shift, vzo);
    const q3 = addShift(i32x4.extmul_high_i16x8_s(a1, vma), i32x4.extmul_high_i16x8_s(b1, vmb), vround, shift, vzo);
    const h0 = i16x8.min_s(i16x8.max_s(i16x8.narrow_i32x4_s(q0, q1), vlo), vhi);
    const h1 = i16x8.min_s(i16x8.max_s(i16x8.narrow_i32x4_s(q2, q3), vlo), vhi);
    v128.store(out + <usize>i, i8x16.narrow_i16x8_u(h0, h1));
  }
  for (; i < end; i++) {
    const v = (<i32>load<u8>(a + <usize>i) - za) * ma + (<i32>load<u8>(b + <usize>i) - zb) * mb;
    store<u8>(out + <usize>i, <u8>min(hi, max(lo, ((v + round) >> shift) + zo)));
  }
}

/** ((x + y + round) >> shift) + zo in four i32 lanes. */
// @ts-ignore: decorator
@inline function addShift(x: v128, y: v128, round: v128, shift: i32, zo: v128): v128 {
  return i32x4.add(i32x4.shr_s(i32x4.add(i32x4.add(x, y), round), shift), zo);
}

/**
 * The input node's quantization of [0, 1] float pixels, NCHW f32 → u8 NHWC, for images [start,
 * end): q = clamp(trunc(x·a + b), 0, 255) in f64 with the channel's a = 1/(std·scale) and
 * b = −mean·a + zp + ½ (f64 pairs at params), the same operations in the same order as
 * quantizeInput in src/deploy/run/input_quantizer.ts, so the bytes are identical (NaN gives 0).
 */
export function quantizeF32U8(src: usize, dst: usize, C: i32, HW: i32, params: usize, start: i32, end: i32): void {
  const zero = f64x2.splat(0), top = f64x2.splat(255);
  for (let n = start; n < end; n++) {
    for (let c = 0; c < C; c++) {
      const a = f64x2.splat(load<f64>(params + (<usize>c << 4))), b = f64x2.splat(load<f64>(params + (<usize>c << 4), 8));
      const from = src + (<usize>(n * C + c) * HW << 2);
      const to = dst + <usize>n * HW * C + c;
      let i = 0;
      for (; i + 4 <= HW; i += 4) {
        const x = v128.load(from + (<usize>i << 2));
        const lo = quantize2(f64x2.promote_low_f32x4(x), a, b, zero, top);
        const hi = quantize2(f64x2.promote_low_f32x4(i64x2.shuffle(x, x, 1, 1)), a, b, zero, top);
        const q = i32x4.shuffle(i32x4.trunc_sat_f64x2_s_zero(lo), i32x4.trunc_sat_f64x2_s_zero(hi), 0, 1, 4, 5);
        if (C == 1) {
          v128.store32_lane(to + <usize>i, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(q, q), i16x8.splat(0)), 0);
        } else {
          const at = to + <usize>i * C;
          store<u8>(at, <u8>i32x4.extract_lane(q, 0));
          store<u8>(at + C, <u8>i32x4.extract_lane(q, 1));
          store<u8>(at + 2 * C, <u8>i32x4.extract_lane(q, 2));
          store<u8>(at + 3 * C, <u8>i32x4.extract_lane(q, 3));
        }
      }
      for (; i < HW; i++) {
        const v = quantize2(f64x2.splat(<f64>load<f32>(from + (<usize>i << 2))), a, b, zero, top);
        store<u8>(to + <usize>i * C, <u8>i32x4.extract_lane(i32x4.trunc_sat_f64x2_s_zero(v), 0));
      }
    }
  }
}

/** min(max(x·a + b, 0), 255) with NaN → 0 (pmax keeps its first operand unless the second is larger). */
// @ts-ignore: decorator
@inline function quantize2(x: v128, a: v128, b: v128, zero: v128, top: v128): v128 {
  return f64x2.pmin(top, f64x2.pmax(zero, f64x2.add(f64x2.mul(x, a), b)));
}
