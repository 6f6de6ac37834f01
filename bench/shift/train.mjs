// DeepShift training throughput on MNIST: shift-q and shift-ps against conv, same model, one process.
//
//   node bench/shift/train.mjs [--dist dist] [--models lenet5,deepshift-conv] [--ops conv,shift-q,shift-ps]
//                              [--batches 64,256] [--repeats 7] [--steps 10] [--warmup 5] [--threads 1]
//                              [--optimizer sgd] [--quiet-wait 120] [--no-save]
//
// One step = forward, backward and optimizer update through the library's Trainer (the code path of
// `mulfree train`: shift rounding, fixed-point inputs and biases, PS's parameter groups and 2^P
// penalty). Every op uses the same optimizer (default SGD momentum 0.9, wd 5e-4) so the ratio
// measures the layers, not the optimizer; an op may name its own as `op:optimizer`, e.g.
// `shift-ps:radam` (what PS trains with), which also updates two parameters (P, S) per weight.
// After `warmup` steps per op, the ops' timings alternate (repeats × `steps` steps each) so
// background load hits all of them alike; medians, ranges and shift/conv ratios are reported, and
// bench/results/shift-train-<date>.json gets every sample.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cleanRepeats, fmtRange, intList, machineInfo, markdownTable, parseArgs, saveResult, startClock, summarize, waitForQuiet } from '../lib/stats.mjs';

const HELP = `Usage: node bench/shift/train.mjs [options]
  --dist DIR          built library (default: the repository's dist/)
  --models LIST       zoo models (default lenet5,deepshift-conv)
  --ops LIST          op kinds, optionally op:optimizer (default conv,shift-q,shift-ps; the first is the baseline)
  --batches LIST      batch sizes (default 64,256)
  --repeats R         timed repeats per op; median, min, max reported (default 7)
  --steps N           timed steps per repeat (default 10)
  --warmup N          untimed warm-up steps per op (default 5)
  --threads N         worker threads (default 1)
  --optimizer NAME    sgd (momentum 0.9, wd 5e-4), adam or radam, for ops that name none (default sgd)
  --lr X              learning rate (default 0.01)
  --quiet-wait S      wait up to S seconds for other processes to go idle before each block (default 120; 0 = don't)
  --max-load X        retry a repeat taken while other processes kept more than X cores busy (default 0.15)
  --no-save           do not write results/shift-train-*.json`;

const o = parseArgs(process.argv.slice(2), { booleans: ['no-save', 'help'] });
if (o.help) { console.log(HELP); process.exit(0); }
const repo = fileURLToPath(new URL('../../', import.meta.url));
const dist = path.resolve(o.dist ?? path.join(repo, 'dist'));
const models = (o.models ?? 'lenet5,deepshift-conv').split(',');
const ops = (o.ops ?? 'conv,shift-q,shift-ps').split(',').map((s) => { const [op, optimizer] = s.split(':'); return { op, optimizer, label: s }; });
const batches = intList(o.batches ?? '64,256', 'batches');
const repeats = Number(o.repeats ?? 7), steps = Number(o.steps ?? 10), warmup = Number(o.warmup ?? 5);
const threads = Number(o.threads ?? 1), lr = Number(o.lr ?? 0.01), defaultOptimizer = o.optimizer ?? 'sgd';
const quietWait = Number(o['quiet-wait'] ?? 120) * 1000, maxLoad = Number(o['max-load'] ?? 0.15);

const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { initRuntime } = await load('src/kernels/runtime.js');
const { resolveSpec } = await load('src/models/zoo.js');
const { loadMnist } = await load('src/data/mnist.js');
const { Trainer } = await load('src/train/trainer.js');
const { allocF32, allocI32 } = await load('src/tensor/storage.js');

initRuntime({ threads });
const train = loadMnist('train');
const m = machineInfo();
console.error(`shift vs conv training, ${threads} thread(s), ${m.cpu}, ${m.cores} cores, Node ${m.node}, dist ${dist}`);

/** A step function over the MNIST training set (cyclic), through the library's Trainer. */
function makeStep(model, { op, optimizer }, batch) {
  const config = {
    spec: resolveSpec({ model, op }), epochs: 1, batchSize: batch, optimizer: optimizer ?? defaultOptimizer, lr, momentum: 0.9,
    nesterov: false, weightDecay: 5e-4, schedule: 'constant', milestones: [], gamma: 0.1, seed: 1, augment: null,
  };
  const trainer = new Trainer(config, train, train);
  const images = allocF32(batch * 784, true), labels = allocI32(batch, true);
  let offset = 0;
  return () => {
    if (offset + batch > train.n) offset = 0;
    images.set(train.images.subarray(offset * 784, (offset + batch) * 784));
    labels.set(train.labels.subarray(offset, offset + batch));
    offset += batch;
    return trainer.trainStep(images, labels, [batch, 1, 28, 28]);
  };
}

const rows = [], table = [];
for (const model of models) {
  for (const batch of batches) {
    const runs = ops.map((spec) => {
      const step = makeStep(model, spec, batch);
      const losses = [];
      for (let i = 0; i < warmup; i++) losses.push(step());
      return { ...spec, step, losses, samples: [] };
    });
    const otherLoadBefore = quietWait > 0 ? await waitForQuiet({ threshold: maxLoad, maxWaitMs: quietWait, log: console.error }) : null;
    // One repeat times every op once, in turn; a repeat taken under background load is retried.
    const { samples, retries } = await cleanRepeats(async () => {
      const stop = startClock();
      const rep = runs.map((run) => {
        const t = startClock();
        for (let i = 0; i < steps; i++) run.losses.push(run.step());
        return t().wall;
      });
      return { ...stop(), rep };
    }, { repeats, threshold: maxLoad, waitMs: quietWait });
    const base = summarize(samples.map((s) => (steps * batch) / s.rep[0]));
    runs.forEach((run, k) => {
      const imgPerSec = summarize(samples.map((s) => (steps * batch) / s.rep[k]));
      // ratio per repeat (same moment, same load), then its median
      const ratio = summarize(samples.map((s) => s.rep[0] / s.rep[k]));
      const msPerStep = summarize(samples.map((s) => (s.rep[k] / steps) * 1e3));
      rows.push({ model, batch, op: run.label, optimizer: run.optimizer ?? defaultOptimizer, imgPerSec, msPerStep, ratioToBaseline: ratio,
        lossFirst: run.losses[0], lossLast: run.losses.at(-1), otherLoad: Math.max(...samples.map((s) => s.otherLoad)), retries, otherLoadBefore });
      table.push([model, batch, run.label, fmtRange(imgPerSec), (msPerStep.median).toFixed(1), k === 0 ? '1.00×' : `${ratio.median.toFixed(2)}× (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})`]);
    });
    const line = runs.slice(1).map((run, i) => `${run.label} ${(summarize(samples.map((s) => s.rep[0] / s.rep[i + 1])).median).toFixed(2)}×`).join(', ');
    console.error(`${model} batch ${batch}: ${runs[0].label} ${Math.round(base.median)} img/s; ${line} (medians of ${repeats} × ${steps} steps, max other load ${Math.max(...samples.map((s) => s.otherLoad)).toFixed(2)} cores, ${retries} retried)`);
  }
}

console.log(markdownTable(['model', 'batch', 'op', 'img/s median (min–max)', 'ms/step', `÷ ${ops[0].label}, median (min–max)`], table));
if (!o['no-save']) {
  const file = saveResult('shift-train', {
    benchmark: 'deepshift training throughput', dist,
    options: { models, ops: ops.map((x) => x.label), batches, repeats, steps, warmup, threads, optimizer: defaultOptimizer, lr, momentum: 0.9, weightDecay: 5e-4, quietWaitS: quietWait / 1000, maxLoad },
    rows,
  });
  console.error(`results: ${path.relative(process.cwd(), file)}`);
}
