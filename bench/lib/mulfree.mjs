// mulfree's side of the benchmarks: the library as a user would call it (the built package in
// ../dist, or the directory in MULFREE_DIST), timed by the same helpers as the peers.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The built library: $MULFREE_DIST (relative to the current directory) or the repository's dist/. */
export const MULFREE_DIST = path.resolve(process.env.MULFREE_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url)));
const lib = await import(pathToFileURL(path.join(MULFREE_DIST, 'src/index.js')).href);
const { backward, createModel, initRuntime, manualSeed, noGrad, ops, optim, resolveSpec, runtime, scope, Tensor } = lib;

/** LeNet-5-BN with the given weights ({name: {shape, data}}). */
export function lenet(W) {
  manualSeed(1);
  const model = createModel(resolveSpec({ model: 'lenet5', op: 'conv' }));
  if (W) model.loadStateDict(new Map(Object.entries(W)), false);
  return model;
}

/** Batch buffers in wasm memory, refilled from the dataset cyclically. */
function batchFeeder(data, batch) {
  const rt = runtime();
  const x = Tensor.empty([batch, 1, 28, 28], true);
  const labels = rt.i32(rt.heap.alloc(batch * 4), batch);
  let pos = 0;
  return () => {
    for (let i = 0; i < batch; i++, pos = (pos + 1) % data.n) {
      x.data.set(data.images.subarray(pos * 784, (pos + 1) * 784), i * 784);
      labels[i] = data.labels[pos];
    }
    return { x, labels };
  };
}

/** One training-step function (forward, backward, optimizer step); returns the loss. */
export function trainStepFn({ W, optimizer, lr }, data, batch, threads) {
  initRuntime({ threads });
  const model = lenet(W).train();
  const opt = optim.makeOptimizer(optimizer, model.parameters(), { lr });
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

/** Logits of `n` images (NCHW Float32Array) for the accuracy cross-check. */
export function logits(W, inputs, n) {
  initRuntime({ threads: 1 });
  const model = lenet(W).eval();
  const x = Tensor.empty([n, 1, 28, 28], true);
  x.data.set(inputs.subarray(0, n * 784));
  return noGrad(() => scope(() => model.forward(x).toArray()));
}
