import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime, runtime } from "../src/kernels/runtime.js";
import { tuning } from "../src/kernels/gemm.js";
import { conv2dShape, convTuning, type Conv2dShape } from "../src/kernels/conv2d.js";
import * as fast from "../src/kernels/adder.js";
import * as ref from "../src/kernels/reference/adder.js";
import type { AdderForm, AdderGrad } from "../src/kernels/adder.js";
import { rng } from "./random.js";
import { WasmBuffers } from "./wasm-buffers.js";
import { randomConvShape, threadSplitShapes, type ConvKind } from "./conv-shapes.js";

/** |got − want| ≤ 2e-5 · (1 + bound), bound = Σ|terms| of that element (f32 vs f64 summation order). */
function assertClose(got: Float32Array, want: Float32Array, bound: Float32Array, what: string): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= 2e-5 * (1 + Math.abs(bound[i])))) assert.fail(`${what}: element ${i} = ${got[i]}, want ${want[i]} (bound ${bound[i]})`);
  }
}

const FORMS: AdderForm[] = ["min", "direct"];
const abs = (a: Float32Array) => a.map(Math.abs);
const neg = (a: Float32Array) => a.map((v) => -v);
const filled = (n: number, v: number) => new Float32Array(n).fill(v);

/**
 * Values in ±1.5 so |w − x| falls on both sides of the clamp; sometimes on a 0.25 grid so that
 * x == w happens (sgn = 0, clamp at 0) and padded taps meet w == 0.
 */
function values(rand: () => number, grid: boolean): () => number {
  return grid ? () => Math.round((rand() * 3 - 1.5) * 4) / 4 : () => rand() * 3 - 1.5;
}

interface Case {
  /** the five outputs, fast and reference, with per-element error bounds */
  run(buf: WasmBuffers): void;
}

function convCase(s: Conv2dShape, rand: () => number, label: string): Case {
  const what = `${label} ${JSON.stringify(s)}`;
  const nx = s.N * s.C * s.H * s.W, nw = s.K * (s.C / s.groups) * s.kh * s.kw, ny = s.N * s.K * s.OH * s.OW;
  return {
    run(buf) {
      const v = values(rand, rand() < 0.3);
      const x = buf.f32(nx, v), w = buf.f32(nw, v), dy = buf.f32(ny, v);
      const bias = rand() < 0.3 ? buf.f32(s.K, v) : null;

      const yRef = new Float32Array(ny), yBound = new Float32Array(ny);
      ref.adder2dForward(x, w, bias, yRef, s);
      ref.adder2dForward(abs(x), neg(abs(w)), bias && abs(bias), yBound, s); // −Σ(|x| + |w|) − |b|
      for (const form of FORMS) {
        const y = buf.f32(ny, () => NaN);
        fast.adder2dForward(x, w, bias, y, s, form);
        assertClose(y, yRef, yBound, `forward (${form}) ${what}`);
      }

      // Σ|dy| per input element: every clamp/sign term at its largest
      const dxBound = new Float32Array(nx);
      ref.adder2dBackwardInput(filled(nx, 0), abs(dy), filled(nw, 2), dxBound, s);
      // Σ|dy|·(|x| + |w|) per weight
      const dwBound = new Float32Array(nw);
      ref.adder2dBackwardWeight(abs(x), abs(dy), neg(abs(w)), dwBound, s);
      for (const grad of ["paper", "sign"] as AdderGrad[]) {
        const dx = buf.f32(nx, () => NaN), dxRef = new Float32Array(nx);
        fast.adder2dBackwardInput(x, dy, w, dx, s, grad);
        ref.adder2dBackwardInput(x, dy, w, dxRef, s, grad);
        assertClose(dx, dxRef, dxBound, `backward input (${grad}) ${what}`);

        const dw = buf.f32(nw, () => NaN), dwRef = new Float32Array(nw);
        fast.adder2dBackwardWeight(x, dy, w, dw, s, grad);
        ref.adder2dBackwardWeight(x, dy, w, dwRef, s, grad);
        assertClose(dw, dwRef, dwBound, `backward weight (${grad}) ${what}`);
      }
    },
  };
}

interface LinearShape { N: number; I: number; O: number }

function linearCase(l: LinearShape, rand: () => number, label: string): Case {
  const what = `${label} ${JSON.stringify(l)}`;
  const { N, I, O } = l;
  return {
    run(buf) {
      const v = values(rand, rand() < 0.3);
      const x = buf.f32(N * I, v), w = buf.f32(O * I, v), dy = buf.f32(N * O, v);
      const bias = rand() < 0.3 ? buf.f32(O, v) : null;

      const yRef = new Float32Array(N * O), yBound = new Float32Array(N * O);
      ref.adderLinearForward(x, w, bias, yRef, N, I, O);
      ref.adderLinearForward(abs(x), neg(abs(w)), bias && abs(bias), yBound, N, I, O);
      for (const form of FORMS) {
        const y = buf.f32(N * O, () => NaN);
        fast.adderLinearForward(x, w, bias, y, N, I, O, form);
        assertClose(y, yRef, yBound, `linear forward (${form}) ${what}`);
      }

      const dxBound = new Float32Array(N * I), dwBound = new Float32Array(O * I);
      ref.adderLinearBackwardInput(filled(N * I, 0), abs(dy), filled(O * I, 2), dxBound, N, I, O);
      ref.adderLinearBackwardWeight(abs(x), abs(dy), neg(abs(w)), dwBound, N, I, O);
      for (const grad of ["paper", "sign"] as AdderGrad[]) {
        const dx = buf.f32(N * I, () => NaN), dxRef = new Float32Array(N * I);
        fast.adderLinearBackwardInput(x, dy, w, dx, N, I, O, grad);
        ref.adderLinearBackwardInput(x, dy, w, dxRef, N, I, O, grad);
        assertClose(dx, dxRef, dxBound, `linear backward input (${grad}) ${what}`);

        const dw = buf.f32(O * I, () => NaN), dwRef = new Float32Array(O * I);
        fast.adderLinearBackwardWeight(x, dy, w, dw, N, I, O, grad);
        ref.adderLinearBackwardWeight(x, dy, w, dwRef, N, I, O, grad);
        assertClose(dw, dwRef, dwBound, `linear backward weight (${grad}) ${what}`);
      }
    },
  };
}

/** Run `fn` with tiny thread grains (every kernel splits) and the given im2col knobs. */
function withTuning<T>(blockFloats: number, weightColumns: number, fn: () => T): T {
  const saved = [tuning.minMacsPerThread, convTuning.blockFloats, convTuning.weightColumns];
  tuning.minMacsPerThread = 0;
  convTuning.blockFloats = blockFloats;
  convTuning.weightColumns = weightColumns;
  try {
    return fn();
  } finally {
    [tuning.minMacsPerThread, convTuning.blockFloats, convTuning.weightColumns] = saved;
  }
}

test("adder2d kernels (forward, input and weight gradients, paper and sign) match the reference on 240 random shapes", () => {
  const rt = initRuntime({ threads: 2 });
  const rand = rng(1912);
  const kinds: ConvKind[] = ["dense", "dense", "grouped", "depthwise"];
  const buf = new WasmBuffers(rt);
  buf.each(Array.from({ length: 240 }, (_, i) => i), (i) => {
    // a tiny block budget forces several im2col blocks per image; sometimes dW in passes of 4 columns
    const blockFloats = rand() < 0.5 ? 64 : convTuning.blockFloats;
    const weightColumns = rand() < 0.3 ? 4 : convTuning.weightColumns;
    const c = convCase(randomConvShape(rand, kinds[i % kinds.length]), rand, `shape ${i}`);
    withTuning(blockFloats, weightColumns, () => c.run(buf));
  });
});

test("adder linear kernels match the reference on 220 random shapes", () => {
  const rt = initRuntime({ threads: 2 });
  const rand = rng(1913);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const buf = new WasmBuffers(rt);
  buf.each(Array.from({ length: 220 }, (_, i) => i), (i) => {
    // odd sizes around the 8/16-wide panels, batch 1 a quarter of the time
    const shape = { N: rand() < 0.25 ? 1 : int(2, 40), I: int(1, 70), O: int(1, 40) };
    const c = linearCase(shape, rand, `shape ${i}`);
    withTuning(convTuning.blockFloats, convTuning.weightColumns, () => c.run(buf));
  });
});

test("adder kernels match the reference on LeNet and ResNet-20 layer shapes", () => {
  const rt = initRuntime({ threads: 2 });
  const rand = rng(6);
  const buf = new WasmBuffers(rt);
  const cases = [
    convCase(conv2dShape([2, 1, 28, 28], [6, 1, 5, 5], { padding: 2 }), rand, "LeNet conv1"),
    convCase(conv2dShape([2, 6, 14, 14], [16, 6, 5, 5]), rand, "LeNet conv2"),
    convCase(conv2dShape([1, 16, 16, 16], [32, 16, 3, 3], { padding: 1, stride: 2 }), rand, "ResNet stage 2 entry"),
    convCase(conv2dShape([1, 32, 8, 8], [64, 32, 1, 1], { stride: 2 }), rand, "ResNet 1×1 shortcut"),
    convCase(conv2dShape([2, 16, 9, 9], [16, 1, 3, 3], { padding: 1, groups: 16 }), rand, "depthwise 3×3"),
    linearCase({ N: 5, I: 256, O: 120 }, rand, "LeNet fc1"),
    linearCase({ N: 33, I: 84, O: 10 }, rand, "LeNet fc3"),
  ];
  buf.each(cases, (c) => c.run(buf));
});

test("the input gradient's clamp on integer bits gives clamp(w − x, −1, 1) exactly on edge values (6 and 2 output channels)", () => {
  // One output position with dy = 1 and the rest 0: each dx under the window is one term,
  // clamp(fround(w − x), −1, 1), so fast and reference must agree exactly.
  const rt = initRuntime({ threads: 1 });
  const buf = new WasmBuffers(rt);
  const edges = [0, -0, 1, -1, 0.5, -0.5, 1 + 2 ** -23, -1 - 2 ** -23, 1 - 2 ** -24, -1 + 2 ** -24, 2, -2, 3e38, -3e38,
    Infinity, -Infinity, 2 ** -140, -(2 ** -140), 1.5, -1.5, 0.75, -0.75, 1e-7, -1e-7];
  const pick = (i: number) => edges[(i * 7 + 3) % edges.length];
  buf.each([6, 2], (K) => {
    const s = conv2dShape([1, 3, 4, 4], [K, 3, 3, 3]);
    const x = buf.f32(48, (i) => pick(i)), w = buf.f32(K * 27, (i) => pick(i * 5 + 1));
    for (let k = 0; k < K; k++) {
      for (const p of [0, 3]) {
        const dy = buf.f32(K * 4, (i) => (i === k * 4 + p ? 1 : 0));
        const dx = buf.f32(48, () => NaN), dxRef = new Float32Array(48);
        fast.adder2dBackwardInput(x, dy, w, dx, s);
        ref.adder2dBackwardInput(x, dy, w, dxRef, s);
        for (let i = 0; i < 48; i++) {
          if (dx[i] !== dxRef[i]) assert.fail(`K = ${K}, dy at channel ${k} position ${p}: dx[${i}] = ${dx[i]}, want ${dxRef[i]}`);
        }
        assert.ok(dxRef.some((v) => v === 1) && dxRef.some((v) => v === -1) && dxRef.some((v) => v !== 0 && Math.abs(v) < 1));
      }
    }
  });
});

test("the input gradient's zero tiles (a ReLU's zeros, padding) give the general loop's bits", () => {
  // x after a ReLU: whole channels of +0 and runs of +0 between positive values. The kernel takes
  // dy·f(W) for tiles whose col values are all +0; the same x with −0 in place of +0 takes the
  // general loop (−0 has a bit set) and computes f(W − (−0)) = f(W) for W ≠ ±0: the same terms in
  // the same order, so both must agree to the bit, and both with the reference.
  const rt = initRuntime({ threads: 2 });
  const buf = new WasmBuffers(rt);
  const rand = rng(23);
  const shapes = [
    conv2dShape([2, 16, 8, 8], [16, 16, 3, 3], { padding: 1 }),
    conv2dShape([2, 6, 14, 14], [16, 6, 5, 5]),
    conv2dShape([3, 12, 9, 11], [9, 4, 3, 2], { groups: 3, stride: [2, 1], padding: 1 }),
    ...Array.from({ length: 30 }, (_, i) => randomConvShape(rand, (["dense", "grouped", "depthwise"] as ConvKind[])[i % 3])),
  ];
  buf.each(shapes, (s) => {
    const what = JSON.stringify(s);
    const nx = s.N * s.C * s.H * s.W, nw = s.K * (s.C / s.groups) * s.kh * s.kw, ny = s.N * s.K * s.OH * s.OW, HW = s.H * s.W;
    // plane 0 always zero: the first shape's 3×3 taps then give 4 all-zero row pairs per strip
    const zeroPlane = Array.from({ length: s.N * s.C }, (_, i) => i === 0 || rand() < 0.5);
    const x = buf.f32(nx, (i) => (zeroPlane[Math.floor(i / HW)] || Math.sin(i * 0.9) < 0 ? 0 : rand() * 2));
    const xNeg = buf.f32(nx, (i) => (x[i] === 0 ? -0 : x[i]));
    const w = buf.f32(nw, () => (rand() < 0.5 ? -1 : 1) * (0.05 + rand() * 1.5)); // never ±0
    const dy = buf.f32(ny, () => rand() * 2 - 1);
    for (const grad of ["paper", "sign"] as AdderGrad[]) {
      const dx = buf.f32(nx, () => NaN), dxNeg = buf.f32(nx, () => NaN), dxRef = new Float32Array(nx), bound = new Float32Array(nx);
      fast.adder2dBackwardInput(x, dy, w, dx, s, grad);
      fast.adder2dBackwardInput(xNeg, dy, w, dxNeg, s, grad);
      for (let i = 0; i < nx; i++) {
        if (!Object.is(dx[i], dxNeg[i])) assert.fail(`${grad} ${what}: dx[${i}] = ${dx[i]} with +0 inputs, ${dxNeg[i]} with −0`);
      }
      ref.adder2dBackwardInput(x, dy, w, dxRef, s, grad);
      ref.adder2dBackwardInput(filled(nx, 0), abs(dy), filled(nw, 2), bound, s);
      assertClose(dx, dxRef, bound, `${grad} ${what}`);
    }
  });
});

test("adder kernels reject bad sizes and grad rules with a message naming them", () => {
  const rt = runtime();
  const buf = new WasmBuffers(rt);
  const s = conv2dShape([1, 2, 5, 5], [3, 2, 3, 3]);
  const x = buf.f32(50, () => 0), w = buf.f32(54, () => 0), y = buf.f32(27, () => 0), dx = buf.f32(50, () => 0);
  assert.throws(() => fast.adder2dForward(x.subarray(1), w, null, y, s), /x has 49 elements, expected N·C·H·W = 50/);
  assert.throws(() => fast.adder2dForward(new Float32Array(50), w, null, y, s), /x is not in the kernel runtime's memory/);
  assert.throws(() => fast.adder2dBackwardInput(x, y, w, dx, s, "ste" as AdderGrad), /grad must be 'paper' or 'sign', got "ste"/);
  assert.throws(() => fast.adder2dForward(x, w, null, y, s, "fast" as AdderForm), /adder2dForward: form must be 'min' or 'direct', got "fast"/);
  assert.throws(() => fast.adderLinearForward(x, w, null, y, 1, 50, 1, "l1" as AdderForm), /adderLinearForward: form must be 'min' or 'direct', got "l1"/);
  assert.throws(() => fast.adderLinearForward(x, w, null, y, 1, 50, 0), /outFeatures must be a positive integer, got 0/);
  assert.throws(() => fast.adderLinearForward(x, w, null, y, 1, 50, 1), /w has 54 elements, expected outFeatures·inFeatures = 50/);
  buf.freeAll();
});

// Last: it leaves the runtime on one thread.
test("adder kernels give the same bytes with one and two threads", () => {
  const rt = initRuntime({ threads: 2 });
  const rand = rng(78);
  const convShapes = threadSplitShapes();
  const linearShapes: LinearShape[] = [{ N: 64, I: 256, O: 120 }, { N: 37, I: 29, O: 83 }, { N: 1, I: 84, O: 10 }];
  const buf = new WasmBuffers(rt);
  const v = () => rand() * 3 - 1.5;
  const runs = [
    ...convShapes.map((s) => {
      const x = buf.f32(s.N * s.C * s.H * s.W, v), w = buf.f32(s.K * (s.C / s.groups) * s.kh * s.kw, v), dy = buf.f32(s.N * s.K * s.OH * s.OW, v);
      const b = buf.f32(s.K, v);
      const y = buf.f32(dy.length, () => 0), dx = buf.f32(x.length, () => 0), dw = buf.f32(w.length, () => 0);
      const dxs = buf.f32(x.length, () => 0), dws = buf.f32(w.length, () => 0), yd = buf.f32(dy.length, () => 0);
      return () => {
        fast.adder2dForward(x, w, b, y, s);
        fast.adder2dForward(x, w, b, yd, s, "direct");
        fast.adder2dBackwardInput(x, dy, w, dx, s);
        fast.adder2dBackwardWeight(x, dy, w, dw, s);
        fast.adder2dBackwardInput(x, dy, w, dxs, s, "sign");
        fast.adder2dBackwardWeight(x, dy, w, dws, s, "sign");
        return [y, dx, dw, dxs, dws, yd].map((a) => new Uint8Array(a.slice().buffer));
      };
    }),
    ...linearShapes.map(({ N, I, O }) => {
      const x = buf.f32(N * I, v), w = buf.f32(O * I, v), dy = buf.f32(N * O, v), b = buf.f32(O, v);
      const y = buf.f32(N * O, () => 0), dx = buf.f32(N * I, () => 0), dw = buf.f32(O * I, () => 0);
      const dxs = buf.f32(N * I, () => 0), dws = buf.f32(O * I, () => 0), yd = buf.f32(N * O, () => 0);
      return () => {
        fast.adderLinearForward(x, w, b, y, N, I, O);
        fast.adderLinearForward(x, w, b, yd, N, I, O, "direct");
        fast.adderLinearBackwardInput(x, dy, w, dx, N, I, O);
        fast.adderLinearBackwardWeight(x, dy, w, dw, N, I, O);
        fast.adderLinearBackwardInput(x, dy, w, dxs, N, I, O, "sign");
        fast.adderLinearBackwardWeight(x, dy, w, dws, N, I, O, "sign");
        return [y, dx, dw, dxs, dws, yd].map((a) => new Uint8Array(a.slice().buffer));
      };
    }),
  ];
  try {
    // every kernel really splits, im2col runs in several blocks and dW in several passes
    const [two, one] = withTuning(512, 64, () => {
      const two = runs.map((run) => run());
      rt.setThreads(1);
      return [two, runs.map((run) => run())];
    });
    for (let i = 0; i < runs.length; i++) {
      for (let j = 0; j < 6; j++) assert.deepEqual(one[i][j], two[i][j], `output ${j} of case ${i}`);
    }
  } finally {
    buf.freeAll();
  }
});

test.after(() => initRuntime().close());
