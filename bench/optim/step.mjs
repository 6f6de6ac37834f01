// One optimizer step over a zoo model's parameters: the TypeScript loops of src/optim against the
// wasm updates (src/kernels/optim.ts) that the library installs, in one process, alternating, with
// the same gradients. Also checks that both give the same bits.
//
//   node bench/optim/step.mjs [--dist DIR] [--model lenet5] [--optimizer adam|radam|sgd] [--threads 1,2] [--rounds 7] [--ms 200]
//                             [--train-batch B]
//
// Prints the median (and best) ms per step() of each side and the ratio of the medians.
// --train-batch B times whole training steps instead (forward and backward of the model on a
// batch of B random inputs, then step()), the two engines alternating round by round in one
// process, so that the difference is the optimizer's share of a step under the same load.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, parseArgs } from '../lib/stats.mjs';

const opts = parseArgs(process.argv.slice(2));
const dist = path.resolve(opts.dist ?? process.env.MULFREE_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url)));
const modelName = opts.model ?? 'lenet5', optimizer = opts.optimizer ?? 'adam';
const threadsList = String(opts.threads ?? '1,2').split(',').map(Number);
const rounds = Number(opts.rounds ?? 7), minMs = Number(opts.ms ?? 200);
const lib = await import(pathToFileURL(path.join(dist, 'src/index.js')).href);
const { backward, createModel, initRuntime, manualSeed, ops, optim, resolveSpec, runtime, scope, Tensor, wasmUpdates } = lib;
const trainBatch = opts['train-batch'] === undefined ? 0 : Number(opts['train-batch']);

/**
 * A fresh model and optimizer; `fused` picks the engine for its steps. step() is the optimizer's
 * step on fixed gradients, or with --train-batch a whole training step.
 */
function setup(fused) {
  manualSeed(1);
  const model = createModel(resolveSpec({ model: modelName, op: 'conv' })).train();
  const params = model.parameters();
  params.forEach((p, k) => {
    p.grad = runtime().f32(runtime().heap.alloc(p.data.length * 4), p.data.length); // as backward() leaves it: in the kernel memory
    for (let i = 0; i < p.grad.length; i++) p.grad[i] = Math.sin(i * 0.7 + k) * 1e-2;
  });
  const opt = optim.makeOptimizer(optimizer, params, optimizer === 'sgd' ? { lr: 0.01, momentum: 0.9 } : { lr: 0.002 });
  const engine = () => optim.useFusedUpdates(fused ? wasmUpdates : null);
  if (!trainBatch) return { params, step: () => { engine(); opt.step(); } };
  const { inChannels: c, inputSize: h } = resolveSpec({ model: modelName, op: 'conv' });
  const x = Tensor.empty([trainBatch, c, h, h], true);
  for (let i = 0; i < x.data.length; i++) x.data[i] = Math.sin(i * 0.37);
  const labels = runtime().i32(runtime().heap.alloc(trainBatch * 4), trainBatch).map((_, i) => i % 10);
  return {
    params,
    step: () => scope(() => {
      engine();
      backward(ops.crossEntropy(model.forward(x), labels));
      opt.step();
      opt.zeroGrad();
    }),
  };
}

function msPerStep(step) {
  let calls = 0;
  const t0 = performance.now();
  do { step(); calls++; } while (performance.now() - t0 < minMs);
  return (performance.now() - t0) / calls;
}

const count = setup(false).params.reduce((s, p) => s + p.data.length, 0);
const what = trainBatch ? `training step (${modelName}, batch ${trainBatch}, ${optimizer})` : `${optimizer} step over ${modelName}'s ${count.toLocaleString('en-US')} parameters`;
console.log(`${what} — ${dist}`);
for (const threads of threadsList) {
  initRuntime({ threads });
  const js = setup(false), wasm = setup(true);
  for (let i = 0; i < 20; i++) { js.step(); wasm.step(); }
  const same = js.params.every((p, k) => Buffer.compare(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength), Buffer.from(wasm.params[k].data.buffer, wasm.params[k].data.byteOffset, wasm.params[k].data.byteLength)) === 0);
  const a = [], b = [];
  for (let r = 0; r < rounds; r++) { a.push(msPerStep(js.step)); b.push(msPerStep(wasm.step)); }
  const ma = median(a), mb = median(b);
  const gain = trainBatch ? `${(ma - mb).toFixed(3)} ms less per step, ${(ma / mb).toFixed(3)}×` : `${(ma / mb).toFixed(1)}×`;
  console.log(`threads ${threads}: TypeScript ${ma.toFixed(3)} ms (best ${Math.min(...a).toFixed(3)}), wasm ${mb.toFixed(3)} ms (best ${Math.min(...b).toFixed(3)}): ${gain} — same bits after 20 steps: ${same}`);
}
optim.useFusedUpdates(wasmUpdates);
process.exit(0);
