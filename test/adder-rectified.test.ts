// An adder layer whose input is a ReLU's output leaves out of x's gradient the work that lands
// only where x = 0, which the ReLU's backward drops (src/tensor/ops/adder.ts, adderOptions). Every
// gradient that survives must keep its bits; x.grad itself differs only where x = 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { createModel, resolveSpec } from "../src/models/zoo.js";
import { backward } from "../src/tensor/autograd.js";
import { adder2d, adderOptions } from "../src/tensor/ops/adder.js";
import { relu } from "../src/tensor/ops/activation.js";
import { batchNorm } from "../src/tensor/ops/batchnorm.js";
import { crossEntropy } from "../src/tensor/ops/loss.js";
import { manualSeed } from "../src/tensor/random.js";
import { scope } from "../src/tensor/storage.js";
import { Buffer, Parameter, Tensor } from "../src/tensor/tensor.js";
import { rng } from "./random.js";

initRuntime({ threads: 2 });

/** Runs fn with the skip on and off; returns both results. */
function bothWays<T>(fn: () => T): { on: T; off: T } {
  const saved = adderOptions.skipRectifiedZeros;
  try {
    adderOptions.skipRectifiedZeros = true;
    const on = fn();
    adderOptions.skipRectifiedZeros = false;
    return { on, off: fn() };
  } finally {
    adderOptions.skipRectifiedZeros = saved;
  }
}

/** An [8, 6, 3, 3] weight in the kernels' memory. */
function weights(values: Float32Array): Parameter {
  const w = Parameter.create([8, 6, 3, 3]);
  w.data.set(values);
  return w;
}

/**
 * A [2, 6, 16, 16] input (every third plane `zero()`, the rest `value()`), an [8, 6, 3, 3] weight
 * and the [2, 8, 16, 16] output gradient of a 3×3 adder layer with padding 1.
 */
function layerData(seed: number, zero: (rand: () => number) => number, value: (rand: () => number) => number) {
  const rand = rng(seed);
  return {
    input: Float32Array.from({ length: 2 * 6 * 16 * 16 }, (_, i) => (Math.floor(i / 256) % 3 === 0 ? zero(rand) : value(rand))),
    w: Float32Array.from({ length: 8 * 6 * 9 }, () => rand() * 2 - 1),
    dy: Float32Array.from({ length: 2 * 8 * 16 * 16 }, () => rand() * 2 - 1),
  };
}

/** x.grad with the skip on equals the whole sum wherever x ≠ 0, and differs somewhere (the skip ran). */
function assertDiffersOnlyAtZeros(x: Float32Array, on: Float32Array, off: Float32Array): void {
  let differ = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== 0) assert.ok(Object.is(on[i], off[i]), `x.grad[${i}] where x = ${x[i]}`);
    else if (!Object.is(on[i], off[i])) differ++;
  }
  assert.ok(differ > 0, "the skip never engaged: x.grad is the whole sum everywhere");
}

const sameBits = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

test("relu → adder2d: z's and w's gradients keep their bits; x = relu(z) differs only where x = 0", () => {
  // z < 0 on whole planes (zero rows after the ReLU) and on about half of the rest
  const data = layerData(3, (rand) => -rand(), (rand) => rand() * 2 - 1);
  const { on, off } = bothWays(() => scope(() => {
    const z = Tensor.from(data.input, [2, 6, 16, 16]);
    z.requiresGrad = true;
    const w = weights(data.w);
    const x = relu(z);
    backward(adder2d(x, w, null, { padding: 1 }), data.dy);
    const out = { x: x.toArray(), xGrad: Float32Array.from(x.grad!), zGrad: Float32Array.from(z.grad!), wGrad: Float32Array.from(w.grad!) };
    w.dispose();
    return out;
  }));
  assert.ok(sameBits(on.zGrad, off.zGrad), "z.grad");
  assert.ok(sameBits(on.wGrad, off.wGrad), "w.grad");
  assertDiffersOnlyAtZeros(on.x, on.xGrad, off.xGrad);
});

test("BatchNorm with the ReLU fused → adder2d: the BatchNorm's gradients keep their bits; x differs only where x = 0", () => {
  const data = layerData(6, (rand) => -rand() - 3, (rand) => rand() * 2 - 1); // planes far below the mean: zeros after the ReLU
  const { on, off } = bothWays(() => scope(() => {
    const z = Tensor.from(data.input, [2, 6, 16, 16]);
    z.requiresGrad = true;
    const gamma = Parameter.create([6]), beta = Parameter.create([6]);
    gamma.data.fill(1);
    const x = batchNorm(z, gamma, beta, Buffer.create([6]), Buffer.create([6]), true, 0.1, 1e-5, true);
    const w = weights(data.w);
    backward(adder2d(x, w, null, { padding: 1 }), data.dy);
    const out = {
      x: x.toArray(), xGrad: Float32Array.from(x.grad!), zGrad: Float32Array.from(z.grad!),
      params: [gamma, beta, w].map((p) => Float32Array.from(p.grad!)),
    };
    for (const p of [gamma, beta, w]) p.dispose();
    return out;
  }));
  assert.ok(sameBits(on.zGrad, off.zGrad), "z.grad");
  on.params.forEach((g, i) => assert.ok(sameBits(g, off.params[i]), `parameter ${i}'s gradient`));
  assertDiffersOnlyAtZeros(on.x, on.xGrad, off.xGrad);
});

test("an input that is not a ReLU's output gets the whole gradient, zeros included", () => {
  const data = layerData(4, () => 0, (rand) => rand());
  const { on, off } = bothWays(() => scope(() => {
    const x = Tensor.from(data.input, [2, 6, 16, 16]);
    x.requiresGrad = true;
    const w = weights(data.w);
    backward(adder2d(x, w, null, { padding: 1 }), data.dy);
    w.dispose();
    return Float32Array.from(x.grad!);
  }));
  assert.ok(sameBits(on, off), "x.grad of a leaf with zeros changed with the skip on");
});

test("ResNet-20 adder (BatchNorm with the ReLU fused, residual ReLUs): every parameter gradient keeps its bits", () => {
  const rand = rng(5);
  const images = Float32Array.from({ length: 2 * 3 * 32 * 32 }, () => rand() * 2 - 1);
  const labels = new Int32Array([3, 7]);
  const { on, off } = bothWays(() => scope(() => {
    manualSeed(9);
    const model = createModel(resolveSpec({ model: "resnet20", op: "adder" })).train();
    backward(crossEntropy(model.forward(Tensor.from(images, [2, 3, 32, 32])), labels));
    return model.parameters().map((p) => Float32Array.from(p.grad!));
  }));
  assert.equal(on.length, off.length);
  on.forEach((g, i) => assert.ok(sameBits(g, off[i]), `parameter ${i}'s gradient`));
});
