// int8 adder inference in a real browser: mulfree against onnxruntime-web, both in headless
// Chromium (Debian's, through playwright-core), on the zoo models at one batch size, in
// interleaved rounds; mulfree and onnxruntime-node (native fp32) in this Node process too, for the
// engines' difference (Node 20 has V8 11.3; Chromium brings its own, newer V8) and issue 12's anchor.
//
//   node bench/browser/infer.mjs [--dist DIR] [--models lenet5,resnet20,mobile] [--batch 64]
//                                [--threads 1,2] [--rounds 5] [--ms 400] [--warmup-ms 800]
//
// The page is cross-origin isolated (COOP/COEP, as the browser tests serve it), so both runtimes
// use Web Workers on shared memory. onnxruntime-web fixes its thread count when its wasm starts,
// so each thread count has its own page. Models: random weights with live BatchNorm statistics
// (bench/int8/zoo-models.mjs); mulfree runs the int8 adder bundle that `mulfree export` writes,
// onnxruntime-web the fp32 conv model of the same architecture as the ONNX that `mulfree export
// --format onnx` writes. Ratios are medians over rounds of same-round ratios. Writes
// bench/results/browser-infer-<date>.json.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { normalize, randomImages, zooBenchOptions, zooModels } from '../int8/zoo-models.mjs';
import { markdownTable, median, saveResult } from '../lib/stats.mjs';

const { dist, modelNames, batch, threadList, rounds, minMs, warmupMs } = zooBenchOptions(process.argv.slice(2), 'lenet5,resnet20,mobile');
const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const log = (s) => process.stderr.write(`${s}\n`);

const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { liveModel, adderBundle, inputShape } = await zooModels(dist);
const { modelToOnnx, encodeOnnxModel } = await load('src/onnx/index.js');
const deploy = await load('src/deploy/index.js');
const { initRuntime } = await load('src/kernels/runtime.js');
// the browser tests' launcher (Debian's Chromium, CHROMIUM_PATH) and isolated static server
const { launchChromium } = await load('test/browser/chromium.js');
const { serveStatic } = await load('test/browser/serve.js');
const ort = await import('onnxruntime-node');

// the models, written where the page can fetch them (bench/out/ is not committed)
const outDir = path.join(root, 'bench', 'out', 'browser');
fs.mkdirSync(outDir, { recursive: true });
const models = modelNames.map((name) => {
  const shape = inputShape(name);
  const bundle = adderBundle(name, shape);
  const onnx = encodeOnnxModel(modelToOnnx(liveModel(name, 'conv', shape, 2), shape));
  fs.writeFileSync(path.join(outDir, `${name}.mulfree.safetensors`), bundle);
  fs.writeFileSync(path.join(outDir, `${name}.onnx`), onnx);
  const pixels = randomImages(batch, shape[0] * shape[1] * shape[2], 11);
  log(`${name}: int8 adder bundle ${bundle.length} bytes, fp32 ONNX ${onnx.length} bytes`);
  // mulfree takes pixels in [0, 1]; the fp32 models take them normalized
  const normalized = Float32Array.from(pixels, normalize);
  // plain arrays for page.evaluate, made once
  return { name, shape, bundle, onnx, pixels, normalized, pixelList: Array.from(pixels), normalizedList: Array.from(normalized) };
});
const relDist = path.relative(root, dist);
if (relDist.startsWith('..')) throw new Error(`--dist must be inside the repository (${root}) so that the page can load it: ${dist}`);

/**
 * A timed loop of ≥ ms after warm-up (≥ 3 calls): img/s. Used in this process and, from its
 * source, in the page (page.evaluate can only carry functions that close over nothing).
 */
async function timedLoop(call, batch, ms, warmupMs) {
  let end = performance.now() + warmupMs;
  do await call(); while (performance.now() < end);
  let iters = 0;
  const t0 = performance.now();
  end = t0 + ms;
  do { await call(); iters++; } while (iters < 3 || performance.now() < end);
  return (iters * batch) / ((performance.now() - t0) / 1e3);
}

/** In the page: load both runtimes once (onnxruntime-web with `ortThreads`), and the timer. */
async function pageSetup({ relDist, ortThreads, timerSource }) {
  const wasm = new Uint8Array(await (await fetch(`/${relDist}/mulfree.wasm`)).arrayBuffer());
  const deploy = await import(`/${relDist}/src/deploy/index.js`);
  const { initRuntime } = await import(`/${relDist}/src/kernels/runtime.js`);
  const ort = await import('/bench/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs');
  ort.env.wasm.wasmPaths = '/bench/node_modules/onnxruntime-web/dist/';
  ort.env.wasm.numThreads = ortThreads;
  ort.env.wasm.proxy = false;
  globalThis.bench = { wasm, deploy, initRuntime, ort, bundles: {}, sessions: {}, timedLoop: (0, eval)(`(${timerSource})`) };
  return { isolated: globalThis.crossOriginIsolated, userAgent: navigator.userAgent };
}

/** In the page: one timed loop of ≥ ms after warm-up, of mulfree (threads) or onnxruntime-web: img/s. */
async function pageMeasure({ engine, name, shape, threads, batch, ms, warmupMs, input }) {
  const { wasm, deploy, initRuntime, ort, bundles, sessions, timedLoop } = globalThis.bench;
  const x = new Float32Array(input);
  let call, done = () => {};
  if (engine === 'mulfree') {
    await initRuntime({ threads, wasm }).whenReady();
    bundles[name] ??= new Uint8Array(await (await fetch(`/bench/out/browser/${name}.mulfree.safetensors`)).arrayBuffer());
    const model = deploy.load(bundles[name], { threads, wasm, name });
    call = async () => model.predict(x, batch);
    done = () => { model.dispose(); initRuntime({ threads: 1, wasm }); };
  } else {
    sessions[name] ??= await ort.InferenceSession.create(`/bench/out/browser/${name}.onnx`, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const tensor = new ort.Tensor('float32', x, [batch, ...shape]);
    call = () => sessions[name].run({ input: tensor });
  }
  const imgPerSec = await timedLoop(call, batch, ms, warmupMs);
  done();
  return imgPerSec;
}

/** mulfree in this Node process. */
async function mulfreeNode(m, threads) {
  const model = deploy.load(m.bundle, { threads, name: m.name });
  const imgPerSec = await timedLoop(() => model.predict(m.pixels, batch), batch, minMs, warmupMs);
  model.dispose();
  initRuntime({ threads: 1 }); // stop the workers while the others run
  return imgPerSec;
}

/** onnxruntime-node on the fp32 ONNX, intra-op threads = threads. */
async function ortNode(m, threads) {
  const session = await ort.InferenceSession.create(m.onnx, { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const input = new ort.Tensor('float32', m.normalized, [batch, ...m.shape]);
  const imgPerSec = await timedLoop(() => session.run({ input }), batch, minMs, warmupMs);
  await session.release?.();
  return imgPerSec;
}

const browser = await launchChromium();
const server = await serveStatic(root, { isolated: true, pages: { '/bench.html': '<!doctype html><meta charset=utf-8><title>mulfree bench</title><body></body>' } });
const pages = {};
let about;
try {
  for (const t of threadList) {
    const page = await browser.newPage();
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    await page.goto(`${server.url}/bench.html`);
    about = await page.evaluate(pageSetup, { relDist, ortThreads: t, timerSource: timedLoop.toString() });
    if (!about.isolated) throw new Error('the bench page is not cross-origin isolated: no threads');
    pages[t] = page;
  }
  log(`Chromium ${browser.version()}: ${about.userAgent}`);

  const samples = {};
  const add = (key, v) => (samples[key] ??= []).push(v);
  for (let r = 0; r < rounds; r++) {
    log(`round ${r + 1} of ${rounds}`);
    for (const m of models) {
      for (const t of threadList) {
        const args = { name: m.name, shape: m.shape, threads: t, batch, ms: minMs, warmupMs };
        add(`${m.name}|mulfree-chromium|${t}`, await pages[t].evaluate(pageMeasure, { ...args, engine: 'mulfree', input: m.pixelList }));
        add(`${m.name}|ort-web-chromium|${t}`, await pages[t].evaluate(pageMeasure, { ...args, engine: 'ort', input: m.normalizedList }));
        add(`${m.name}|mulfree-node|${t}`, await mulfreeNode(m, t));
        add(`${m.name}|ort-node|${t}`, await ortNode(m, t));
      }
    }
  }

  const ratio = (a, b) => median(samples[a].map((v, i) => v / samples[b][i]));
  const rows = [];
  const result = {};
  for (const m of models) {
    for (const t of threadList) {
      const k = (e) => `${m.name}|${e}|${t}`;
      const row = {
        mulfreeChromium: median(samples[k('mulfree-chromium')]), ortWebChromium: median(samples[k('ort-web-chromium')]), mulfreeNode: median(samples[k('mulfree-node')]),
        ortNode: median(samples[k('ort-node')]),
        vsOrtWeb: ratio(k('mulfree-chromium'), k('ort-web-chromium')), chromiumVsNode: ratio(k('mulfree-chromium'), k('mulfree-node')),
        chromiumVsOrtNode: ratio(k('mulfree-chromium'), k('ort-node')), nodeVsOrtNode: ratio(k('mulfree-node'), k('ort-node')),
      };
      result[`${m.name}|${t}`] = row;
      rows.push([m.name, t, row.mulfreeChromium.toFixed(0), row.ortWebChromium.toFixed(0), `**${row.vsOrtWeb.toFixed(2)}×**`, row.mulfreeNode.toFixed(0), `${row.chromiumVsNode.toFixed(2)}×`,
        row.ortNode.toFixed(0), `${row.chromiumVsOrtNode.toFixed(2)}×`, `${row.nodeVsOrtNode.toFixed(2)}×`]);
    }
  }
  console.log(`batch ${batch}, ${rounds} rounds; img/s medians; ratios are medians of same-round ratios`);
  console.log(markdownTable(['model', 'threads', 'mulfree int8 adder, Chromium', 'onnxruntime-web fp32, Chromium', 'mulfree ÷ ort-web', 'mulfree int8 adder, Node', 'Chromium ÷ Node', 'onnxruntime-node fp32', 'mulfree Chromium ÷ ort-node', 'mulfree Node ÷ ort-node'], rows));
  const file = saveResult('browser-infer', { chromium: about.userAgent, chromiumVersion: browser.version(), batch, rounds, minMs, warmupMs, threads: threadList, result, samples });
  console.log(`saved ${path.relative(process.cwd(), file)}`);
} finally {
  await browser.close();
  await server.close();
}
