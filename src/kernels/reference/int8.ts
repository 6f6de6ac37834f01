// Reference integer kernels for deployment: the bit-exact oracle of the wasm kernels in
// src/kernels/int8*.ts. Plain loops, written from the definitions below, not for speed.
//
// Layout is NHWC throughout the integer graph, as in most integer runtimes: one output position
// is a contiguous row of channels, and a conv patch is contiguous in (ki, kj, c) order.
//   x    u8  [N][H][W][C]           activations, with zero point `padValue` for padded taps
//   w    *   [K][kh][kw][C/groups]   weights (OHWI)
//   out  i32 [N][OH][OW][K]          raw accumulators; requantizeU8 turns them into u8
// Groups split C and K into `groups` equal blocks, as in conv2d. A linear layer is a conv with
// H = W = kh = kw = 1.
//
// Accumulators:
//   adderConvU8   Σ |x − w|                  u8 − u8 sum of absolute differences (no sign: the
//                                            requantization multiplier carries the minus)
//   mulConvU8I8   Σ x·w                      u8 activations times i8 weights
//   shiftConvU8   Σ sign·(x << shift)        sign ∈ {−1, 0, +1}, shift ∈ [0, MAX_SHIFT]
// A padded tap takes x = padValue in all three (the activation zero point, i.e. real 0).
// Callers keep every sum inside int32 (export checks the worst case); these loops do not wrap.
//
// Residual add with requantization (addRequantU8). Two u8 tensors a, b of the same shape, with
// real values s_a·(a − z_a) and s_b·(b − z_b), are summed into an output quantized as s_o, z_o:
//   q = (s_a·(a − z_a) + s_b·(b − z_b)) / s_o + z_o
//     = ((a − z_a)·m_a + (b − z_b)·m_b) / 2^shift + z_o   with m_a/2^shift ≈ s_a/s_o, m_b/2^shift ≈ s_b/s_o
// and the integer result rounds half up and clamps (lo = z_o fuses a following ReLU):
//   out = clamp(floor(((a − z_a)·m_a + (b − z_b)·m_b + 2^(shift−1)) / 2^shift) + z_o, lo, hi)
// Contract: |m_a|, |m_b| < 2^15 and 1 ≤ shift ≤ 30. Then |a − z| ≤ 255 gives
// |(a − z_a)·m_a + (b − z_b)·m_b| < 2·255·2^15 < 2^24, and with the rounding term (≤ 2^29) every
// step is exact in an i32 (and in a double): the floor is an arithmetic shift right. The only
// roundings are the two 15-bit multipliers (relative 2^−15) and the final ½ output step.
//
// Average pooling (avgPool2dU8, avgPoolGlobalU8) keeps the quantization: the mean of values that
// share s and z is s·(mean(q) − z), so q_out = mean(q) rounded half up, floor((Σq + ⌊k/2⌋) / k)
// over the k taps of the window (k = kh·kw, no padding; or k = H·W for the global pool).
import { checkConv2dShape, type Conv2dShape } from "../conv2d.js";

/** Largest left shift of a shift-layer weight: 255 << 23 still fits an i32; the exporter and the
 * bundle reader bound the whole sum. */
export const MAX_SHIFT = 23;

/**
 * out[n][oh][ow][k] = Σ term(x at the tap, or padValue for a padded tap; the tap's weight index)
 * over the window (ki, kj) and the input channels c of k's group, NHWC / OHWI; out is overwritten.
 */
function convSum(x: Uint8Array, padValue: number, out: Int32Array, s: Conv2dShape, term: (xv: number, wIndex: number) => number): void {
  checkConv2dShape(s);
  checkPadValue(padValue);
  const Cg = s.C / s.groups, Kg = s.K / s.groups;
  for (let n = 0; n < s.N; n++) {
    for (let oh = 0; oh < s.OH; oh++) {
      for (let ow = 0; ow < s.OW; ow++) {
        for (let k = 0; k < s.K; k++) {
          const g = Math.floor(k / Kg);
          let sum = 0;
          for (let ki = 0; ki < s.kh; ki++) {
            const ih = oh * s.strideH - s.padH + ki * s.dilationH;
            for (let kj = 0; kj < s.kw; kj++) {
              const iw = ow * s.strideW - s.padW + kj * s.dilationW;
              const inside = ih >= 0 && ih < s.H && iw >= 0 && iw < s.W;
              const xAt = ((n * s.H + ih) * s.W + iw) * s.C + g * Cg;
              const wAt = ((k * s.kh + ki) * s.kw + kj) * Cg;
              for (let c = 0; c < Cg; c++) sum += term(inside ? x[xAt + c] : padValue, wAt + c);
            }
          }
          out[((n * s.OH + oh) * s.OW + ow) * s.K + k] = sum;
        }
      }
    }
  }
}

/** out = Σ |x − w| over every tap (padded taps use x = padValue); out is overwritten. */
export function adderConvU8(x: Uint8Array, w: Uint8Array, padValue: number, out: Int32Array, s: Conv2dShape): void {
  convSum(x, padValue, out, s, (xv, wi) => Math.abs(xv - w[wi]));
}

/** out = Σ x·w over every tap (padded taps use x = padValue); out is overwritten. */
export function mulConvU8I8(x: Uint8Array, w: Int8Array, padValue: number, out: Int32Array, s: Conv2dShape): void {
  convSum(x, padValue, out, s, (xv, wi) => xv * w[wi]);
}

/** out = Σ sign·(x << shift) over every tap (padded taps use x = padValue); out is overwritten. */
export function shiftConvU8(x: Uint8Array, sign: Int8Array, shift: Uint8Array, padValue: number, out: Int32Array, s: Conv2dShape): void {
  for (let i = 0; i < sign.length; i++) {
    if (sign[i] < -1 || sign[i] > 1) throw new Error(`shiftConvU8: sign[${i}] = ${sign[i]} is not −1, 0 or +1`);
    if (shift[i] > MAX_SHIFT) throw new Error(`shiftConvU8: shift[${i}] = ${shift[i]} exceeds ${MAX_SHIFT}`);
  }
  convSum(x, padValue, out, s, (xv, wi) => sign[wi] * (xv << shift[wi])); // 255 << 23 < 2^31: exact
}

/**
 * Per-channel requantization of accumulators acc [M][Nc] to u8:
 *   out = clamp(floor(((acc·2^F + bias[c])·mult[c] + 2^(shift[c]−1)) / 2^shift[c]) + outZp, lo, hi)
 * i.e. a rounding arithmetic right shift of a 64-bit product; F = biasBits gives the bias F
 * fraction bits. Contract: |acc·2^F + bias| < 2^31, |mult| < 2^21, 1 ≤ shift ≤ 52 and
 * 0 ≤ F ≤ MAX_BIAS_BITS, so every step is exact in a double and in an i64.
 * BatchNorm, the layer scale and a fused ReLU (lo = outZp) all live in (bias, mult, shift, lo).
 */
export function requantizeU8(
  acc: Int32Array, M: number, Nc: number, bias: Int32Array, mult: Int32Array, shift: Uint8Array,
  outZp: number, lo: number, hi: number, out: Uint8Array, biasBits = 0,
): void {
  checkRequant(Nc, bias, mult, shift, outZp, lo, hi, biasBits);
  const scale = 2 ** biasBits;
  for (let m = 0; m < M; m++) {
    for (let c = 0; c < Nc; c++) {
      const i = m * Nc + c;
      const v = (acc[i] * scale + bias[c]) * mult[c];
      const r = Math.floor((v + 2 ** (shift[c] - 1)) / 2 ** shift[c]) + outZp;
      out[i] = Math.min(hi, Math.max(lo, r));
    }
  }
}

/** out[n][oh][ow][c] = reduce(the kh×kw window of channel c at (oh·stride, ow·stride)), no padding. */
function poolWindows(
  name: string, x: Uint8Array, N: number, H: number, W: number, C: number, kh: number, kw: number, stride: number, out: Uint8Array,
  reduce: (window: number[]) => number,
): void {
  const OH = Math.floor((H - kh) / stride) + 1, OW = Math.floor((W - kw) / stride) + 1;
  if (OH < 1 || OW < 1) throw new Error(`${name}: a ${kh}×${kw} window does not fit ${H}×${W}`);
  const window: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let c = 0; c < C; c++) {
          window.length = 0;
          for (let i = 0; i < kh; i++) {
            for (let j = 0; j < kw; j++) window.push(x[((n * H + oh * stride + i) * W + ow * stride + j) * C + c]);
          }
          out[((n * OH + oh) * OW + ow) * C + c] = reduce(window);
        }
      }
    }
  }
}

/** Max pooling of u8 NHWC with no padding; OH = floor((H − kh)/stride) + 1. out is [N][OH][OW][C]. */
export function maxPool2dU8(x: Uint8Array, N: number, H: number, W: number, C: number, kh: number, kw: number, stride: number, out: Uint8Array): void {
  poolWindows("maxPool2dU8", x, N, H, W, C, kh, kw, stride, out, (window) => Math.max(...window));
}

/**
 * Average pooling of u8 NHWC with a kh×kw window and no padding, rounding half up:
 * floor((Σ + ⌊k/2⌋) / k) with k = kh·kw; OH = floor((H − kh)/stride) + 1. out is [N][OH][OW][C].
 */
export function avgPool2dU8(x: Uint8Array, N: number, H: number, W: number, C: number, kh: number, kw: number, stride: number, out: Uint8Array): void {
  const k = kh * kw;
  poolWindows("avgPool2dU8", x, N, H, W, C, kh, kw, stride, out, (window) => Math.floor((window.reduce((a, b) => a + b, 0) + Math.floor(k / 2)) / k));
}

/** The integers of a residual add (see the header): out = clamp(floor(((a − zeroA)·multA + (b − zeroB)·multB + 2^(shift−1)) / 2^shift) + outZp, lo, hi). */
export interface AddRequant {
  zeroA: number;
  multA: number;
  zeroB: number;
  multB: number;
  shift: number;
  outZp: number;
  lo: number;
  hi: number;
}

/** Largest right shift of a residual add: the rounding term 2^(shift − 1) stays below 2^30. */
export const MAX_ADD_SHIFT = 30;

/** Elementwise residual add of u8 a and b (same length) into out, requantized (see the header). */
export function addRequantU8(a: Uint8Array, b: Uint8Array, p: AddRequant, out: Uint8Array): void {
  checkAddRequant(p);
  if (b.length !== a.length || out.length !== a.length) throw new Error(`addRequantU8: a, b and out must have one length, got ${a.length}, ${b.length}, ${out.length}`);
  const round = 2 ** (p.shift - 1), div = 2 ** p.shift;
  for (let i = 0; i < a.length; i++) {
    const v = (a[i] - p.zeroA) * p.multA + (b[i] - p.zeroB) * p.multB;
    out[i] = Math.min(p.hi, Math.max(p.lo, Math.floor((v + round) / div) + p.outZp));
  }
}

export function checkAddRequant(p: AddRequant): void {
  const byte = (v: number) => Number.isInteger(v) && v >= 0 && v <= 255;
  if (!byte(p.zeroA) || !byte(p.zeroB) || !byte(p.outZp) || !byte(p.lo) || !byte(p.hi) || p.lo > p.hi) {
    throw new Error(`addRequantU8: zero points, lo and hi must be integers in [0, 255] with lo ≤ hi, got ${JSON.stringify(p)}`);
  }
  for (const m of [p.multA, p.multB]) if (!Number.isInteger(m) || Math.abs(m) >= 2 ** 15) throw new Error(`addRequantU8: multipliers must be integers with |m| < 2^15, got ${m}`);
  if (!Number.isInteger(p.shift) || p.shift < 1 || p.shift > MAX_ADD_SHIFT) throw new Error(`addRequantU8: shift must be in [1, ${MAX_ADD_SHIFT}], got ${p.shift}`);
}

/** Global average pooling of u8 [N][HW][C] to [N][C], rounding half up: floor((Σ + ⌊HW/2⌋) / HW). */
export function avgPoolGlobalU8(x: Uint8Array, N: number, HW: number, C: number, out: Uint8Array): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let p = 0; p < HW; p++) sum += x[(n * HW + p) * C + c];
      out[n * C + c] = Math.floor((sum + Math.floor(HW / 2)) / HW);
    }
  }
}

function checkPadValue(padValue: number): void {
  if (!Number.isInteger(padValue) || padValue < 0 || padValue > 255) throw new Error(`padValue must be an integer in [0, 255], got ${padValue}`);
}

/** Largest biasBits of a requantization (the bundle format's MAX_LAYER_BIAS_BITS). */
export const MAX_BIAS_BITS = 16;

export function checkRequant(Nc: number, bias: Int32Array, mult: Int32Array, shift: Uint8Array, outZp: number, lo: number, hi: number, biasBits = 0): void {
  if (bias.length < Nc || mult.length < Nc || shift.length < Nc) throw new Error(`requantizeU8: bias, mult and shift need ${Nc} channels`);
  if (!Number.isInteger(biasBits) || biasBits < 0 || biasBits > MAX_BIAS_BITS) throw new Error(`requantizeU8: biasBits must be an integer in [0, ${MAX_BIAS_BITS}], got ${biasBits}`);
  for (let c = 0; c < Nc; c++) {
    if (Math.abs(mult[c]) >= 2 ** 21) throw new Error(`requantizeU8: |mult[${c}]| = ${Math.abs(mult[c])} must be < 2^21`);
    if (shift[c] < 1 || shift[c] > 52) throw new Error(`requantizeU8: shift[${c}] = ${shift[c]} must be in [1, 52]`);
  }
  if (!(0 <= lo && lo <= hi && hi <= 255)) throw new Error(`requantizeU8: need 0 ≤ lo ≤ hi ≤ 255, got lo ${lo}, hi ${hi}`);
  if (!Number.isInteger(outZp) || outZp < 0 || outZp > 255) throw new Error(`requantizeU8: outZp must be in [0, 255], got ${outZp}`);
}
