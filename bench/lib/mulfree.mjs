// mulfree's side of the benchmarks: the library as a user would call it (the built package in
// ../dist, or the directory in MULFREE_DIST), timed by the same helpers as the peers.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { probeCores } from './core-probe.mjs';

/** The built library: $MULFREE_DIST (relative to the current directory) or the repository's dist/. */
export const MULFREE_DIST = path.resolve(process.env.MULFREE_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url)));
const lib = await import(pathToFileURL(path.join(MULFREE_DIST, 'src/index.js')).href);
const { backward, createModel, initRuntime, manualSeed, noGrad, ops, optim, resolveSpec, runtime, scope, Tensor } = lib;

/** bench/lib/core-probe.mjs's probe on this library's runtime, on `threads` threads. */
const coreProbe = (threads, ms) => probeCores(initRuntime({ threads }), threads, ms);

/** `await time()` with coreGmacs: the slower core probe of just before and just after it. */
export async function withCoreProbe(threads, time) {
  const before = coreProbe(threads);
  const result = await time();
  return { ...result, coreGmacs: Math.min(before, coreProbe(threads)) };
}

/** A zoo model with the conv op ('lenet5', 'resnet20', ...), seeded init, then the given weights ({name: {shape, data}}) if any. */
export function zooModel(name, W) {
  manualSeed(1);
  const model = createModel(resolveSpec({ model: name, op: 'conv' }));
  if (W) model.loadStateDict(new Map(Object.entries(W)), false);
  return model;
}

/** LeNet-5-BN with the given weights. */
export const lenet = (W) => zooModel('lenet5', W);

/**
 * n synthetic CIFAR-10 records (the library's data.syntheticCifar: a class tint and a bright square
 * per image, so a model can learn them), decoded and normalised as CIFAR-10:
 * {images NCHW Float32Array, labels Int32Array, n, shape, source}. The same for the same arguments.
 */
export function syntheticCifarData(n, seed) {
  const ds = lib.data.cifarFromBytes([{ bytes: lib.data.syntheticCifar(n, seed), name: 'synthetic' }]);
  return { images: ds.images, labels: ds.labels, n: ds.n, shape: ds.shape, source: `mulfree's synthetic CIFAR-10 records (data.syntheticCifar, seed ${seed}), CIFAR-10 normalisation` };
}

/** One image's NCHW shape [C, H, W] for a zoo model. */
export function inputShape(name) {
  const s = resolveSpec({ model: name, op: 'conv' });
  return [s.inChannels, s.inputSize, s.inputSize];
}

/** A zoo model's initial state dict (seed 1), copied out of wasm memory: {name: {shape, data}}. */
export function initialState(name) {
  initRuntime({ threads: 1 });
  return Object.fromEntries([...zooModel(name).stateDict()].map(([k, t]) => [k, { shape: [...t.shape], data: Float32Array.from(t.data) }]));
}

/** Batch buffers in wasm memory, refilled from the dataset cyclically. data.shape = one image's [C,H,W] (default MNIST's). */
function batchFeeder(data, batch) {
  const rt = runtime();
  const shape = data.shape ?? [1, 28, 28], size = shape[0] * shape[1] * shape[2];
  const x = Tensor.empty([batch, ...shape], true);
  const labels = rt.i32(rt.heap.alloc(batch * 4), batch);
  let pos = 0;
  return () => {
    for (let i = 0; i < batch; i++, pos = (pos + 1) % data.n) {
      x.data.set(data.images.subarray(pos * size, (pos + 1) * size), i * size);
      labels[i] = data.labels[pos];
    }
    return { x, labels };
  };
}

/**
 * One training-step function (forward, backward, optimizer step) for zoo model `model` (default
 * LeNet-5-BN); returns the loss. 'sgd' has momentum 0.9, as tfjs-wasm's side (tf.train.momentum).
 */
export function trainStepFn({ W, optimizer, lr, model: name = 'lenet5' }, data, batch, threads) {
  initRuntime({ threads });
  const model = zooModel(name, W).train();
  const opt = optim.makeOptimizer(optimizer, model.parameters(), optimizer === 'sgd' ? { lr, momentum: 0.9 } : { lr });
  const next = batchFeeder(data, batch);
  return () => {
    const { x, labels } = next();
    return scope(() => {
      const loss = ops.crossEntropy(model.forward(x), labels);
      backward(loss);
      opt.step();
      opt.zeroGrad();
      return loss.item();
    });
  };
}

/** One inference call on a fixed batch; returns the logits' first value (so the work is used). */
export function inferFn(W, inputs, batch, threads) {
  initRuntime({ threads });
  const model = lenet(W).eval();
  const x = Tensor.empty([batch, 1, 28, 28], true);
  x.data.set(inputs.subarray(0, batch * 784));
  return () => noGrad(() => scope(() => model.forward(x).data[0]));
}

/**
 * Logits of `n` images (NCHW Float32Array) for the accuracy cross-check: eval mode, or with
 * `train` the training-mode forward (batch statistics) of a throwaway model.
 */
export function logits(W, inputs, n, { model: name = 'lenet5', train = false } = {}) {
  initRuntime({ threads: 1 });
  const model = zooModel(name, W).train(train);
  const shape = inputShape(name), size = shape[0] * shape[1] * shape[2];
  const x = Tensor.empty([n, ...shape], true);
  x.data.set(inputs.subarray(0, n * size));
  return noGrad(() => scope(() => model.forward(x).toArray()));
}
