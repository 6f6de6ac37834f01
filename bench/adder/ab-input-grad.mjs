// A/B of two builds of mulfree on the adder input gradient alone (adder2dBackwardInput), in one
// process: each build has its own kernel runtime, and the two alternate round by round on the
// same inputs, so both see the same moments of this machine's drifting speed. Reports per layer
// the median time of each and the median of the rounds' own speed ratios (B ÷ A), and checks that
// both builds give the same bits.
//
//   node bench/adder/ab-input-grad.mjs DIST_A DIST_B [--batch 64] [--rounds 9] [--threads 1]
//                                      [--layers resnet20|lenet5|all] [--no-save]
//
// Inputs: x = max(0, sin(0.37·i))·1.5 (a ReLU's output: runs of zeros), w and dy = sin(0.37·i)·1.5.
// ResNet-20 layers run at the batch, LeNet-5's conv2 at 4× the batch (as in training at 256).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, parseArgs, saveResult } from '../lib/stats.mjs';

const opts = parseArgs(process.argv.slice(2), { booleans: ['no-save'] });
const [distA, distB] = opts._;
if (!distA || !distB) {
  console.error('usage: node bench/adder/ab-input-grad.mjs DIST_A DIST_B [--batch 64] [--rounds 9] [--threads 1] [--layers resnet20|lenet5|all] [--no-save]');
  process.exit(2);
}
const batch = Number(opts.batch ?? 64), rounds = Number(opts.rounds ?? 9), threads = Number(opts.threads ?? 1);
const which = opts.layers ?? 'all';
// [name, input NCHW, weight KCkk, padding]
const LAYERS = {
  resnet20: [
    ['resnet20 16→16 3×3 32×32', [batch, 16, 32, 32], [16, 16, 3, 3], 1],
    ['resnet20 32→32 3×3 16×16', [batch, 32, 16, 16], [32, 32, 3, 3], 1],
    ['resnet20 64→64 3×3 8×8', [batch, 64, 8, 8], [64, 64, 3, 3], 1],
  ],
  lenet5: [['lenet conv2 6→16 5×5 14×14', [4 * batch, 6, 14, 14], [16, 6, 5, 5], 0]],
};
const layers = which === 'all' ? [...LAYERS.resnet20, ...LAYERS.lenet5] : LAYERS[which];
if (!layers) {
  console.error(`--layers must be resnet20, lenet5 or all, got '${which}'`);
  process.exit(2);
}

/** One build's layers on fixed inputs, with its own runtime. */
async function side(dist) {
  const load = (p) => import(pathToFileURL(path.join(path.resolve(dist), p)).href);
  const { initRuntime } = await load('src/kernels/runtime.js');
  const { conv2dShape } = await load('src/kernels/conv2d.js');
  const { adder2dBackwardInput } = await load('src/kernels/adder.js');
  const rt = initRuntime({ threads });
  const array = (n, relu) => {
    const v = rt.f32(rt.heap.alloc(n * 4), n);
    for (let i = 0; i < n; i++) v[i] = (relu ? Math.max(0, Math.sin(i * 0.37)) : Math.sin(i * 0.37)) * 1.5;
    return v;
  };
  return layers.map(([name, input, weight, padding]) => {
    const s = conv2dShape(input, weight, { padding });
    const x = array(input.reduce((a, b) => a * b), true), w = array(weight.reduce((a, b) => a * b), false);
    const dy = array(s.N * s.K * s.OH * s.OW, false), dx = array(x.length, false);
    return { name, run: () => adder2dBackwardInput(x, dy, w, dx, s), dx };
  });
}

/** Mean ms per call over ≥ 150 ms after one warm call. */
function time(fn) {
  fn();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 150) {
    fn();
    n++;
  }
  return (performance.now() - t0) / n;
}

const a = await side(distA), b = await side(distB);
const rows = [];
console.log(`adder input gradient, ${threads} thread(s), ${rounds} rounds; A = ${distA}, B = ${distB}`);
console.log('| layer | A ms | B ms | B ÷ A speed (median of same-round ratios) | same bits |');
console.log('|---|---|---|---|---|');
for (let i = 0; i < layers.length; i++) {
  const ta = [], tb = [], ratios = [];
  for (let r = 0; r < rounds; r++) {
    const x = time(a[i].run), y = time(b[i].run);
    ta.push(x);
    tb.push(y);
    ratios.push(x / y);
  }
  const sameBits = a[i].dx.every((v, j) => Object.is(v, b[i].dx[j]));
  const row = { layer: layers[i][0], msA: median(ta), msB: median(tb), speedup: median(ratios), ratios, sameBits };
  rows.push(row);
  console.log(`| ${row.layer} | ${row.msA.toFixed(3)} | ${row.msB.toFixed(3)} | ${row.speedup.toFixed(3)}× | ${sameBits} |`);
}
if (!opts['no-save']) console.log(`saved ${saveResult('adder-ab-input-grad', { distA, distB, batch, rounds, threads, rows })}`);
process.exit(0);
