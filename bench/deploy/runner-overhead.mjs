// How much of predict() is the kernels: times predict() against the engine's kernel list alone
// and each kernel call, on one bundle, at the given batch sizes. Medians of repeated runs.
//   node bench/deploy/runner-overhead.mjs MODEL.mulfree.safetensors [--dist dist] [--threads 1] [--batches 1,256] [--stat median|min]
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { median } from "../lib/stats.mjs";

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const file = args[0];
if (!file || file.startsWith("--")) {
  console.error("usage: node bench/deploy/runner-overhead.mjs MODEL.mulfree.safetensors [--dist dist] [--threads 1] [--batches 1,256] [--stat median|min]");
  process.exit(2);
}
const dist = resolve(flag("dist", "dist"));
const threads = Number(flag("threads", "1"));
const batches = flag("batches", "1,256").split(",").map(Number);
const { load } = await import(pathToFileURL(`${dist}/src/deploy/index.js`).href);

const model = load(new Uint8Array(readFileSync(file)), { threads, name: file });
const [C, H, W] = model.inputShape;
// on a busy machine the fastest run is the one least disturbed: --stat min reports it instead
const stat = flag("stat", "median") === "min" ? (xs) => Math.min(...xs) : median;

/** Median over `reps` runs of the mean µs per call of fn over enough calls to take ~20 ms. */
function time(fn, reps = 15) {
  let calls = 1;
  for (let t0 = performance.now(); performance.now() - t0 < 5; calls *= 2) for (let i = 0; i < calls; i++) fn();
  const runs = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    runs.push(((performance.now() - t0) * 1000) / calls);
  }
  return stat(runs);
}

const rows = [];
for (const n of batches) {
  const pixels = Uint8Array.from({ length: n * C * H * W }, (_, i) => (i * 7919) & 255);
  const floats = Float32Array.from(pixels, (p) => p / 255);
  model.predict(pixels, n);
  // internals: the flat kernel list, the input quantizer, the logits step
  const engine = model.engine, quantizer = model.quantizer;
  const plan = engine.plan(n);
  const parts = {
    predictBytes: () => model.predict(pixels, n),
    predictFloats: () => model.predict(floats, n),
    kernelList: () => engine.run(n),
    quantizeBytes: () => quantizer.fromBytes(pixels, n, plan.input),
    logits: () => model.dequantize(plan.acc, n),
  };
  // a first round warms every path up (JIT, caches); the second is reported
  let t = {};
  for (let round = 0; round < 2; round++) for (const [k, fn] of Object.entries(parts)) t[k] = time(fn);
  const steps = plan.steps.map((s) => time(s, 7));
  rows.push({
    batch: n, threads, ...Object.fromEntries(Object.entries(t).map(([k, v]) => [`${k}Us`, +v.toFixed(3)])),
    overheadUs: +(t.predictBytes - t.kernelList).toFixed(3), imgPerSec: Math.round((n * 1e6) / t.predictBytes), stepsUs: steps.map((x) => +x.toFixed(2)),
  });
}
model.dispose();
for (const r of rows) {
  console.log(
    `batch ${r.batch}, ${r.threads} thread(s): predict(u8) ${r.predictBytesUs} µs, predict(f32) ${r.predictFloatsUs} µs, kernel list ${r.kernelListUs} µs ` +
      `(predict − list ${r.overheadUs} µs; of which input quantization ${r.quantizeBytesUs} µs, logits ${r.logitsUs} µs); ${r.imgPerSec} img/s; per kernel call µs ${r.stepsUs.join(" ")}`,
  );
}
console.log(JSON.stringify(rows));
