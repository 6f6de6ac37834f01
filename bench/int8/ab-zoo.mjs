// A/B of two builds on a whole int8 zoo model in one process: the bundle is exported once (by
// build A, as bench/int8/zoo.mjs does: random weights, BatchNorm statistics of live values), then
// each build's load(bundle).predict runs it at one batch size and thread count. Rounds alternate A
// and B; B ÷ A is the median of same-round img/s ratios. Checks both builds give the same logits.
//
//   node bench/int8/ab-zoo.mjs DIST_A DIST_B [--model mobile] [--batch 64] [--threads 1] [--rounds 9] [--ms 400]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, parseArgs } from '../lib/stats.mjs';

const opts = parseArgs(process.argv.slice(2));
const [distA, distB] = opts._;
if (!distA || !distB) {
  console.error('usage: node bench/int8/ab-zoo.mjs DIST_A DIST_B [--model mobile] [--batch 64] [--threads 1] [--rounds 9] [--ms 400]');
  process.exit(2);
}
const name = opts.model ?? 'mobile', batch = Number(opts.batch ?? 64), threads = Number(opts.threads ?? 1);
const rounds = Number(opts.rounds ?? 9), minMs = Number(opts.ms ?? 400);
const loader = (dist) => (p) => import(pathToFileURL(path.join(path.resolve(dist), p)).href);

function randomImages(n, size, seed) {
  const x = new Float32Array(n * size);
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) x[i] = (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  return x;
}

async function exportWith(dist) {
  const load = loader(dist);
  const { createModel, resolveSpec } = await load('src/models/zoo.js');
  const { manualSeed } = await load('src/tensor/random.js');
  const { Tensor } = await load('src/tensor/tensor.js');
  const { noGrad } = await load('src/tensor/autograd.js');
  const { scope } = await load('src/tensor/storage.js');
  const { exportBundle } = await load('src/deploy/export/export_bundle.js');
  manualSeed(1);
  const spec = resolveSpec({ model: name, op: 'adder' });
  const model = createModel(spec);
  const shape = [spec.inChannels, spec.inputSize, spec.inputSize], size = shape[0] * shape[1] * shape[2], n = 32;
  const mean = Array(shape[0]).fill(0.5), std = Array(shape[0]).fill(0.25);
  const x = Tensor.empty([n, ...shape], true);
  model.train();
  noGrad(() => {
    for (let step = 0; step < 20; step++) {
      x.data.set(randomImages(n, size, 100 + step).map((v) => (v - 0.5) / 0.25));
      scope(() => model.forward(x));
    }
  });
  x.dispose();
  model.eval();
  const calib = randomImages(128, size, 7).map((v) => (v - 0.5) / 0.25);
  return { bundle: exportBundle(model, calib, 128, shape, { mean, std }, { model: name, op: 'adder', note: 'random weights' }, name).bytes, size };
}

const { bundle, size } = await exportWith(distA);
const pixels = randomImages(batch, size, 11);
const sides = [];
for (const dist of [distA, distB]) {
  const deploy = await loader(dist)('src/deploy/index.js');
  const m = deploy.load(bundle, { threads, name });
  sides.push({ m, logits: m.predict(pixels, batch).logits.slice() });
}
const same = sides[0].logits.length === sides[1].logits.length && sides[0].logits.every((v, i) => Object.is(v, sides[1].logits[i]));
const time = (m) => {
  let it = 0;
  const t0 = performance.now();
  do { m.predict(pixels, batch); it++; } while (performance.now() - t0 < minMs);
  return (it * batch) / ((performance.now() - t0) / 1000);
};
for (const s of sides) time(s.m);
const a = [], b = [], ratio = [];
for (let r = 0; r < rounds; r++) {
  const ia = time(sides[0].m), ib = time(sides[1].m);
  a.push(ia); b.push(ib); ratio.push(ib / ia);
}
console.log(`${name}, batch ${batch}, ${threads} thread(s), ${rounds} rounds: A ${median(a).toFixed(0)} img/s  B ${median(b).toFixed(0)} img/s  B ÷ A ${median(ratio).toFixed(3)}× (rounds ${Math.min(...ratio).toFixed(3)}–${Math.max(...ratio).toFixed(3)})  logits ${same ? 'identical' : 'DIFFER'}`);
process.exit(same ? 0 : 1);
