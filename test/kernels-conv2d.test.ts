import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime, runtime, type Runtime } from "../src/kernels/runtime.js";
import { tuning } from "../src/kernels/gemm.js";
import * as fast from "../src/kernels/conv2d.js";
import { conv2dShape, convTuning, type Conv2dShape } from "../src/kernels/conv2d.js";
import * as ref from "../src/kernels/reference/conv2d.js";
import { rng } from "./random.js";
import { WasmBuffers } from "./wasm-buffers.js";
import { randomConvShape, threadSplitShapes, type ConvKind } from "./conv-shapes.js";

const abs = (a: Float32Array) => a.map(Math.abs);

/** |got − want| ≤ 1e-5 · (1 + Σ|terms|), with Σ|terms| from the reference on absolute values. */
function assertClose(got: Float32Array, want: Float32Array, bound: Float32Array, what: string): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= 1e-5 * (1 + bound[i]))) assert.fail(`${what}: element ${i} = ${got[i]}, want ${want[i]}`);
  }
}

const sizes = (s: Conv2dShape) => ({
  x: s.N * s.C * s.H * s.W,
  w: s.K * (s.C / s.groups) * s.kh * s.kw,
  y: s.N * s.K * s.OH * s.OW,
});

/** All four kernels on one shape against the reference; outputs start as NaN to catch unwritten elements. */
function checkShape(rt: Runtime, s: Conv2dShape, rand: () => number, label: string): void {
  const sym = () => rand() * 2 - 1;
  const n = sizes(s);
  const buf = new WasmBuffers(rt);
  try {
    const x = buf.f32(n.x, sym), w = buf.f32(n.w, sym), b = rand() < 0.5 ? buf.f32(s.K, sym) : null, dy = buf.f32(n.y, sym);
    const y = buf.f32(n.y, () => NaN), dx = buf.f32(n.x, () => NaN), dw = buf.f32(n.w, () => NaN), db = buf.f32(s.K, () => NaN);
    const what = `${label} ${JSON.stringify(s)}`;

    fast.conv2dForward(x, w, b, y, s);
    const yRef = new Float32Array(n.y), yBound = new Float32Array(n.y);
    ref.conv2dForward(x, w, b, yRef, s);
    ref.conv2dForward(abs(x), abs(w), b && abs(b), yBound, s);
    assertClose(y, yRef, yBound, `forward ${what}`);

    fast.conv2dBackwardInput(dy, w, dx, s);
    const dxRef = new Float32Array(n.x), dxBound = new Float32Array(n.x);
    ref.conv2dBackwardInput(dy, w, dxRef, s);
    ref.conv2dBackwardInput(abs(dy), abs(w), dxBound, s);
    assertClose(dx, dxRef, dxBound, `backward input ${what}`);

    fast.conv2dBackwardWeight(dy, x, dw, s);
    const dwRef = new Float32Array(n.w), dwBound = new Float32Array(n.w);
    ref.conv2dBackwardWeight(dy, x, dwRef, s);
    ref.conv2dBackwardWeight(abs(dy), abs(x), dwBound, s);
    assertClose(dw, dwRef, dwBound, `backward weight ${what}`);

    fast.conv2dBackwardBias(dy, db, s);
    const dbRef = new Float32Array(s.K), dbBound = new Float32Array(s.K);
    ref.conv2dBackwardBias(dy, dbRef, s);
    ref.conv2dBackwardBias(abs(dy), dbBound, s);
    assertClose(db, dbRef, dbBound, `backward bias ${what}`);
  } finally {
    buf.freeAll();
  }
}

test("conv2d kernels match the reference on 240 random shapes (dense, grouped, depthwise)", () => {
  const rt = initRuntime({ threads: 2 });
  const saved = [tuning.minMacsPerThread, convTuning.blockFloats, convTuning.weightColumns];
  tuning.minMacsPerThread = 0; // split even tiny jobs across both threads
  try {
    const rand = rng(2024);
    const kinds: ConvKind[] = ["dense", "dense", "grouped", "depthwise"];
    for (let i = 0; i < 240; i++) {
      // a tiny block budget forces several im2col blocks per image (blockP = 16)
      convTuning.blockFloats = rand() < 0.5 ? 64 : saved[1];
      // and sometimes backward weight in passes of 4 columns of dW
      convTuning.weightColumns = rand() < 0.3 ? 4 : saved[2];
      checkShape(rt, randomConvShape(rand, kinds[i % kinds.length]), rand, `shape ${i}`);
    }
  } finally {
    [tuning.minMacsPerThread, convTuning.blockFloats, convTuning.weightColumns] = saved;
  }
});

test("conv2d kernels match the reference on LeNet and ResNet-20 layer shapes", () => {
  const rt = initRuntime({ threads: 2 });
  const rand = rng(5);
  const shapes = [
    conv2dShape([2, 1, 28, 28], [6, 1, 5, 5], { padding: 2 }), // LeNet conv1
    conv2dShape([2, 6, 14, 14], [16, 6, 5, 5]), // LeNet conv2
    conv2dShape([1, 16, 32, 32], [16, 16, 3, 3], { padding: 1 }), // ResNet-20 stage 1
    conv2dShape([1, 16, 32, 32], [32, 16, 3, 3], { padding: 1, stride: 2 }), // stage 2 entry
    conv2dShape([1, 64, 8, 8], [64, 64, 3, 3], { padding: 1 }), // stage 3
    conv2dShape([2, 32, 16, 16], [64, 1, 3, 3], { padding: 1, stride: 2, groups: 32 }), // depthwise ×2
  ];
  for (const [i, s] of shapes.entries()) checkShape(rt, s, rand, `layer ${i}`);
});

test("conv2dShape and the kernels reject bad shapes with a message naming the value", () => {
  const rt = runtime(); // whatever thread count is current: no pool restart
  assert.throws(() => conv2dShape([1, 6, 8, 8], [4, 3, 3, 3], { groups: 4 }), /C = 6 are not divisible by groups = 4/);
  assert.throws(() => conv2dShape([1, 6, 8, 8], [4, 2, 3, 3], { groups: 2 }), /weight has 2 input channels per group/);
  assert.throws(() => conv2dShape([1, 1, 4, 4], [1, 1, 7, 7]), /7×7 kernel .* does not fit a 4×4 input/);
  assert.throws(() => conv2dShape([1, 1, 8, 8], [1, 1, 3, 3], { stride: 0 }), /strideH must be an integer ≥ 1, got 0/);
  assert.throws(() => conv2dShape([1, 1, 8, 8], [1, 1, 3, 3], { padding: [1, -1] }), /padW must be an integer ≥ 0, got -1/);
  assert.throws(() => conv2dShape([1, 1, 8], [1, 1, 3, 3]), /input shape must be \[N, C, H, W\]/);
  const s = conv2dShape([1, 2, 5, 5], [3, 2, 3, 3]);
  const buf = new WasmBuffers(rt);
  const x = buf.f32(50, () => 0), w = buf.f32(54, () => 0), y = buf.f32(27, () => 0);
  assert.throws(() => fast.conv2dForward(x.subarray(1), w, null, y, s), /x has 49 elements, expected N·C·H·W = 50/);
  assert.throws(() => fast.conv2dForward(x, w, null, y, { ...s, OH: 4 }), /output size 4×3 should be 3×3/);
  assert.throws(() => fast.conv2dForward(new Float32Array(50), w, null, y, s), /x is not in the kernel runtime's memory/);
  const dy = buf.f32(27, () => 0), dw = buf.f32(54, () => 0);
  assert.throws(() => fast.conv2dBackwardWeight(dy, x, dw, s, buf.f32(2, () => 0)), /conv2dBackwardWeight: rowSum has 2 elements, expected K = 3/);
  buf.freeAll();
});

// Last: it leaves the runtime on one thread (switching the worker pool back and forth is slow).
test("conv2d kernels give the same bytes with one and two threads; dW's fused row sums are conv2dBackwardBias's bits", () => {
  const rt = initRuntime({ threads: 2 });
  const rand = rng(77);
  const shapes = threadSplitShapes();
  const buf = new WasmBuffers(rt);
  const cases = shapes.map((s) => {
    const n = sizes(s);
    const x = buf.f32(n.x, () => rand() - 0.5), w = buf.f32(n.w, () => rand() - 0.5), dy = buf.f32(n.y, () => rand() - 0.5);
    const b = buf.f32(s.K, () => rand() - 0.5);
    const y = buf.f32(n.y, () => 0), dx = buf.f32(n.x, () => 0), dw = buf.f32(n.w, () => 0), db = buf.f32(s.K, () => 0);
    const dwFused = buf.f32(n.w, () => 0), rowSum = buf.f32(s.K, () => NaN);
    return () => {
      fast.conv2dForward(x, w, b, y, s);
      fast.conv2dBackwardInput(dy, w, dx, s);
      fast.conv2dBackwardWeight(dy, x, dw, s);
      fast.conv2dBackwardBias(dy, db, s);
      rowSum.fill(NaN); // every channel must be written
      fast.conv2dBackwardWeight(dy, x, dwFused, s, rowSum);
      return [y, dx, dw, db, dwFused, rowSum].map((a) => new Uint8Array(a.slice().buffer));
    };
  });
  const saved = [tuning.minMacsPerThread, convTuning.blockFloats, convTuning.weightColumns];
  tuning.minMacsPerThread = 0; // every kernel really splits
  convTuning.blockFloats = 512; // and im2col runs in several blocks
  convTuning.weightColumns = 64; // and backward weight in several passes
  try {
    const two = cases.map((run) => run());
    rt.setThreads(1);
    const one = cases.map((run) => run());
    for (let i = 0; i < cases.length; i++) {
      const what = JSON.stringify(shapes[i]);
      for (let j = 0; j < 6; j++) assert.deepEqual(one[i][j], two[i][j], `output ${j} of ${what}`);
      for (const run of [one[i], two[i]]) {
        assert.deepEqual(run[4], run[2], `dW with row sums, ${what}`);
        assert.deepEqual(run[5], run[3], `row sums against conv2dBackwardBias, ${what}`);
      }
    }
  } finally {
    [tuning.minMacsPerThread, convTuning.blockFloats, convTuning.weightColumns] = saved;
    buf.freeAll();
  }
});

test.after(() => initRuntime().close());
