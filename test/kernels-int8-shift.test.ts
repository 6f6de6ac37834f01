import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime, type Runtime } from "../src/kernels/runtime.js";
import { tuning } from "../src/kernels/gemm.js";
import type { Conv2dShape } from "../src/kernels/conv2d.js";
import { chooseShiftLayout, prepareShiftWeights, shiftConvRequantU8, shiftConvU8, shiftTuning, type ShiftLayout } from "../src/kernels/int8_shift.js";
import { prepareRequant, PreparedRequant } from "../src/kernels/int8.js";
import * as ref from "../src/kernels/reference/int8.js";
import { rng } from "./random.js";
import { WasmBuffers } from "./wasm-buffers.js";

const rt: Runtime = initRuntime({ threads: 2 });
tuning.minMacsPerThread = 1; // thread even the tiny shapes

const int = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const outSize = (size: number, k: number, stride: number, pad: number, dil: number) => Math.floor((size + 2 * pad - dil * (k - 1) - 1) / stride) + 1;

/** A random conv geometry: batch 1–3, channels 1–20 (groups incl. depthwise), kernel 1–5, stride 1–2, padding 0–2, dilation 1–2. */
function randomShape(rand: () => number, manyImages = false): Conv2dShape {
  for (;;) {
    const linear = rand() < 0.15;
    const groups = linear ? 1 : [1, 1, 1, 2, 3, 0][int(rand, 0, 5)];
    const Cg = int(rand, 1, 7), Kg = int(rand, 1, 7);
    const depthwise = groups === 0;
    const C = depthwise ? int(rand, 1, 20) : Math.min(20, Cg * groups);
    const g = depthwise ? C : groups;
    if (C % g !== 0) continue;
    const K = depthwise ? C * int(rand, 1, 2) : Math.min(20, Kg * g) - (Math.min(20, Kg * g) % g);
    if (K < 1) continue;
    const kh = linear ? 1 : int(rand, 1, 5), kw = linear ? 1 : int(rand, 1, 5);
    const H = linear ? 1 : int(rand, 1, 13), W = linear ? 1 : int(rand, 1, 13);
    const strideH = linear ? 1 : int(rand, 1, 2), strideW = linear ? 1 : int(rand, 1, 2);
    const padH = linear ? 0 : int(rand, 0, 2), padW = linear ? 0 : int(rand, 0, 2);
    const dilationH = linear ? 1 : int(rand, 1, 2), dilationW = linear ? 1 : int(rand, 1, 2);
    const OH = outSize(H, kh, strideH, padH, dilationH), OW = outSize(W, kw, strideW, padW, dilationW);
    if (OH < 1 || OW < 1) continue;
    // past 32 images the batch layout takes a second block of lanes
    const N = manyImages && rand() < 0.2 && H * W <= 64 ? int(rand, 33, 40) : int(rand, 1, 3);
    return { N, C: linear ? int(rand, 1, 200) : C, H, W, K: linear ? int(rand, 1, 40) : K, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups: g, OH, OW };
  }
}

interface Weights { sign: Int8Array; shift: Uint8Array }

/** Signs with many zeros; shifts 0..MAX_SHIFT, capped so that 255·Σ 2^shift fits i32 per output. */
function randomWeights(rand: () => number, s: Conv2dShape): Weights {
  const R = s.kh * s.kw * (s.C / s.groups);
  const zeros = rand() * 0.6;
  const maxShift = Math.min(ref.MAX_SHIFT, Math.floor(Math.log2((2 ** 31 - 1) / 255 / R)));
  const top = rand() < 0.5 ? maxShift : Math.min(maxShift, 10);
  const sign = new Int8Array(s.K * R), shift = new Uint8Array(s.K * R);
  for (let i = 0; i < sign.length; i++) {
    sign[i] = rand() < zeros ? 0 : rand() < 0.5 ? -1 : 1;
    shift[i] = int(rand, 0, top);
  }
  return { sign, shift };
}

function fill(a: Uint8Array, rand: () => number): Uint8Array {
  const extreme = rand() < 0.2; // all 255: the largest i16 plane sums
  for (let i = 0; i < a.length; i++) a[i] = extreme ? 255 : int(rand, 0, 255);
  return a;
}

function withLayout<T>(layout: "auto" | ShiftLayout, f: () => T): T {
  const saved = shiftTuning.layout;
  shiftTuning.layout = layout;
  try {
    return f();
  } finally {
    shiftTuning.layout = saved;
  }
}

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): string {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `element ${i}: got ${a[i]}, want ${b[i]}`;
  return "lengths differ";
}

for (const layout of ["batch", "planes", "scalar", "auto"] as const) {
  test(`shiftConvU8 (${layout} layout) equals the reference on 200 random shapes`, () => {
    const rand = rng(layout.length * 7919 + 1);
    const buf = new WasmBuffers(rt);
    for (let t = 0; t < 200; t++) {
      const s = randomShape(rand, layout === "batch");
      const { sign, shift } = randomWeights(rand, s);
      const x = fill(buf.u8(s.N * s.H * s.W * s.C), rand);
      const padValue = rand() < 0.3 ? 0 : int(rand, 0, 255);
      const want = new Int32Array(s.N * s.OH * s.OW * s.K);
      ref.shiftConvU8(x, sign, shift, padValue, want, s);
      const w = prepareShiftWeights(sign, shift, s);
      const got = buf.i32(want.length).fill(-7);
      withLayout(layout, () => shiftConvU8(x, w, padValue, got, s));
      w.dispose();
      if (!got.every((v, i) => v === want[i])) assert.fail(`case ${t} ${JSON.stringify(s)} pad ${padValue}: ${firstDiff(got, want)}`);
      buf.freeAll();
    }
  });
}

test("fused shiftConvRequantU8 equals requantizeU8 ∘ shiftConvU8 on 200 random shapes, every layout", () => {
  const rand = rng(4242);
  const buf = new WasmBuffers(rt);
  const layouts = ["batch", "batch", "planes", "planes", "scalar", "scalar", "auto", "auto"] as const;
  for (let t = 0; t < 200; t++) {
    const s = randomShape(rand);
    const { sign, shift } = randomWeights(rand, s);
    const x = fill(buf.u8(s.N * s.H * s.W * s.C), rand);
    const padValue = int(rand, 0, 255);
    const acc = new Int32Array(s.N * s.OH * s.OW * s.K);
    ref.shiftConvU8(x, sign, shift, padValue, acc, s);
    // requantization parameters in the contract's ranges, with |acc·2^F + bias| < 2^31
    let reach = 0;
    for (const v of acc) reach = Math.max(reach, Math.abs(v));
    const biasBits = Math.max(0, Math.min([0, 3, 8, 16][t % 4]!, Math.floor(Math.log2((2 ** 31 - 5001) / (reach + 1)))));
    const bias = Int32Array.from({ length: s.K }, () => int(rand, -5000, 5000));
    const mult = Int32Array.from({ length: s.K }, () => int(rand, -(2 ** 21) + 1, 2 ** 21 - 1));
    const rshift = Uint8Array.from({ length: s.K }, () => int(rand, 1, 52));
    const outZp = int(rand, 0, 255), lo = rand() < 0.5 ? outZp : int(rand, 0, outZp), hi = int(rand, Math.max(lo, 128), 255);
    const want = new Uint8Array(acc.length);
    ref.requantizeU8(acc, s.N * s.OH * s.OW, s.K, bias, mult, rshift, outZp, lo, hi, want, biasBits);
    const w = prepareShiftWeights(sign, shift, s);
    const got = buf.u8(want.length);
    // plain parameters on even cases, a prepared block (the runner's hot path) on odd ones
    const params = { bias, mult, shift: rshift, outZp, lo, hi, biasBits };
    const rq = t % 2 ? prepareRequant(params, s.K) : params;
    withLayout(layouts[t % 8], () => shiftConvRequantU8(x, w, padValue, rq, got, s));
    if (rq instanceof PreparedRequant) rq.dispose();
    w.dispose();
    if (!got.every((v, i) => v === want[i])) assert.fail(`case ${t} ${JSON.stringify(s)}: ${firstDiff(got, want)}`);
    buf.freeAll();
  }
});

test("results are identical with 1 and 2 threads", () => {
  const rand = rng(99);
  const buf = new WasmBuffers(rt);
  const shapes: Conv2dShape[] = [
    { N: 33, C: 6, H: 9, W: 9, K: 16, kh: 5, kw: 5, strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1, OH: 5, OW: 5 },
    { N: 2, C: 1, H: 28, W: 28, K: 6, kh: 5, kw: 5, strideH: 1, strideW: 1, padH: 2, padW: 2, dilationH: 1, dilationW: 1, groups: 1, OH: 28, OW: 28 },
    { N: 3, C: 400, H: 1, W: 1, K: 120, kh: 1, kw: 1, strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1, OH: 1, OW: 1 },
  ];
  for (const s of shapes) {
    const { sign, shift } = randomWeights(rand, s);
    const x = fill(buf.u8(s.N * s.H * s.W * s.C), rand);
    const w = prepareShiftWeights(sign, shift, s);
    const n = s.N * s.OH * s.OW * s.K;
    const one = buf.i32(n), two = buf.i32(n);
    rt.setThreads(1);
    shiftConvU8(x, w, 3, one, s);
    rt.setThreads(2);
    shiftConvU8(x, w, 3, two, s);
    assert.ok(one.every((v, i) => v === two[i]), `${JSON.stringify(s)}: ${firstDiff(two, one)}`);
    const want = new Int32Array(n);
    ref.shiftConvU8(x, sign, shift, 3, want, s);
    assert.ok(two.every((v, i) => v === want[i]), `${JSON.stringify(s)} vs reference: ${firstDiff(two, want)}`);
    w.dispose();
    buf.freeAll();
  }
});

test("the layout choice: batch lanes for big batches, planes for one image, scalar for a linear layer at batch 1", () => {
  const conv2 = { N: 256, C: 6, H: 14, W: 14, K: 16, kh: 5, kw: 5, strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1, OH: 10, OW: 10 };
  assert.equal(chooseShiftLayout(conv2), "batch");
  assert.equal(chooseShiftLayout({ ...conv2, N: 1 }), "planes");
  assert.equal(chooseShiftLayout({ ...conv2, N: 1, C: 400, H: 1, W: 1, kh: 1, kw: 1, OH: 1, OW: 1 }), "scalar");
});

test("bad sizes, signs, shifts and mismatched geometry get clear errors", () => {
  const buf = new WasmBuffers(rt);
  const s: Conv2dShape = { N: 1, C: 2, H: 4, W: 4, K: 3, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1, groups: 1, OH: 4, OW: 4 };
  const n = 3 * 3 * 3 * 2;
  const sign = new Int8Array(n).fill(1), shift = new Uint8Array(n);
  assert.throws(() => prepareShiftWeights(new Int8Array(n - 1), shift, s), /sign must be an Int8Array of K·kh·kw·\(C\/groups\) = 54/);
  assert.throws(() => prepareShiftWeights(sign, new Uint8Array(n + 1), s), /shift must be a Uint8Array/);
  assert.throws(() => prepareShiftWeights(Int8Array.from(sign, (v, i) => (i === 5 ? 2 : v)), shift, s), /sign\[5\] = 2 is not −1, 0 or \+1/);
  assert.throws(() => prepareShiftWeights(sign, Uint8Array.from(shift, (v, i) => (i === 7 ? 24 : v)), s), /shift\[7\] = 24 exceeds 23/);
  assert.throws(() => prepareShiftWeights(sign, Uint8Array.from(shift, (v, i) => (i === 7 ? 32 : v)), s), /shift\[7\] = 32 exceeds 23/);
  assert.throws(() => prepareShiftWeights(sign, shift, { ...s, groups: 4 }), /not divisible by groups/);
  const w = prepareShiftWeights(sign, shift, s);
  const x = buf.u8(32), out = buf.i32(48);
  assert.throws(() => shiftConvU8(buf.u8(31), w, 0, out, s), /x must be a Uint8Array of N·H·W·C = 32 elements, got Uint8Array of 31/);
  assert.throws(() => shiftConvU8(x, w, 0, buf.i32(47), s), /out must be an Int32Array of N·OH·OW·K = 48/);
  assert.throws(() => shiftConvU8(x, w, 256, out, s), /padValue must be an integer in \[0, 255\], got 256/);
  assert.throws(() => shiftConvU8(x, w, 0, out, { ...s, C: 1 } as Conv2dShape), /prepared for C = 2, but the call has C = 1/);
  assert.throws(() => shiftConvU8(new Uint8Array(32), w, 0, out, s), /x is not in the kernel runtime's memory/);
  assert.throws(() => shiftConvRequantU8(x, w, 0, { bias: new Int32Array(3), mult: new Int32Array(3).fill(1 << 21), shift: new Uint8Array(3).fill(1), outZp: 0, lo: 0, hi: 255 }, buf.u8(48), s), /\|mult\[0\]\| = 2097152 must be < 2\^21/);
  assert.throws(() => shiftConvRequantU8(x, w, 0, { bias: new Int32Array(3), mult: new Int32Array(3), shift: new Uint8Array(3), outZp: 0, lo: 0, hi: 255 }, buf.u8(48), s), /shift\[0\] = 0 must be in \[1, 52\]/);
  const rq4 = prepareRequant({ bias: new Int32Array(4), mult: new Int32Array(4), shift: new Uint8Array(4).fill(1), outZp: 0, lo: 0, hi: 255 }, 4);
  assert.throws(() => shiftConvRequantU8(x, w, 0, rq4, buf.u8(48), s), /prepared for 4 channels, the layer has K = 3/);
  rq4.dispose();
  w.dispose();
  assert.throws(() => shiftConvU8(x, w, 0, out, s), /disposed/);
  buf.freeAll();
});

test("a channel of all-zero weights gives 0, and zero weights never touch the sum", () => {
  const buf = new WasmBuffers(rt);
  const s: Conv2dShape = { N: 33, C: 3, H: 5, W: 5, K: 2, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1, groups: 1, OH: 5, OW: 5 };
  const R = 27;
  const sign = new Int8Array(2 * R), shift = new Uint8Array(2 * R).fill(23);
  sign[R + 13] = 1; // channel 1: one tap, the centre of input channel 1
  shift[R + 13] = 3;
  const x = fill(buf.u8(33 * 75), rng(5));
  const w = prepareShiftWeights(sign, shift, s);
  assert.equal(w.nonzero, 1);
  for (const layout of ["batch", "planes", "scalar"] as const) {
    const out = buf.i32(33 * 25 * 2).fill(-1);
    withLayout(layout, () => shiftConvU8(x, w, 9, out, s));
    for (let p = 0; p < 33 * 25; p++) {
      assert.equal(out[2 * p], 0, `${layout}: channel 0 at ${p}`);
      assert.equal(out[2 * p + 1], x[p * 3 + 1] << 3, `${layout}: channel 1 at ${p}`);
    }
  }
  w.dispose();
  buf.freeAll();
});

test("a group stops at 128 weighted taps: 63 taps << 1 and 2 taps << 0 fit one i16 sum, 3 taps do not", () => {
  const buf = new WasmBuffers(rt);
  const s: Conv2dShape = { N: 2, C: 66, H: 1, W: 1, K: 2, kh: 1, kw: 1, strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1, OH: 1, OW: 1 };
  const sign = new Int8Array(2 * 66), shift = new Uint8Array(2 * 66);
  for (let c = 0; c < 66; c++) {
    sign[c] = c < 65 ? 1 : 0; // 63·2 + 2 = 128 units: exactly 255·128 = 32640
    sign[66 + c] = 1; // 63·2 + 3 = 129 units: 32895 would wrap in i16
    shift[c] = shift[66 + c] = c < 63 ? 1 : 0;
  }
  const x = buf.u8(2 * 66).fill(255);
  const w = prepareShiftWeights(sign, shift, s);
  for (const layout of ["batch", "planes", "scalar"] as const) {
    const got = buf.i32(4);
    withLayout(layout, () => shiftConvU8(x, w, 0, got, s));
    assert.deepEqual([...got], [32640, 32895, 32640, 32895], layout);
  }
  w.dispose();
  buf.freeAll();
});

test("planes longer than 128 taps are split so the i16 sums stay exact", () => {
  const buf = new WasmBuffers(rt);
  const s: Conv2dShape = { N: 40, C: 600, H: 1, W: 1, K: 3, kh: 1, kw: 1, strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1, OH: 1, OW: 1 };
  // channel 0: 600 taps +255 << 0; channel 1: 600 taps −255 << 1; channel 2: 300 + then 300 −
  const sign = new Int8Array(3 * 600), shift = new Uint8Array(3 * 600);
  for (let c = 0; c < 600; c++) {
    sign[c] = 1;
    sign[600 + c] = -1;
    shift[600 + c] = 1;
    sign[1200 + c] = c < 300 ? 1 : -1;
  }
  const x = buf.u8(40 * 600).fill(255);
  x[599] = 0; // one image-0 input differs, so channel 2 of image 0 is not 0
  const w = prepareShiftWeights(sign, shift, s);
  const want = new Int32Array(40 * 3);
  ref.shiftConvU8(x, sign, shift, 0, want, s);
  assert.equal(want[3], 600 * 255);
  for (const layout of ["batch", "planes", "scalar"] as const) {
    const got = buf.i32(40 * 3);
    withLayout(layout, () => shiftConvU8(x, w, 0, got, s));
    assert.ok(got.every((v, i) => v === want[i]), `${layout}: ${firstDiff(got, want)}`);
  }
  w.dispose();
  buf.freeAll();
});
