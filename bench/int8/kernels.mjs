// int8 deployment kernels against the per-core SIMD ceilings measured in the same run.
//
//   node bench/int8/kernels.mjs [--dist DIR] [--rounds 5] [--ms 200]
//   (DIR defaults to $MULFREE_DIST or the repository's dist/)
//
// Ceilings: sadStreamU8 and dotStreamU8I8 (assembly/int8_adder.ts, int8_mul.ts) stream two
// L1-resident 8 KiB arrays with the same |a − b| and u8·i8 instructions as the conv tiles, on one
// thread, in calls of 1.6M pairs (60–100 µs, like a conv2 call at batch 8; about 1e9–5e9 pairs
// per sample).
// Conv rows: LeNet-5's second conv (14×14×6 NHWC, 16 channels 5×5 valid: R = 150 taps, 100
// positions per image) and, for context, conv1 and the FC layers, at batch 1 and 256 on 1 and 2
// threads, raw i32 accumulators and fused requantization to u8.
// Gelem/s counts useful pairs only: N·OH·OW·K·R (the kernels also process the padding of R to a
// multiple of 16 u8 or 8 i16, which is not counted). Efficiency = Gelem/s ÷ (threads × ceiling).
// Every sample is one timed loop of ≥ `ms` ms; rows alternate within a round so background load
// hits all of them alike; tables show the median of `rounds` samples, and the JSON also keeps the
// fastest single call of each row (the least disturbed by other processes).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { markdownTable, median, parseArgs, saveResult, startClock, summarize } from '../lib/stats.mjs';

const opts = parseArgs(process.argv.slice(2));
const dist = path.resolve(opts.dist ?? process.env.MULFREE_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url)));
const rounds = Number(opts.rounds ?? 5);
const minMs = Number(opts.ms ?? 200);
const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { initRuntime } = await load('src/kernels/runtime.js');
const { conv2dShape } = await load('src/kernels/conv2d.js');
const int8 = await load('src/kernels/int8.js');

const rt = initRuntime({ threads: 2 });

function bytes(n, seed) {
  const v = rt.u8(rt.heap.alloc(n), n);
  let s = seed;
  for (let i = 0; i < n; i++) v[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return v;
}

// ---- ceilings ----
const STREAM = 8192;
const a = bytes(STREAM, 1), b = bytes(STREAM, 2), sink = rt.i32(rt.heap.alloc(64), 16);
const reps = 200;
const ceilings = {
  sad: { name: 'SAD ceiling (u8 |a−b|, 1 thread)', run: () => rt.kernels.sadStreamU8(a.byteOffset, b.byteOffset, STREAM, reps, sink.byteOffset), elems: STREAM * reps },
  dot: { name: 'dot ceiling (u8·i8 via i16 dot, 1 thread)', run: () => rt.kernels.dotStreamU8I8(a.byteOffset, b.byteOffset, STREAM, reps, sink.byteOffset), elems: STREAM * reps },
  // the adder tiles' own loop (tile2x4 on 2 x rows × 4 w rows of 1 KiB, in L1): the most the tiles could do
  minTile: { name: 'adder tile on L1 rows (tile2x4, 1 thread)', run: () => rt.kernels.minTileStreamU8(a.byteOffset, b.byteOffset, 1024, reps, sink.byteOffset), elems: 8 * 1024 * reps },
};

// ---- conv cases ----
function convCase(label, s, kind, threads, fused) {
  const nx = s.N * s.H * s.W * s.C, ny = s.N * s.OH * s.OW * s.K, R = s.kh * s.kw * (s.C / s.groups);
  const x = bytes(nx, 3);
  const wv = bytes(s.K * R, 4);
  const w = kind === 'adder' ? int8.prepareAdderWeights(wv, s) : int8.prepareMulWeights(new Int8Array(wv.buffer, wv.byteOffset, wv.length), s);
  const K = s.K;
  const rq = int8.prepareRequant({
    bias: new Int32Array(K).fill(-1000), mult: new Int32Array(K).fill(-12345), shift: new Uint8Array(K).fill(20), outZp: 0, lo: 0, hi: 255,
  }, K);
  const acc = rt.i32(rt.heap.alloc(ny * 4), ny), q = rt.u8(rt.heap.alloc(ny), ny);
  const conv = kind === 'adder'
    ? (fused ? () => int8.adderConvRequantU8(x, w, 7, rq, q, s) : () => int8.adderConvU8(x, w, 7, acc, s))
    : (fused ? () => int8.mulConvRequantU8I8(x, w, 7, rq, q, s) : () => int8.mulConvU8I8(x, w, 7, acc, s));
  return {
    name: `${kind} ${label} b${s.N} ${threads}T${fused ? ' +requant' : ''}`,
    kind, layer: label, batch: s.N, threads, fused,
    elems: ny * R,
    run: () => { if (rt.threads !== threads) rt.setThreads(threads); conv(); },
  };
}

const lenet = (N) => ({
  conv1: conv2dShape([N, 1, 28, 28], [6, 1, 5, 5], { padding: 2 }),
  conv2: conv2dShape([N, 6, 14, 14], [16, 6, 5, 5]),
  fc1: conv2dShape([N, 400, 1, 1], [120, 400, 1, 1]),
  fc2: conv2dShape([N, 120, 1, 1], [84, 120, 1, 1]),
  fc3: conv2dShape([N, 84, 1, 1], [10, 84, 1, 1]),
});

const cases = [];
for (const N of [1, 256]) {
  for (const threads of [1, 2]) {
    for (const kind of ['adder', 'mul']) {
      cases.push(convCase('conv2', lenet(N).conv2, kind, threads, false));
      cases.push(convCase('conv2', lenet(N).conv2, kind, threads, true));
    }
  }
}
for (const layer of ['conv1', 'fc1', 'fc2', 'fc3']) {
  for (const N of [1, 256]) for (const kind of ['adder', 'mul']) cases.push(convCase(layer, lenet(N)[layer], kind, N === 1 ? 1 : 2, true));
}

/** One sample: calls in a loop for ≥ minMs (ceilings: one call), → seconds per call and other load. */
function sample(run) {
  let iters = 0, best = Infinity;
  const stop = startClock();
  const t0 = performance.now();
  do {
    const t = performance.now();
    run();
    best = Math.min(best, performance.now() - t);
    iters++;
  } while (performance.now() - t0 < minMs);
  const t = stop();
  return { sec: t.wall / iters, best: best / 1e3, otherLoad: t.otherLoad };
}

// warm-up: every case through the optimising tier
for (const c of [...Object.values(ceilings), ...cases]) { const t = performance.now(); while (performance.now() - t < 50) c.run(); }

const samples = new Map([...Object.values(ceilings), ...cases].map((c) => [c, []]));
const bests = new Map([...Object.values(ceilings), ...cases].map((c) => [c, Infinity]));
const loads = [];
for (let r = 0; r < rounds; r++) {
  for (const c of [...Object.values(ceilings), ...cases]) {
    const s = sample(c.run);
    samples.get(c).push(s.sec);
    bests.set(c, Math.min(bests.get(c), s.best));
    loads.push(s.otherLoad);
  }
}

const gelems = (c) => c.elems / median(samples.get(c)) / 1e9;
const bestGelems = (c) => c.elems / bests.get(c) / 1e9;
const ceil = { sad: gelems(ceilings.sad), dot: gelems(ceilings.dot) };
const bestCeil = { sad: bestGelems(ceilings.sad), dot: bestGelems(ceilings.dot) };
const rows = [
  [ceilings.sad.name, '', fmt(ceil.sad), '', '', fmt(bestCeil.sad), ''],
  [ceilings.dot.name, '', fmt(ceil.dot), '', '', fmt(bestCeil.dot), ''],
  [ceilings.minTile.name, '', fmt(gelems(ceilings.minTile)), `${fmt(gelems(ceilings.minTile) / ceil.sad)}× SAD`, '', fmt(bestGelems(ceilings.minTile)), ''],
];
const results = [];
for (const c of cases) {
  const g = gelems(c), ceiling = c.kind === 'adder' ? ceil.sad : ceil.dot;
  const eff = g / (c.threads * ceiling);
  const bg = bestGelems(c), bestEff = bg / (c.threads * (c.kind === 'adder' ? bestCeil.sad : bestCeil.dot));
  const us = median(samples.get(c)) * 1e6;
  rows.push([c.name, us < 1000 ? `${us.toFixed(1)} µs` : `${(us / 1000).toFixed(2)} ms`, fmt(g), `${(100 * eff).toFixed(0)}%`, fmt(c.batch / median(samples.get(c)) / 1e3, 1), fmt(bg), `${(100 * bestEff).toFixed(0)}%`]);
  results.push({ name: c.name, kind: c.kind, layer: c.layer, batch: c.batch, threads: c.threads, fused: c.fused, elems: c.elems, secPerCall: summarize(samples.get(c)), gelemPerSec: g, efficiency: eff, bestSecPerCall: bests.get(c), bestGelemPerSec: bg, bestEfficiency: bestEff });
}
function fmt(x, d = 2) { return x.toFixed(d); }

console.log(`int8 kernels, ${rounds} rounds, samples ≥ ${minMs} ms; Node ${process.version}; other-process load median ${median(loads).toFixed(2)} cores, max ${Math.max(...loads).toFixed(2)}`);
console.log(markdownTable(['kernel', 'time/call', 'Gelem/s', 'of ceiling × threads', 'k img/s', 'best-call Gelem/s', 'best-call of ceiling'], rows));
const c2 = (kind, batch, threads, fused) => results.find((r) => r.kind === kind && r.layer === 'conv2' && r.batch === batch && r.threads === threads && r.fused === fused);
console.log('\nmul ÷ adder time on conv2 (>1: the adder kernel is faster):');
for (const batch of [1, 256]) for (const threads of [1, 2]) {
  console.log(`  b${batch} ${threads}T: ${(c2('mul', batch, threads, false).secPerCall.median / c2('adder', batch, threads, false).secPerCall.median).toFixed(2)}`);
}
const file = saveResult('int8-kernels', {
  rounds, minMs, streamBytes: STREAM, pairsPerCeilingCall: STREAM * reps,
  otherLoad: summarize(loads),
  ceilings: {
    sad: { gelemPerSec: ceil.sad, bestGelemPerSec: bestCeil.sad, secPerCall: summarize(samples.get(ceilings.sad)) },
    dot: { gelemPerSec: ceil.dot, bestGelemPerSec: bestCeil.dot, secPerCall: summarize(samples.get(ceilings.dot)) },
    minTile: { gelemPerSec: gelems(ceilings.minTile), bestGelemPerSec: bestGelems(ceilings.minTile), secPerCall: summarize(samples.get(ceilings.minTile)) },
  },
  results,
});
console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
rt.close();
