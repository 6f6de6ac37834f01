// int8 adder ResNet-20 and `mobile` (depthwise-separable) against onnxruntime-node and
// onnxruntime-web running the same architecture as an fp32 CNN, at one batch size, in interleaved
// rounds: each round times every configuration once, and ratios are medians over rounds of
// same-round ratios (this machine's speed drifts by 1.5× over minutes; see bench/README.md).
//
//   node bench/int8/zoo.mjs [--dist DIR] [--models resnet20,mobile] [--batch 64] [--threads 1,2]
//                           [--ort-web-threads 2] [--rounds 5] [--ms 400] [--warmup-ms 800]
//
// onnxruntime-web fixes its thread count when its wasm starts, so one process measures it at one
// count (--ort-web-threads, 0 to skip it); run the script again for another.
//
// Weights are random (speed does not depend on them); BatchNorm statistics come from a few
// train-mode passes over random images, so every activation range is calibrated on live values.
// mulfree's side is the public API: load(bundle, {threads}).predict(pixels in [0, 1], n).
// onnxruntime-node's side: an InferenceSession on the ONNX that `mulfree export --format onnx`
// writes for the conv model (opset 13), intra-op threads = threads.
//
// Each round also times the adder tiles' own ceiling (minTileStreamU8: the 2×4 tile on L1 rows,
// one thread; bench/int8/kernels.mjs). "tile bound" is what int8 adder ÷ ort-node would be if the
// whole network ran at that speed on every thread, with im2col, row sums, requantization and the
// other layers free: threads × tile pairs/s ÷ (ort-node img/s × the model's |x − w| per image).
// Below 1.0, no change outside the tile's inner loop can reach onnxruntime-node.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { normalize, randomImages, zooBenchOptions, zooModels } from './zoo-models.mjs';
import { markdownTable, median, saveResult, machineInfo, commandLine, startClock } from '../lib/stats.mjs';

const { opts, dist, modelNames, batch, threadList, rounds, minMs, warmupMs } = zooBenchOptions(process.argv.slice(2), 'resnet20,mobile');
const webThreads = Number(opts['ort-web-threads'] ?? 2);
const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { liveModel, adderBundle } = await zooModels(dist);

const { initRuntime } = await load('src/kernels/runtime.js');
const deploy = await load('src/deploy/index.js');
const { modelToOnnx, encodeOnnxModel } = await load('src/onnx/index.js');
const { readBundle } = await load('src/deploy/run/decode.js');
const { countIntOps } = await load('src/analysis/ops_int.js');
const ort = await import('onnxruntime-node');
let ortWeb = null;
if (webThreads > 0) {
  ortWeb = await import('onnxruntime-web');
  ortWeb.env.wasm.numThreads = webThreads; // fixed for this process from the first session on
  ortWeb.env.wasm.proxy = false;
}

const log = (s) => process.stderr.write(`${s}\n`);

/** |x − w| pairs per image in the int8 adder layers (the op counter's "x − w" rows). */
function adderPairs(bundle, name) {
  const report = countIntOps(readBundle(bundle, name));
  return report.layers.flatMap((l) => l.ops).filter((o) => o.what.startsWith('x − w')).reduce((t, o) => t + o.count, 0);
}

const cases = [];
const rt = initRuntime({ threads: 1 });
const TILE_ROW = 1024, TILE_REPS = 200;
const tileRows = rt.heap.alloc(2 * TILE_ROW + 64);
for (const name of modelNames) {
  const shape = [3, 32, 32];
  const size = shape[0] * shape[1] * shape[2];
  const bundle = adderBundle(name, shape);
  const conv = liveModel(name, 'conv', shape, 2);
  const onnx = encodeOnnxModel(modelToOnnx(conv, shape));
  const pixels = randomImages(batch, size, 11);
  const normalized = Float32Array.from(pixels, normalize);
  const pairs = adderPairs(bundle, name);
  cases.push({ name, bundle, onnx, pixels, normalized, shape, pairs });
  log(`${name}: int8 adder bundle ${bundle.length} bytes, fp32 ONNX ${onnx.length} bytes, ${(pairs / 1e6).toFixed(2)} M |x − w| per image`);
}

/** One timed loop of ≥ minMs: img/s. */
async function timeOnce(call) {
  const stop = startClock();
  const end = performance.now() + minMs;
  let iters = 0;
  do {
    await call();
    iters++;
  } while (iters < 3 || performance.now() < end);
  const { wall, otherLoad } = stop();
  return { imgPerSec: (iters * batch) / wall, otherLoad };
}

async function warm(call) {
  const end = performance.now() + warmupMs;
  do await call(); while (performance.now() < end);
}

/** The tile on L1 rows, one thread, one timed loop of ≥ minMs: pairs/s (in imgPerSec's place). */
function timeTile() {
  const x = rt.u8(tileRows, 2 * TILE_ROW);
  for (let i = 0; i < x.length; i++) x[i] = (i * 37 + 11) & 255;
  const sink = tileRows + 2 * TILE_ROW;
  const stop = startClock();
  const end = performance.now() + minMs;
  let calls = 0;
  do {
    rt.kernels.minTileStreamU8(tileRows, tileRows + TILE_ROW, TILE_ROW, TILE_REPS, sink);
    calls++;
  } while (performance.now() < end);
  const { wall, otherLoad } = stop();
  return { imgPerSec: (calls * 8 * TILE_ROW * TILE_REPS) / wall, otherLoad };
}

const samples = {}; // key → [{imgPerSec, otherLoad}] per round
const add = (key, s) => (samples[key] ??= []).push(s);
for (let round = 0; round < rounds; round++) {
  log(`round ${round + 1} of ${rounds}`);
  initRuntime({ threads: 1 });
  add('tile', timeTile());
  for (const c of cases) {
    for (const threads of threadList) {
      const m = deploy.load(c.bundle, { threads, name: c.name });
      const call = () => m.predict(c.pixels, batch);
      await warm(call);
      add(`${c.name}|int8-adder|${threads}`, await timeOnce(call));
      m.dispose();
      initRuntime({ threads: 1 }); // stop mulfree's workers while onnxruntime runs
      const session = await ort.InferenceSession.create(c.onnx, { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
      const input = new ort.Tensor('float32', c.normalized, [batch, ...c.shape]);
      const run = () => session.run({ input });
      await warm(run);
      add(`${c.name}|ort-node|${threads}`, await timeOnce(run));
      await session.release?.();
      if (ortWeb && threads === webThreads) {
        const web = await ortWeb.InferenceSession.create(c.onnx, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
        const webInput = new ortWeb.Tensor('float32', c.normalized, [batch, ...c.shape]);
        const runWeb = () => web.run({ input: webInput });
        await warm(runWeb);
        add(`${c.name}|ort-web|${threads}`, await timeOnce(runWeb));
        await web.release?.();
      }
    }
  }
}

const perRound = (key) => samples[key].map((s) => s.imgPerSec);
const paired = (a, b) => median(perRound(a).map((x, i) => x / perRound(b)[i]));
const rows = [];
const ratioRows = [];
for (const c of cases) {
  for (const threads of threadList) {
    for (const engine of ['int8-adder', 'ort-node', 'ort-web']) {
      const key = `${c.name}|${engine}|${threads}`;
      if (!samples[key]) continue;
      const xs = perRound(key);
      rows.push([c.name, engine, String(threads), String(batch), `${Math.round(median(xs)).toLocaleString('en-US')} (${Math.round(Math.min(...xs)).toLocaleString('en-US')}–${Math.round(Math.max(...xs)).toLocaleString('en-US')})`, Math.max(...samples[key].map((s) => s.otherLoad)).toFixed(2)]);
    }
    const web = samples[`${c.name}|ort-web|${threads}`] ? `${paired(`${c.name}|int8-adder|${threads}`, `${c.name}|ort-web|${threads}`).toFixed(2)}×` : '';
    const ortPairs = perRound(`${c.name}|ort-node|${threads}`).map((x) => x * c.pairs);
    const bound = median(perRound('tile').map((t, i) => (threads * t) / ortPairs[i]));
    ratioRows.push([c.name, String(threads), `${paired(`${c.name}|int8-adder|${threads}`, `${c.name}|ort-node|${threads}`).toFixed(2)}×`, `${bound.toFixed(2)}× (ort-node ${(median(ortPairs) / threads / 1e9).toFixed(1)} G MAC/s per thread)`, web]);
  }
  if (threadList.includes(1) && threadList.includes(2)) {
    ratioRows.push([c.name, '1 → 2 (int8-adder)', `${paired(`${c.name}|int8-adder|2`, `${c.name}|int8-adder|1`).toFixed(2)}×`, '', '']);
    ratioRows.push([c.name, '1 → 2 (ort-node)', `${paired(`${c.name}|ort-node|2`, `${c.name}|ort-node|1`).toFixed(2)}×`, '', '']);
  }
}
console.log(markdownTable(['model', 'engine', 'threads', 'batch', 'img/s median (min–max)', 'other load'], rows));
console.log();
const tile = perRound('tile');
console.log(`adder tile on L1 rows, 1 thread: ${(median(tile) / 1e9).toFixed(1)} G|x − w|/s median (${(Math.min(...tile) / 1e9).toFixed(1)}–${(Math.max(...tile) / 1e9).toFixed(1)})`);
console.log();
console.log(markdownTable(['model', 'threads', 'int8 adder ÷ ort-node (same-round ratios, median)', 'tile bound ÷ ort-node (same round)', '÷ ort-web'], ratioRows));
const file = saveResult('int8-zoo', { machine: machineInfo(), command: commandLine(), batch, rounds, minMs, warmupMs, webThreads, pairsPerImage: Object.fromEntries(cases.map((c) => [c.name, c.pairs])), samples });
console.log(`\nsaved ${file}`);
