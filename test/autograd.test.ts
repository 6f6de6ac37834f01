import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { Rng, uniform } from "../src/tensor/random.js";
import { conv2d } from "../src/tensor/ops/conv2d.js";
import { linear } from "../src/tensor/ops/linear.js";
import { batchNorm } from "../src/tensor/ops/batchnorm.js";
import { relu } from "../src/tensor/ops/activation.js";
import { avgPool2d, maxPool2d, globalAvgPool } from "../src/tensor/ops/pool.js";
import { crossEntropy } from "../src/tensor/ops/loss.js";
import { add } from "../src/tensor/ops/arith.js";
import { flatten } from "../src/tensor/ops/shape.js";
import { Buffer, Tensor } from "../src/tensor/tensor.js";
import { accumulateGrad, backward, record } from "../src/tensor/autograd.js";
import { allocF32, allocI32 } from "../src/tensor/storage.js";
import { conv2dBackwardBias, conv2dShape } from "../src/kernels/conv2d.js";
import { checkGradients, randomParam } from "./helpers.js";

initRuntime({ threads: 1 });

test("conv2d gradients match finite differences (stride, padding, groups)", () => {
  const rng = Rng.fromSeed(1);
  for (const cfg of [
    { C: 2, K: 3, H: 5, W: 6, k: 3, stride: 1, padding: 1, groups: 1 },
    { C: 4, K: 2, H: 7, W: 5, k: 2, stride: 2, padding: 0, groups: 2 },
    { C: 3, K: 3, H: 6, W: 6, k: 3, stride: 2, padding: 1, groups: 3 },
  ]) {
    const x = randomParam([2, cfg.C, cfg.H, cfg.W], rng);
    const w = randomParam([cfg.K, cfg.C / cfg.groups, cfg.k, cfg.k], rng);
    const b = randomParam([cfg.K], rng);
    checkGradients(() => conv2d(x, w, b, cfg), [x, w, b], rng, { h: 1e-1, tol: 2e-3 });
  }
});

test("conv2d's bias gradient, taken in the weight gradient's pass, has conv2dBackwardBias's bits", () => {
  const rng = Rng.fromSeed(5);
  const x = randomParam([3, 4, 9, 9], rng), w = randomParam([5, 4, 3, 3], rng), b = randomParam([5], rng);
  const s = conv2dShape(x.shape, w.shape, { padding: 1 });
  const dy = allocF32(3 * 5 * 9 * 9, true);
  for (let i = 0; i < dy.length; i++) dy[i] = uniform(rng, -1, 1);
  const expected = allocF32(5, true);
  conv2dBackwardBias(dy, expected, s);
  for (const weightGrad of [true, false]) { // fused into dW's pass, and alone when w is frozen
    w.requiresGrad = weightGrad;
    w.grad = null;
    b.grad = null;
    backward(conv2d(x, w, b, { padding: 1 }), dy);
    assert.deepEqual(new Uint8Array(b.grad!.slice().buffer), new Uint8Array(expected.slice().buffer), `weight grad ${weightGrad}`);
    assert.equal(w.grad === null, !weightGrad);
  }
});

test("linear gradients match finite differences", () => {
  const rng = Rng.fromSeed(2);
  const x = randomParam([3, 7], rng);
  const w = randomParam([5, 7], rng);
  const b = randomParam([5], rng);
  checkGradients(() => linear(x, w, b), [x, w, b], rng, { h: 1e-1, tol: 2e-3 });
});

test("batchnorm (training mode) gradients match finite differences", () => {
  const rng = Rng.fromSeed(3);
  const x = randomParam([4, 3, 2, 3], rng, 2);
  const g = randomParam([3], rng);
  const b = randomParam([3], rng);
  const rm = Buffer.create([3]), rv = Buffer.create([3]);
  checkGradients(() => batchNorm(x, g, b, rm, rv, true, 0.1, 1e-5), [x, g, b], rng, { h: 1e-2, tol: 2e-2 });
  const x1 = randomParam([5, 4], rng, 2);
  const g1 = randomParam([4], rng), b1 = randomParam([4], rng);
  const rm1 = Buffer.create([4]), rv1 = Buffer.create([4]);
  checkGradients(() => batchNorm(x1, g1, b1, rm1, rv1, true, 0.1, 1e-5), [x1, g1, b1], rng, { h: 1e-2, tol: 2e-2 });
});

test("pooling, relu, residual add and cross-entropy gradients match finite differences", () => {
  const rng = Rng.fromSeed(4);
  const x = randomParam([2, 2, 6, 5], rng);
  checkGradients(() => avgPool2d(x, 2, { stride: 2, padding: 1 }), [x], rng, { h: 1e-1, tol: 2e-3 });
  checkGradients(() => maxPool2d(x, 3, { stride: 2 }), [x], rng, { h: 1e-3, tol: 2e-2 });
  checkGradients(() => globalAvgPool(x), [x], rng, { h: 1e-1, tol: 2e-3 });
  checkGradients(() => relu(add(x, x)), [x], rng, { h: 1e-3, tol: 2e-2 });
  const logits = randomParam([4, 5], rng, 3);
  const labels = allocI32(4, true);
  labels.set([0, 4, 2, 2]);
  checkGradients(() => crossEntropy(flatten(logits), labels), [logits], rng, { h: 1e-2, tol: 1e-2 });
});

test("a gradient check can fail", () => {
  const rng = Rng.fromSeed(5);
  const x = randomParam([2, 3], rng);
  // y = x² with a wrong backward (x instead of 2x)
  const badSquare = (t: Tensor) => {
    const y = Tensor.empty(t.shape);
    for (let i = 0; i < t.size; i++) y.data[i] = t.data[i] * t.data[i];
    return record(y, "bad", [t], (dy) => accumulateGrad(t, (dx) => { for (let i = 0; i < t.size; i++) dx[i] = dy[i] * t.data[i]; }));
  };
  assert.throws(() => checkGradients(() => badSquare(x), [x], rng), /gradient mismatch/);
});
