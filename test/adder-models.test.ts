// The 'adder' op kind in the model zoo: which layers become adders, their initialisation and
// options, the depthwise-separable 'mobile' model for every op kind, and checkpoints.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { adderOpOptions } from "../src/models/adder_op.js";
import { opKinds } from "../src/models/layer_factory.js";
import { createModel, parseSpec, resolveSpec } from "../src/models/zoo.js";
import type { ModelSpec } from "../src/models/spec.js";
import { Adder2d, AdderLayer, AdderLinear } from "../src/nn/adder.js";
import { Conv2d } from "../src/nn/conv.js";
import { Linear } from "../src/nn/linear.js";
import type { Module } from "../src/nn/module.js";
import { noGrad } from "../src/tensor/autograd.js";
import { manualSeed } from "../src/tensor/random.js";
import { scope } from "../src/tensor/storage.js";
import { Tensor } from "../src/tensor/tensor.js";
import { decodeCheckpoint, encodeCheckpoint, loadWeights } from "../src/train/checkpoint.js";

initRuntime({ threads: 1 });

const weightLayers = (m: Module) => m.namedModules().filter(([, l]) => l instanceof AdderLayer || l instanceof Conv2d || l instanceof Linear);

function forward(m: Module, shape: number[]): Float32Array {
  return noGrad(() =>
    scope(() => {
      const x = Tensor.empty(shape);
      for (let i = 0; i < x.size; i++) x.data[i] = Math.sin(i * 0.1);
      return m.eval().forward(x).toArray();
    }),
  );
}

test("lenet5 --op adder makes every weight layer an adder (the paper's MNIST setup), with N(0, 1) weights and no bias", () => {
  manualSeed(1);
  const m = createModel(resolveSpec({ model: "lenet5", op: "adder" }));
  const layers = weightLayers(m);
  assert.deepEqual(layers.map(([n, l]) => `${n}:${l.constructor.name}`), ["conv1:Adder2d", "conv2:Adder2d", "fc1:AdderLinear", "fc2:AdderLinear", "fc3:AdderLinear"]);
  for (const [name, l] of layers) assert.equal((l as AdderLayer).bias, null, `${name} has no bias`);
  const w = (m as unknown as { fc1: AdderLinear }).fc1.weight.data;
  const mean = w.reduce((s, v) => s + v, 0) / w.length;
  const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
  assert.ok(Math.abs(mean) < 0.02 && Math.abs(std - 1) < 0.02, `fc1 weights: mean ${mean}, std ${std}`);
  assert.deepEqual(forward(m, [2, 1, 28, 28]).length, 20);
});

test("adder layers: optional bias from U(0, 1), grad option and op options are validated", () => {
  manualSeed(2);
  const a = new Adder2d(4, 8, 3, { bias: true, padding: 1 });
  assert.ok(a.bias && a.bias.data.every((v) => v >= 0 && v < 1) && a.bias.data.some((v) => v > 0.5));
  assert.deepEqual(a.weight.shape, [8, 4, 3, 3]);
  assert.equal(a.grad, "paper");
  assert.equal(new AdderLinear(3, 2, { grad: "sign" }).grad, "sign");
  assert.throws(() => new Adder2d(4, 8, 3, { grad: "ste" as never }), /Adder2d: grad must be 'paper' or 'sign', got "ste"/);
  assert.throws(() => new AdderLinear(0, 2), /AdderLinear: inFeatures must be a positive integer, got 0/);
  assert.throws(() => new Adder2d(4, 6, 3, { groups: 4 }), /not divisible by groups 4/);
  assert.deepEqual(adderOpOptions({}), { eta: 0.2, grad: "paper", form: "direct" }); // no form: a spec from before it
  assert.equal(a.form, "min");
  assert.throws(() => new AdderLinear(3, 2, { form: "fast" as never }), /AdderLinear: form must be 'min' or 'direct', got "fast"/);
  assert.throws(() => resolveSpec({ model: "lenet5", op: "adder", opOptions: { form: "l1" } }), /option form of op adder must be 'min' or 'direct', got "l1"/);
  assert.throws(() => resolveSpec({ model: "lenet5", op: "adder", opOptions: { eta: -1 } }), /option eta of op adder must be a number > 0, got -1/);
  assert.throws(() => resolveSpec({ model: "lenet5", op: "adder", opOptions: { weightBits: 5 } }), /unknown option 'weightBits' for op adder \(valid: eta, grad, form\)/);
  const sign = createModel(resolveSpec({ model: "lenet5", op: "adder", opOptions: { grad: "sign" } }));
  assert.ok(weightLayers(sign).every(([, l]) => (l as AdderLayer).grad === "sign"));
});

test("new adder specs record the min form; a spec without a form (an older checkpoint) builds direct-form layers", () => {
  const form = (spec: ModelSpec) => weightLayers(createModel(spec)).map(([, l]) => (l as AdderLayer).form);
  const fresh = resolveSpec({ model: "lenet5", op: "adder" });
  assert.deepEqual(fresh.opOptions, { form: "min" });
  assert.ok(form(fresh).every((f) => f === "min"));
  assert.ok(form(resolveSpec({ model: "lenet5", op: "adder", opOptions: { form: "direct" } })).every((f) => f === "direct"));
  const older = parseSpec({ model: "lenet5", op: "adder", inChannels: 1, inputSize: 28, numClasses: 10, opOptions: { eta: 0.2 } });
  assert.ok(form(older).every((f) => f === "direct"));
  assert.equal(resolveSpec({ model: "lenet5", op: "conv" }).opOptions, undefined, "conv specs gain no options");
});

test("resnet20, resnet32 and vgg-small keep the first conv and the classifier multiplicative; allLayers makes them adders", () => {
  for (const model of ["resnet20", "resnet32", "vgg-small"]) {
    const layers = weightLayers(createModel(resolveSpec({ model, op: "adder" })));
    const [first, last] = [layers[0][1], layers[layers.length - 1][1]];
    assert.ok(!(first instanceof AdderLayer) && !(last instanceof AdderLayer), `${model}: edges stay multiplicative`);
    assert.ok(layers.slice(1, -1).every(([, l]) => l instanceof AdderLayer), `${model}: every inner weight layer is an adder`);
    const all = weightLayers(createModel(resolveSpec({ model, op: "adder", allLayers: true })));
    assert.ok(all.every(([, l]) => l instanceof AdderLayer), `${model} --all-layers: every weight layer is an adder`);
  }
  assert.equal(weightLayers(createModel(resolveSpec({ model: "resnet32", op: "adder" }))).length, 1 + 30 + 2 + 1);
});

test("mobile builds and runs for every op kind; its depthwise layers take the op kind with groups = channels", () => {
  for (const op of opKinds()) {
    const m = createModel(resolveSpec({ model: "mobile", op }));
    const y = forward(m, [2, 3, 32, 32]);
    assert.equal(y.length, 20, op);
    assert.ok(y.every(Number.isFinite), `${op}: finite outputs`);
  }
  const adder = createModel(resolveSpec({ model: "mobile", op: "adder" }));
  const layers = weightLayers(adder);
  const depthwise = layers.filter(([, l]) => l instanceof Adder2d && l.geometry.groups > 1);
  assert.equal(depthwise.length, 5);
  for (const [, l] of depthwise) assert.equal((l as Adder2d).geometry.groups, (l as Adder2d).geometry.inChannels);
  assert.ok(layers[0][1] instanceof Conv2d && layers[layers.length - 1][1] instanceof Linear);
  // MNIST-sized input: the global pool makes any size work
  const mnist = createModel(resolveSpec({ model: "mobile", op: "adder", inChannels: 1, inputSize: 28 }));
  assert.equal(forward(mnist, [1, 1, 28, 28]).length, 10);
});

test("an adder model round-trips through a checkpoint: the rebuilt model gives the same outputs", () => {
  manualSeed(3);
  const spec = resolveSpec({ model: "lenet5", op: "adder", opOptions: { eta: 0.1, grad: "sign" } });
  const m = createModel(spec);
  const ckpt = decodeCheckpoint(encodeCheckpoint(spec, m, null), "memory");
  assert.deepEqual(ckpt.spec.opOptions, { form: "min", eta: 0.1, grad: "sign" });
  manualSeed(99);
  const rebuilt = createModel(ckpt.spec);
  loadWeights(rebuilt, ckpt, "memory");
  assert.deepEqual(forward(rebuilt, [3, 1, 28, 28]), forward(m, [3, 1, 28, 28]));
});
