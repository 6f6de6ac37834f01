import { after, test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import * as fast from "../src/kernels/pool.js";
import * as ref from "../src/kernels/reference/pool.js";
import type { AvgPool2dShape, Pool2dShape } from "../src/kernels/pool.js";
import { rng } from "./random.js";
import { WasmBuffers } from "./wasm-buffers.js";

const rt = initRuntime({ threads: 2 });
after(() => rt.close());


const buffers = new WasmBuffers(rt);
const f32 = (n: number) => buffers.f32(n);
const i32 = (n: number) => buffers.i32(n);
const freeAll = () => buffers.freeAll();

/** Values with many ties (small integers), sometimes -inf, and NaN when asked. */
function fillRandom(a: Float32Array, r: () => number, nan = false): Float32Array {
  const ties = r() < 0.5;
  for (let i = 0; i < a.length; i++) {
    const u = r();
    if (nan && u < 0.01) a[i] = NaN;
    else if (u < 0.03) a[i] = -Infinity;
    else a[i] = ties ? Math.floor(r() * 5) - 2 : (r() - 0.5) * 10;
  }
  return a;
}

function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    if (!(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)))) assert.fail(`${what}: [${i}] got ${g}, want ${w}`);
  }
}

/** |got - want| <= rtol·mag (mag: the same op applied to |inputs|, so cancellation is allowed for). */
function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, mag: ArrayLike<number>, rtol: number, what: string): void {
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= rtol * mag[i] + 1e-30)) assert.fail(`${what}: [${i}] got ${got[i]}, want ${want[i]} (mag ${mag[i]})`);
  }
}

function abs(a: Float32Array): Float32Array {
  const b = f32(a.length);
  for (let i = 0; i < a.length; i++) b[i] = Math.abs(a[i]);
  return b;
}

/** A random valid pooling geometry: odd sizes, stride ≠ kernel, padding, ceil mode, batch 1. */
function randomShape(r: () => number): AvgPool2dShape {
  for (;;) {
    const kh = 1 + Math.floor(r() * 5), kw = r() < 0.6 ? kh : 1 + Math.floor(r() * 5);
    const s: AvgPool2dShape = {
      N: 1 + Math.floor(r() * 3),
      C: 1 + Math.floor(r() * 4),
      H: 1 + Math.floor(r() * 19),
      W: 1 + Math.floor(r() * (r() < 0.2 ? 40 : 19)),
      kh,
      kw,
      strideH: 1 + Math.floor(r() * 3),
      strideW: r() < 0.5 ? 1 + Math.floor(r() * 2) : 1 + Math.floor(r() * 4),
      padH: Math.floor(r() * (Math.floor(kh / 2) + 1)),
      padW: Math.floor(r() * (Math.floor(kw / 2) + 1)),
      ceilMode: r() < 0.3,
      countIncludePad: r() < 0.6,
      divisorOverride: r() < 0.1 ? 1 + Math.floor(r() * 9) : undefined,
    };
    const [oh, ow] = ref.pool2dOutputSize(s);
    if (oh >= 1 && ow >= 1) return s;
  }
}

const CASES = 300;

test("output size follows PyTorch", () => {
  const g = (H: number, k: number, s: number, p: number, ceilMode: boolean) =>
    fast.pool2dOutputSize({ N: 1, C: 1, H, W: H, kh: k, kw: k, strideH: s, strideW: s, padH: p, padW: p, ceilMode })[0];
  assert.equal(g(28, 2, 2, 0, false), 14);
  assert.equal(g(7, 3, 2, 1, false), 4);
  assert.equal(g(7, 3, 2, 1, true), 4);
  assert.equal(g(6, 3, 2, 0, false), 2);
  assert.equal(g(6, 3, 2, 0, true), 3);
  assert.equal(g(5, 2, 2, 0, true), 3);
  assert.equal(g(4, 2, 3, 1, true), 2); // ceil would give 3, but that window would start in the right padding
  const shape = fast.pool2dShape(2, 3, 32, 32, { kernel: 3, stride: 2, padding: 1 });
  assert.deepEqual([shape.OH, shape.OW], [16, 16]);
});

test("known values: max and average pooling", () => {
  const x = f32(16), y = f32(4), am = i32(4);
  for (let i = 0; i < 16; i++) x[i] = i;
  const s: Pool2dShape = { N: 1, C: 1, H: 4, W: 4, kh: 2, kw: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 };
  fast.maxPool2dForward(x, y, am, s);
  assert.deepEqual(Array.from(y), [5, 7, 13, 15]);
  assert.deepEqual(Array.from(am), [5, 7, 13, 15]);
  const ones = f32(9).fill(1), a = f32(4);
  const s3: AvgPool2dShape = { N: 1, C: 1, H: 3, W: 3, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 };
  fast.avgPool2dForward(ones, a, s3);
  assert.deepEqual(Array.from(a), [4 / 9, 4 / 9, 4 / 9, 4 / 9].map(Math.fround));
  fast.avgPool2dForward(ones, a, { ...s3, countIncludePad: false });
  assert.deepEqual(Array.from(a), [1, 1, 1, 1]);
  // ties: the first maximum in scan order wins; padding never wins even over -inf
  const t = f32(4).fill(-Infinity), ty = f32(9), ta = i32(9);
  fast.maxPool2dForward(t, ty, ta, { N: 1, C: 1, H: 2, W: 2, kh: 2, kw: 2, strideH: 1, strideW: 1, padH: 1, padW: 1 });
  assert.deepEqual(Array.from(ta), [0, 0, 1, 0, 0, 1, 2, 2, 3]);
  assert.ok(ty.every((v) => v === -Infinity));
  freeAll();
});

test("maxPool2d forward/backward equal the reference exactly", () => {
  const r = rng(11);
  for (let t = 0; t < CASES; t++) {
    const s = randomShape(r);
    const [oh, ow] = ref.pool2dOutputSize(s);
    const nin = s.N * s.C * s.H * s.W, nout = s.N * s.C * oh * ow;
    const x = fillRandom(f32(nin), r, true);
    const y1 = f32(nout), y2 = f32(nout), a1 = i32(nout), a2 = i32(nout);
    const what = `case ${t} ${JSON.stringify(s)}`;
    fast.maxPool2dForward(x, y1, a1, s);
    ref.maxPool2dForward(x, y2, a2, s);
    assertSame(y1, y2, `${what} y`);
    assertSame(a1, a2, `${what} argmax`);
    const dy = f32(nout);
    for (let i = 0; i < nout; i++) dy[i] = (r() - 0.5) * 4;
    const d1 = f32(nin).fill(7), d2 = f32(nin);
    fast.maxPool2dBackward(dy, a1, d1, s);
    ref.maxPool2dBackward(dy, a2, d2, s);
    assertSame(d1, d2, `${what} dx`);
    freeAll();
  }
});

test("avgPool2d forward/backward match the reference", () => {
  const r = rng(12);
  for (let t = 0; t < CASES; t++) {
    const s = randomShape(r);
    const [oh, ow] = ref.pool2dOutputSize(s);
    const nin = s.N * s.C * s.H * s.W, nout = s.N * s.C * oh * ow;
    const x = f32(nin);
    for (let i = 0; i < nin; i++) x[i] = (r() - 0.5) * 10;
    const y1 = f32(nout), y2 = f32(nout), mag = f32(nout);
    const what = `case ${t} ${JSON.stringify(s)}`;
    fast.avgPool2dForward(x, y1, s);
    ref.avgPool2dForward(x, y2, s);
    ref.avgPool2dForward(abs(x), mag, s);
    assertClose(y1, y2, mag, 1e-6, `${what} y`);
    const dy = f32(nout);
    for (let i = 0; i < nout; i++) dy[i] = (r() - 0.5) * 4;
    const d1 = f32(nin).fill(7), d2 = f32(nin), dmag = f32(nin);
    fast.avgPool2dBackward(dy, d1, s);
    ref.avgPool2dBackward(dy, d2, s);
    ref.avgPool2dBackward(abs(dy), dmag, s);
    assertClose(d1, d2, dmag, 1e-6, `${what} dx`);
    freeAll();
  }
});

test("the 2x2 stride-2 paths (LeNet, VGG) match the reference: max exactly, average closely", () => {
  const r = rng(13);
  for (let t = 0; t < 200; t++) {
    // mostly 2x2/2; sometimes a taller kernel or stride 1 down the rows (overlapping rows)
    const kh = r() < 0.7 ? 2 : 1 + Math.floor(r() * 3), sh = r() < 0.7 ? 2 : 1 + Math.floor(r() * 3);
    const s: AvgPool2dShape = {
      N: 1 + Math.floor(r() * 2), C: 1 + Math.floor(r() * 3), H: 2 + Math.floor(r() * 29), W: 2 + Math.floor(r() * 29),
      kh, kw: 2, strideH: sh, strideW: 2, padH: kh > 1 && r() < 0.2 ? 1 : 0, padW: 0, ceilMode: r() < 0.4, countIncludePad: r() < 0.5,
    };
    const [oh, ow] = ref.pool2dOutputSize(s);
    if (oh < 1 || ow < 1) continue;
    const nin = s.N * s.C * s.H * s.W, nout = s.N * s.C * oh * ow;
    const what = `case ${t} ${JSON.stringify(s)}`;
    const x = fillRandom(f32(nin), r, true);
    const y1 = f32(nout), y2 = f32(nout), a1 = i32(nout), a2 = i32(nout);
    fast.maxPool2dForward(x, y1, a1, s);
    ref.maxPool2dForward(x, y2, a2, s);
    assertSame(y1, y2, `${what} max y`);
    assertSame(a1, a2, `${what} max argmax`);
    const dy = f32(nout);
    for (let i = 0; i < nout; i++) dy[i] = r() < 0.05 ? -0 : (r() - 0.5) * 4;
    const d1 = f32(nin).fill(7), d2 = f32(nin);
    fast.maxPool2dBackward(dy, a1, d1, s);
    ref.maxPool2dBackward(dy, a2, d2, s);
    assertSame(d1, d2, `${what} max dx`);
    for (let i = 0; i < nin; i++) x[i] = (r() - 0.5) * 10;
    const mag = f32(nout);
    fast.avgPool2dForward(x, y1, s);
    ref.avgPool2dForward(x, y2, s);
    ref.avgPool2dForward(abs(x), mag, s);
    assertClose(y1, y2, mag, 1e-6, `${what} avg y`);
    const dmag = f32(nin);
    d1.fill(7);
    fast.avgPool2dBackward(dy, d1, s);
    ref.avgPool2dBackward(dy, d2, s);
    ref.avgPool2dBackward(abs(dy), dmag, s);
    assertClose(d1, d2, dmag, 1e-6, `${what} avg dx`);
    freeAll();
  }
});

test("globalAvgPool forward/backward match the reference", () => {
  const r = rng(14);
  for (let t = 0; t < CASES; t++) {
    const N = 1 + Math.floor(r() * 4), C = 1 + Math.floor(r() * 9), HW = 1 + Math.floor(r() * (r() < 0.5 ? 10 : 300));
    const x = f32(N * C * HW);
    for (let i = 0; i < x.length; i++) x[i] = (r() - 0.5) * 10;
    const y1 = f32(N * C), y2 = f32(N * C), mag = f32(N * C);
    fast.globalAvgPoolForward(x, y1, N, C, HW);
    ref.globalAvgPoolForward(x, y2, N, C, HW);
    ref.globalAvgPoolForward(abs(x), mag, N, C, HW);
    assertClose(y1, y2, mag, 1e-6, `case ${t} N=${N} C=${C} HW=${HW} y`);
    const d1 = f32(N * C * HW), d2 = f32(N * C * HW);
    fast.globalAvgPoolBackward(y1, d1, N, C, HW);
    ref.globalAvgPoolBackward(y1, d2, N, C, HW);
    assertSame(d1, d2, `case ${t} dx`);
    freeAll();
  }
});

test("bad shapes get a clear error", () => {
  const x = f32(16), y = f32(4), a = i32(4);
  const s: Pool2dShape = { N: 1, C: 1, H: 4, W: 4, kh: 2, kw: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 };
  assert.throws(() => fast.maxPool2dForward(x, y, a, { ...s, padH: 2 }), /padding \(2, 0\) must be at most half the kernel/);
  assert.throws(() => fast.maxPool2dForward(x, y, a, { ...s, kh: 5 }), /too small/);
  assert.throws(() => fast.maxPool2dForward(x, f32(5), a, s), /y has 5 elements, expected 4/);
  assert.throws(() => fast.maxPool2dForward(x, y, a, { ...s, OH: 3 }), /shape says output 3x/);
  assert.throws(() => fast.avgPool2dForward(x, y, { ...s, strideW: 0 }), /strideW must be a positive integer/);
  freeAll();
});

test("1 and 2 threads give bit-identical results", () => {
  const r = rng(15);
  const shapes: AvgPool2dShape[] = [
    { N: 64, C: 6, H: 28, W: 28, kh: 2, kw: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 },
    { N: 16, C: 8, H: 31, W: 33, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1, ceilMode: true, countIncludePad: false },
    { N: 8, C: 8, H: 30, W: 30, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 },
  ];
  const run = () => {
    const outs: number[][] = [];
    for (const s of shapes) {
      const [oh, ow] = ref.pool2dOutputSize(s);
      const nin = s.N * s.C * s.H * s.W, nout = s.N * s.C * oh * ow;
      const rr = rng(nin);
      const x = f32(nin), dy = f32(nout);
      for (let i = 0; i < nin; i++) x[i] = Math.floor(rr() * 9);
      for (let i = 0; i < nout; i++) dy[i] = rr() - 0.5;
      const y = f32(nout), am = i32(nout), dx = f32(nin), ya = f32(nout), dxa = f32(nin);
      fast.maxPool2dForward(x, y, am, s);
      fast.maxPool2dBackward(dy, am, dx, s);
      fast.avgPool2dForward(x, ya, s);
      fast.avgPool2dBackward(dy, dxa, s);
      const g = f32(s.N * s.C), dg = f32(nin);
      fast.globalAvgPoolForward(x, g, s.N, s.C, s.H * s.W);
      fast.globalAvgPoolBackward(g, dg, s.N, s.C, s.H * s.W);
      for (const v of [y, am, dx, ya, dxa, g, dg]) outs.push(Array.from(v));
    }
    return outs;
  };
  void r;
  const two = run();
  rt.setThreads(1);
  const one = run();
  rt.setThreads(2);
  for (let i = 0; i < two.length; i++) assertSame(two[i], one[i], `output ${i}`);
  freeAll();
});
