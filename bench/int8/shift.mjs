// The shift kernel against the int8 multiply kernel on the same LeNet-5 layers, same run.
//
//   node bench/int8/shift.mjs [--dist DIR] [--rounds 7] [--ms 200] [--batches 1,256] [--threads 1,2] [--raw] [--zeros 0.2]
//   (DIR defaults to $MULFREE_DIST or the repository's dist/)
//
// Layers (NHWC, as deployed): conv1 28×28×1 pad 2 5×5 → 6, conv2 14×14×6 5×5 → 16, fc1 400 → 120,
// fc2 120 → 84, fc3 84 → 10. Both kernels run fused with the requantization to u8 (the deployed
// path); --raw times the i32 accumulators instead.
// Shift weights are DeepShift-like 5-bit weights: w ~ N(0, 2/fan_in) rounded to ±2^p with p in
// [−14, 0] (wb = 5), a fraction `zeros` of signs set to 0 (PS ternary signs), and the shift stored
// relative to the layer's smallest p — the shift range used is printed per layer. The multiply
// kernel gets random i8 weights; its speed does not depend on their values.
// Gelem/s counts every tap, zeros included: N·OH·OW·K·kh·kw·C, the same count for both kernels.
// ratio = mul time ÷ shift time: above 1 the shift kernel is faster. Each sample is one timed loop
// of ≥ `ms` ms; shift and mul alternate within a round so background load hits both alike; tables
// show medians over `rounds` samples.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { markdownTable, median, parseArgs, saveResult, startClock } from '../lib/stats.mjs';

const opts = parseArgs(process.argv.slice(2), { booleans: ['raw'] });
const dist = path.resolve(opts.dist ?? process.env.MULFREE_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url)));
const rounds = Number(opts.rounds ?? 7);
const minMs = Number(opts.ms ?? 200);
const batches = String(opts.batches ?? '1,256').split(',').map(Number);
const threadList = String(opts.threads ?? '1,2').split(',').map(Number);
const zeros = Number(opts.zeros ?? 0.2);
const fused = !opts.raw;
const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { initRuntime } = await load('src/kernels/runtime.js');
const { conv2dShape } = await load('src/kernels/conv2d.js');
const int8 = await load('src/kernels/int8.js');
const shiftK = await load('src/kernels/int8_shift.js');

const rt = initRuntime({ threads: Math.max(...threadList) });

// the library's seeded generator, so every run times the same weights
const { Rng, uniform, normal } = await load('src/tensor/random.js');
const stream = Rng.fromSeed(2024);
const rand = () => uniform(stream, 0, 1);
const gauss = () => normal(stream);

function bytes(n) {
  const v = rt.u8(rt.heap.alloc(n), n);
  for (let i = 0; i < n; i++) v[i] = Math.floor(rand() * 256);
  return v;
}

/** DeepShift-like weights: sign, and shift relative to the smallest power used. */
function shiftWeights(n, fanIn) {
  const sigma = Math.sqrt(2 / fanIn);
  const sign = new Int8Array(n), p = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const w = gauss() * sigma;
    sign[i] = rand() < zeros ? 0 : w < 0 ? -1 : 1;
    p[i] = Math.max(-14, Math.min(0, Math.round(Math.log2(Math.abs(w) || 2 ** -14))));
  }
  let base = 0;
  for (let i = 0; i < n; i++) if (sign[i] !== 0) base = Math.min(base, p[i]);
  const shift = Uint8Array.from(p, (v, i) => (sign[i] === 0 ? 0 : v - base)); // a zero weight's shift is unused
  const used = new Set();
  for (let i = 0; i < n; i++) if (sign[i] !== 0) used.add(shift[i]);
  return { sign, shift, used: [...used].sort((a, b) => a - b) };
}

const layers = [
  { name: 'conv1', input: (N) => [N, 1, 28, 28], weight: [6, 1, 5, 5], opts: { padding: 2 } },
  { name: 'conv2', input: (N) => [N, 6, 14, 14], weight: [16, 6, 5, 5], opts: {} },
  { name: 'fc1', input: (N) => [N, 400, 1, 1], weight: [120, 400, 1, 1], opts: {} },
  { name: 'fc2', input: (N) => [N, 120, 1, 1], weight: [84, 120, 1, 1], opts: {} },
  { name: 'fc3', input: (N) => [N, 84, 1, 1], weight: [10, 84, 1, 1], opts: {} },
];

function makeCase(layer, N) {
  const s = conv2dShape(layer.input(N), layer.weight, layer.opts);
  const R = s.kh * s.kw * (s.C / s.groups), nw = s.K * R, ny = s.N * s.OH * s.OW * s.K;
  const x = bytes(s.N * s.H * s.W * s.C);
  const sw = shiftWeights(nw, R);
  const shiftW = shiftK.prepareShiftWeights(sw.sign, sw.shift, s);
  const mulW = int8.prepareMulWeights(Int8Array.from({ length: nw }, () => Math.floor(rand() * 255) - 127), s);
  const rq = int8.prepareRequant({
    bias: new Int32Array(s.K).fill(-1000), mult: new Int32Array(s.K).fill(12345), shift: new Uint8Array(s.K).fill(30), outZp: 0, lo: 0, hi: 255,
  }, s.K);
  const acc = rt.i32(rt.heap.alloc(ny * 4), ny), q = rt.u8(rt.heap.alloc(ny), ny);
  return {
    layer: layer.name, N, s, taps: ny * R, shiftsUsed: sw.used, nonzero: shiftW.nonzero / nw, layout: shiftK.chooseShiftLayout(s),
    shift: fused ? () => shiftK.shiftConvRequantU8(x, shiftW, 0, rq, q, s) : () => shiftK.shiftConvU8(x, shiftW, 0, acc, s),
    mul: fused ? () => int8.mulConvRequantU8I8(x, mulW, 0, rq, q, s) : () => int8.mulConvU8I8(x, mulW, 0, acc, s),
  };
}

/** ms per call over one loop of ≥ minMs, and the other processes' load meanwhile. */
function sample(fn) {
  const stop = startClock();
  const t0 = performance.now();
  let iters = 0;
  do { fn(); iters++; } while (performance.now() - t0 < minMs);
  const { otherLoad } = stop();
  return { ms: (performance.now() - t0) / iters, otherLoad };
}

const cases = [];
for (const N of batches) for (const layer of layers) cases.push(makeCase(layer, N));

const rows = [];
let worstLoad = 0;
for (const threads of threadList) {
  rt.setThreads(threads);
  for (const c of cases) {
    for (let i = 0; i < 3; i++) { c.shift(); c.mul(); }
    const t = { shift: [], mul: [] };
    for (let r = 0; r < rounds; r++) {
      for (const k of r % 2 ? ['mul', 'shift'] : ['shift', 'mul']) {
        const sm = sample(c[k]);
        t[k].push(sm.ms);
        worstLoad = Math.max(worstLoad, sm.otherLoad);
      }
    }
    const shiftMs = median(t.shift), mulMs = median(t.mul);
    rows.push({
      layer: c.layer, batch: c.N, threads, layout: c.layout, shiftsUsed: c.shiftsUsed, nonzero: c.nonzero,
      shiftMs, mulMs, ratio: mulMs / shiftMs,
      shiftGelems: c.taps / shiftMs / 1e6, mulGelems: c.taps / mulMs / 1e6,
      samples: t,
    });
    process.stderr.write('.');
  }
}
process.stderr.write('\n');

const us = (ms) => (ms * 1e3).toFixed(ms < 0.1 ? 2 : 1);
console.log(`shift vs int8 multiply, ${fused ? 'fused requantization' : 'raw i32 accumulators'}; medians of ${rounds} samples of ≥ ${minMs} ms; other processes' load up to ${worstLoad.toFixed(2)} cores`);
console.log(markdownTable(
  ['layer', 'batch', 'threads', 'shift layout', 'shifts used', 'nonzero', 'shift µs', 'mul µs', 'mul ÷ shift', 'shift Gelem/s', 'mul Gelem/s'],
  rows.map((r) => [r.layer, r.batch, r.threads, r.layout, `${r.shiftsUsed[0]}..${r.shiftsUsed.at(-1)} (${r.shiftsUsed.length})`, `${(100 * r.nonzero).toFixed(0)}%`,
    us(r.shiftMs), us(r.mulMs), r.ratio.toFixed(2), r.shiftGelems.toFixed(1), r.mulGelems.toFixed(1)]),
));
// whole LeNet-5 (the five layers, requantization included when fused), per batch and threads
const totals = [];
for (const threads of threadList) {
  for (const N of batches) {
    const sel = rows.filter((r) => r.threads === threads && r.batch === N);
    const shiftMs = sel.reduce((a, r) => a + r.shiftMs, 0), mulMs = sel.reduce((a, r) => a + r.mulMs, 0);
    totals.push({ batch: N, threads, shiftMs, mulMs, ratio: mulMs / shiftMs });
  }
}
console.log('\nfive LeNet-5 layers together');
console.log(markdownTable(['batch', 'threads', 'shift µs', 'mul µs', 'mul ÷ shift'], totals.map((t) => [t.batch, t.threads, us(t.shiftMs), us(t.mulMs), t.ratio.toFixed(2)])));
const file = saveResult('int8-shift', { fused, rounds, minMs, zeros, worstOtherLoad: worstLoad, rows, totals });
console.log(`\nsaved ${path.relative(process.cwd(), file)}`);
rt.close();
