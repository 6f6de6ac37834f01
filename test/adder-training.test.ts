// AdderNet training through the real Trainer: the adaptive learning rate on every adder layer's
// raw gradient (before weight decay and momentum), and adder CIFAR models learning a synthetic
// CIFAR-format file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCifar, writeSyntheticCifar } from "../src/data/cifar.js";
import type { Dataset } from "../src/data/dataset.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { adderLayersOf } from "../src/models/adder_op.js";
import { resolveSpec, type ModelSpec } from "../src/models/zoo.js";
import { Adder2d } from "../src/nn/adder.js";
import { Conv2d } from "../src/nn/conv.js";
import { backward } from "../src/tensor/autograd.js";
import { crossEntropy } from "../src/tensor/ops/loss.js";
import { allocF32, allocI32, scope } from "../src/tensor/storage.js";
import { Tensor } from "../src/tensor/tensor.js";
import { Trainer, type TrainConfig } from "../src/train/trainer.js";

initRuntime({ threads: 2 });

const dir = mkdtempSync(join(tmpdir(), "mulfree-adder-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

let cifar: Dataset | undefined;
/** 32 synthetic CIFAR-10 records, written as a real CIFAR binary file and read back. */
function syntheticData(): Dataset {
  if (!cifar) {
    const path = join(dir, "synthetic.bin");
    writeSyntheticCifar(path, 32, 5);
    cifar = loadCifar(path);
  }
  return cifar;
}

function config(spec: ModelSpec, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    spec, epochs: 1, batchSize: 8, optimizer: "sgd", lr: 0.1, momentum: 0.9, nesterov: false, weightDecay: 5e-4,
    schedule: "constant", milestones: [], gamma: 0.1, seed: 3, augment: null, ...overrides,
  };
}

function batch(ds: Dataset, start: number, n: number): { images: Float32Array; labels: Int32Array; shape: number[] } {
  const [C, H, W] = ds.shape, sample = C * H * W;
  // kernels read tensors in place, so the batch goes into wasm memory (as Trainer.run does)
  const images = allocF32(n * sample, true);
  images.set(ds.images.subarray(start * sample, (start + n) * sample));
  const labels = allocI32(n, true);
  labels.set(ds.labels.subarray(start, start + n));
  return { images, labels, shape: [n, C, H, W] };
}

const rms = (g: Float32Array) => Math.sqrt(g.reduce((s, v) => s + v * v, 0) / g.length);

test("the adaptive learning rate scales every adder layer's raw gradient to RMS η, before weight decay and momentum", () => {
  const eta = 0.3;
  const ds = syntheticData();
  const trainer = new Trainer(config(resolveSpec({ model: "resnet20", op: "adder", opOptions: { eta } })), ds, ds);
  const model = trainer.model;
  const adderWeights = new Set(adderLayersOf(model).map(([, l]) => l.weight));
  assert.equal(adderWeights.size, 20, "9 blocks × 2 3×3 adders + 2 projection shortcuts");
  const { images, labels, shape } = batch(ds, 0, 8);

  // the raw gradients of this batch at the initial weights (train mode: BN uses batch statistics)
  const params = model.namedParameters();
  const before = new Map(params.map(([n, p]) => [n, Float32Array.from(p.data)]));
  scope(() => backward(crossEntropy(model.forward(new Tensor(images, shape)), labels)));
  const raw = new Map(params.map(([n, p]) => [n, Float32Array.from(p.grad!)]));
  model.zeroGrad();

  // what the optimizer sees after the op kind's hooks: record it with a hook registered last
  const seen = new Map<string, Float32Array>();
  for (const [n, p] of params) trainer.optimizer.registerGradHook(p, (g) => { seen.set(n, Float32Array.from(g)); });
  trainer.trainStep(images, labels, shape);

  for (const [name, p] of params) {
    const g = seen.get(name)!, r = raw.get(name)!, w0 = before.get(name)!;
    if (adderWeights.has(p)) {
      assert.ok(Math.abs(rms(g) - eta) < 1e-4 * eta, `${name}: RMS ${rms(g)}, want η = ${eta}`);
      const scale = (eta * Math.sqrt(r.length)) / Math.sqrt(r.reduce((s, v) => s + v * v, 0));
      for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i] - r[i] * scale) <= 1e-5 * (eta + Math.abs(g[i])), `${name}[${i}] is not the scaled raw gradient`);
    } else {
      assert.deepEqual(g, r, `${name} (not an adder weight) must keep its plain gradient`);
    }
    // first SGD step with momentum: buf = g + wd·w, w −= lr·buf: weight decay is added after the
    // hook, so it is not rescaled
    for (let i = 0; i < g.length; i++) {
      const want = Math.fround(w0[i] - Math.fround(0.1 * Math.fround(g[i] + Math.fround(5e-4 * w0[i]))));
      assert.ok(Math.abs(p.data[i] - want) <= 1e-6 * (1 + Math.abs(want)), `${name}[${i}] update: ${p.data[i]} vs ${want}`);
    }
  }
  assert.ok(params.some(([n]) => n === "conv1.weight") && !adderWeights.has(params.find(([n]) => n === "conv1.weight")![1]));
});

/**
 * Losses of `steps` steps on one fixed batch: a few steps on a small batch are too noisy to show
 * learning on new batches, but a model that learns must fit the batch it keeps seeing.
 */
function losses(spec: ModelSpec, steps: number, batchSize: number, lr: number): number[] {
  const ds = syntheticData();
  // no momentum: the adaptive LR makes every adder step the same size, and momentum on a fixed
  // batch overshoots within a few steps
  const trainer = new Trainer(config(spec, { batchSize, lr, momentum: 0 }), ds, ds);
  const { images, labels, shape } = batch(ds, 0, batchSize);
  return Array.from({ length: steps }, () => trainer.trainStep(images, labels, shape));
}

test("adder ResNet-20 trains on a synthetic CIFAR file: the loss goes down", () => {
  // BatchNorm on 8 images makes single steps jumpy: the best of the last three steps must be low
  const l = losses(resolveSpec({ model: "resnet20", op: "adder" }), 6, 8, 0.005);
  assert.ok(Math.min(...l.slice(-3)) < 0.7 * l[0], `losses ${l.map((v) => v.toFixed(3)).join(" ")}`);
});

test("adder VGG-small trains on a synthetic CIFAR file: the loss goes down", () => {
  const l = losses(resolveSpec({ model: "vgg-small", op: "adder" }), 3, 2, 0.002);
  assert.ok(l[l.length - 1] < 0.7 * l[0], `losses ${l.map((v) => v.toFixed(3)).join(" ")}`);
});

test("CIFAR adder models keep the first conv and the classifier multiplicative unless allLayers", () => {
  const ds = syntheticData();
  const plain = new Trainer(config(resolveSpec({ model: "resnet20", op: "adder" })), ds, ds).model as unknown as Record<string, unknown>;
  assert.ok(plain.conv1 instanceof Conv2d && plain.fc instanceof Conv2d);
  const all = new Trainer(config(resolveSpec({ model: "resnet20", op: "adder", allLayers: true })), ds, ds).model as unknown as Record<string, unknown>;
  assert.ok(all.conv1 instanceof Adder2d && all.fc instanceof Adder2d);
});
