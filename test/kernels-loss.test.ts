import { after, test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import * as fast from "../src/kernels/loss.js";
import * as ref from "../src/kernels/reference/loss.js";
import { rng } from "./random.js";
import { assertNear } from "./close.js";
import { WasmBuffers } from "./wasm-buffers.js";

const rt = initRuntime({ threads: 2 });
after(() => rt.close());

const buffers = new WasmBuffers(rt);
const f32 = (n: number) => buffers.f32(n);
const i32 = (n: number) => buffers.i32(n);
const freeAll = () => buffers.freeAll();

interface Case {
  N: number;
  C: number;
  logits: Float32Array;
  labels: Int32Array;
  smoothing: number;
}

function randomCase(r: () => number): Case {
  const N = 1 + Math.floor(r() * (r() < 0.2 ? 300 : 9));
  const C = r() < 0.3 ? 10 : 1 + Math.floor(r() * (r() < 0.8 ? 20 : 300));
  const range = [0.1, 3, 30, 200][Math.floor(r() * 4)];
  const offset = r() < 0.2 ? (r() - 0.5) * 2000 : 0;
  const logits = f32(N * C), labels = i32(N);
  for (let i = 0; i < N * C; i++) logits[i] = offset + (r() - 0.5) * range;
  for (let i = 0; i < N; i++) labels[i] = Math.floor(r() * C);
  const smoothing = r() < 0.5 ? 0 : r() < 0.5 ? 0.1 : r();
  return { N, C, logits, labels, smoothing };
}

const CASES = 300;

test("softmax cross-entropy forward and backward match the reference", () => {
  const r = rng(31);
  for (let t = 0; t < CASES; t++) {
    const { N, C, logits, labels, smoothing } = randomCase(r);
    const p1 = f32(N * C), p2 = f32(N * C), l1 = f32(N), l2 = f32(N);
    const what = `case ${t} N=${N} C=${C} smoothing=${smoothing}`;
    const mean1 = fast.softmaxCrossEntropyForward(logits, labels, p1, l1, N, C, smoothing);
    const mean2 = ref.softmaxCrossEntropyForward(logits, labels, p2, l2, N, C, smoothing);
    let maxAbs = 0;
    for (let i = 0; i < N * C; i++) maxAbs = Math.max(maxAbs, Math.abs(logits[i]));
    for (let i = 0; i < N * C; i++) assertNear(p1[i], p2[i], 3e-7 * p2[i] + 1e-38, `${what} probs[${i}]`);
    for (let i = 0; i < N; i++) assertNear(l1[i], l2[i], 2.4e-7 * Math.abs(l2[i]) + 1e-12 * (1 + maxAbs), `${what} loss[${i}]`);
    assertNear(mean1, mean2, 2.4e-7 * Math.abs(mean2) + 1e-12 * (1 + maxAbs), `${what} mean`);
    const scale = (r() - 0.3) * 3 / N;
    const g1 = f32(N * C), g2 = f32(N * C);
    fast.softmaxCrossEntropyBackward(p1, labels, g1, N, C, scale, smoothing);
    ref.softmaxCrossEntropyBackward(p1, labels, g2, N, C, scale, smoothing);
    for (let i = 0; i < N * C; i++) {
      const target = (labels[Math.floor(i / C)] === i % C ? 1 - smoothing : 0) + smoothing / C;
      assertNear(g1[i], g2[i], 5e-7 * (Math.abs(p1[i]) + target) * Math.abs(scale) + 1e-38, `${what} dlogits[${i}]`);
    }
    freeAll();
  }
});

test("known values: uniform logits give log C; a confident right answer gives ~0", () => {
  const logits = f32(20).fill(0), labels = i32(2), probs = f32(20), losses = f32(2);
  labels.set([3, 9]);
  const m = fast.softmaxCrossEntropyForward(logits, labels, probs, losses, 2, 10);
  assertNear(m, Math.log(10), 1e-6, "uniform");
  assertNear(probs[0], 0.1, 1e-8, "uniform prob");
  logits[3] = 100;
  fast.softmaxCrossEntropyForward(logits, labels, probs, losses, 2, 10);
  assertNear(losses[0], 9 * Math.exp(-100), 1e-44, "confident");
  // label smoothing: the uniform case is unchanged, since every class has the same log-prob
  logits[3] = 0;
  assertNear(fast.softmaxCrossEntropyForward(logits, labels, probs, losses, 2, 10, 0.3), Math.log(10), 1e-6, "smoothed uniform");
  freeAll();
});

/** f64 mean loss of rows of logits, for finite differences. */
function lossF64(x: Float64Array, labels: Int32Array, N: number, C: number, eps: number): number {
  let total = 0;
  for (let r = 0; r < N; r++) {
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, x[r * C + j]);
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(x[r * C + j] - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < C; j++) total -= ((j === labels[r] ? 1 - eps : 0) + eps / C) * (x[r * C + j] - lse);
  }
  return total / N;
}

test("reference backward agrees with central finite differences (f64)", () => {
  const r = rng(32);
  const h = 1e-5;
  for (const [N, C, eps] of [[1, 2, 0], [3, 5, 0], [2, 10, 0.1], [4, 3, 0.5], [1, 1, 0]]) {
    const logits = f32(N * C), labels = i32(N);
    for (let i = 0; i < N * C; i++) logits[i] = (r() - 0.5) * 6;
    for (let i = 0; i < N; i++) labels[i] = Math.floor(r() * C);
    const probs = f32(N * C), losses = f32(N), grad = f32(N * C);
    ref.softmaxCrossEntropyForward(logits, labels, probs, losses, N, C, eps);
    ref.softmaxCrossEntropyBackward(probs, labels, grad, N, C, 1 / N, eps);
    const X = Float64Array.from(logits);
    for (let i = 0; i < N * C; i++) {
      const v = X[i];
      X[i] = v + h;
      const lp = lossF64(X, labels, N, C, eps);
      X[i] = v - h;
      const lm = lossF64(X, labels, N, C, eps);
      X[i] = v;
      assertNear(grad[i], (lp - lm) / (2 * h), 1e-6, `N=${N} C=${C} eps=${eps} d[${i}]`);
    }
    freeAll();
  }
});

test("argmaxRows and countCorrect equal the reference exactly (ties and NaN)", () => {
  const r = rng(33);
  for (let t = 0; t < CASES; t++) {
    const N = 1 + Math.floor(r() * 40), C = 1 + Math.floor(r() * 25);
    const x = f32(N * C), labels = i32(N);
    const ties = r() < 0.5;
    for (let i = 0; i < N * C; i++) {
      const u = r();
      x[i] = u < 0.02 ? NaN : u < 0.05 ? -Infinity : ties ? Math.floor(r() * 4) : r() - 0.5;
    }
    for (let i = 0; i < N; i++) labels[i] = Math.floor(r() * C);
    const a1 = i32(N), a2 = i32(N);
    fast.argmaxRows(x, a1, N, C);
    ref.argmaxRows(x, a2, N, C);
    assert.deepEqual(Array.from(a1), Array.from(a2), `case ${t} N=${N} C=${C}`);
    assert.equal(fast.countCorrect(x, labels, N, C), ref.countCorrect(x, labels, N, C), `case ${t} countCorrect`);
    freeAll();
  }
});

test("bad input gets a clear error", () => {
  const x = f32(6), p = f32(6), l = f32(2), labels = i32(2);
  labels.set([0, 3]);
  assert.throws(() => fast.softmaxCrossEntropyForward(x, labels, p, l, 2, 3), /labels\[1\] = 3 is outside \[0, 3\)/);
  labels[1] = 2;
  assert.throws(() => fast.softmaxCrossEntropyForward(x, labels, p, f32(3), 2, 3), /losses has 3 elements, expected 2/);
  assert.throws(() => fast.softmaxCrossEntropyForward(x, labels, p, l, 2, 3, 2), /labelSmoothing must be in \[0, 1\]/);
  assert.throws(() => fast.softmaxCrossEntropyBackward(p, labels, x, 2, 3, NaN), /scale must be finite/);
  freeAll();
});

test("1 and 2 threads give bit-identical results", () => {
  const shapes = [[256, 10], [1000, 10], [64, 1000], [999, 7]];
  const run = () => {
    const outs: number[][] = [];
    for (const [N, C] of shapes) {
      const rr = rng(N * C);
      const x = f32(N * C), labels = i32(N);
      for (let i = 0; i < N * C; i++) x[i] = (rr() - 0.5) * 20;
      for (let i = 0; i < N; i++) labels[i] = Math.floor(rr() * C);
      const probs = f32(N * C), losses = f32(N), g = f32(N * C), am = i32(N);
      const m = fast.softmaxCrossEntropyForward(x, labels, probs, losses, N, C, 0.1);
      fast.softmaxCrossEntropyBackward(probs, labels, g, N, C, 1 / N, 0.1);
      fast.argmaxRows(x, am, N, C);
      for (const v of [probs, losses, g, am]) outs.push(Array.from(v));
      outs.push([m, fast.countCorrect(x, labels, N, C)]);
      freeAll();
    }
    return outs;
  };
  const two = run();
  rt.setThreads(1);
  const one = run();
  rt.setThreads(2);
  for (let i = 0; i < two.length; i++) assert.deepEqual(two[i], one[i], `output ${i}`);
});
