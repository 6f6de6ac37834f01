// The input node's arithmetic: pixels (NCHW, as the float model takes them) to the graph's u8
// NHWC input, in TypeScript, so every engine sees the same bytes. quantizeInput is the one
// definition. A raw byte p means the float pixel p/255 (rounded to float32, as the dataset readers
// make it), so bytes go through a 256-entry table per channel built with that same function:
// bytes and their float pixels give identical inputs, hence identical logits.
import type { InputNode } from "./format.js";

/**
 * Per channel, the multiply-add x·a + b = (x − mean)/(std·s) + zp + ½ that quantizes a pixel
 * before the clamp and truncation; the wasm kernel (quantizeF32U8) takes the same a and b.
 */
export function inputAffine(input: InputNode): { a: number[]; b: number[] } {
  const { scale, zeroPoint } = input.out;
  const a = input.std.map((std) => 1 / (std * scale));
  return { a, b: input.mean.map((mean, c) => -mean * a[c]! + zeroPoint + 0.5) };
}

/** Quantize [0, 1] pixels (NCHW) to the input's u8 NHWC: q = clamp(floor((x − mean)/std/s + zp + ½), 0, 255). */
export function quantizeInput(input: InputNode, pixels: Float32Array, N: number, out: Uint8Array): void {
  const [C, H, W] = input.shape;
  const HW = H * W;
  const affine = inputAffine(input);
  for (let c = 0; c < C; c++) {
    const a = affine.a[c]!, b = affine.b[c]!;
    for (let n = 0; n < N; n++) {
      const src = (n * C + c) * HW;
      let dst = n * HW * C + c;
      for (let i = 0; i < HW; i++, dst += C) {
        const v = pixels[src + i]! * a + b;
        out[dst] = v <= 0 ? 0 : v >= 255 ? 255 : v | 0;
      }
    }
  }
}

/** Inputs of at least this many bytes take the word-at-a-time path (little-endian words: every JS engine that runs wasm). */
const WORDS_FROM = 4096;

export class InputQuantizer {
  private readonly C: number;
  private readonly plane: number;
  /** C tables of 256 entries: q of raw byte p in channel c at [c·256 + p]. */
  private readonly lut: Uint8Array;

  constructor(private readonly node: InputNode) {
    const [C, H, W] = node.shape;
    this.C = C;
    this.plane = H * W;
    // the 256 byte values as one C×1×256 image: its NHWC output holds q(c, p) at p·C + c
    const pixels = new Float32Array(C * 256);
    for (let c = 0; c < C; c++) for (let p = 0; p < 256; p++) pixels[c * 256 + p] = p / 255;
    const q = new Uint8Array(C * 256);
    quantizeInput({ ...node, shape: [C, 1, 256] }, pixels, 1, q);
    this.lut = new Uint8Array(C * 256);
    for (let c = 0; c < C; c++) for (let p = 0; p < 256; p++) this.lut[c * 256 + p] = q[p * C + c]!;
  }

  /** n images of raw bytes, NCHW, into dst (NHWC u8). */
  fromBytes(src: Uint8Array | Uint8ClampedArray, n: number, dst: Uint8Array): void {
    const { C, plane, lut } = this;
    if (C === 1) {
      const len = n * plane;
      let i = 0;
      // large batches: four pixels per 32-bit word, 2.5× faster than byte by byte (two small
      // views per call, which only pays off on large inputs)
      if (len >= WORDS_FROM && src.byteOffset % 4 === 0 && dst.byteOffset % 4 === 0) {
        const words = len >> 2;
        const s32 = new Uint32Array(src.buffer, src.byteOffset, words), d32 = new Uint32Array(dst.buffer, dst.byteOffset, words);
        for (let w = 0; w < words; w++) {
          const v = s32[w]!;
          d32[w] = lut[v & 255]! | (lut[(v >>> 8) & 255]! << 8) | (lut[(v >>> 16) & 255]! << 16) | (lut[v >>> 24]! << 24);
        }
        i = words << 2;
      }
      for (; i < len; i++) dst[i] = lut[src[i]!]!;
      return;
    }
    for (let img = 0; img < n; img++) {
      const base = img * C * plane;
      for (let c = 0; c < C; c++) {
        const s = base + c * plane, t = c * 256;
        for (let p = 0; p < plane; p++) dst[base + p * C + c] = lut[t + src[s + p]!]!;
      }
    }
  }

  /** n images of [0, 1] floats, NCHW, into dst (NHWC u8). */
  fromFloats(src: Float32Array, n: number, dst: Uint8Array): void {
    quantizeInput(this.node, src, n, dst);
  }
}
