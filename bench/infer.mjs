#!/usr/bin/env node
// LeNet-5-BN inference throughput: mulfree against tfjs-wasm, onnxruntime-node and onnxruntime-web,
// in one run. Each peer configuration runs in its own child process (lib/job.mjs).
// Usage: node infer.mjs [--weights FILE] [--batches 1,256] [--threads 1,2] [--repeats 5] [--min-ms 1000]
//                       [--runtimes mulfree,tfjs-wasm,ort-node,ort-web] [--no-save]
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureWeights, DEFAULT_WEIGHTS, loadLenetWeights } from './lib/lenet.mjs';
import { writeLenetOnnx } from './lib/onnx.mjs';
import { runJob } from './lib/job.mjs';
import { measureThroughput, markdownTable, fmtRange, fmtLatency, fmtNum, saveResult, parseArgs, intList, machineInfo, waitForQuiet, waitBudget } from './lib/stats.mjs';
import { measureMulfreeConfigs } from './lib/configs.mjs';

// =============================================================================================
// MULFREE HOOK — wire mulfree in here. Called once per (batch, threads); return the peers' shape:
//   { imgPerSec: {median,min,max,...}, msPerCall: {...}, cpuPerWall, otherLoad, check: {maxAbs, maxRel} }
// Time with ctx.measureThroughput(fn, { itemsPerCall: batch, repeats: ctx.repeats, minMs: ctx.minMs,
// warmupMs: ctx.warmupMs }) so the timing is identical to the peers'. One call of fn = wrap an NCHW
// Float32Array [batch,1,28,28] (ctx.randomInputs(batch, 5)) as input, forward in eval mode, read the logits.
// ctx.W is the state dict ({name: {shape, data}}), ctx.weightsPath the safetensors file.
// Check logits as the peers do: ctx.compareLogits(got, ctx.referenceForward(ctx.W, x8, 8)) with x8 = ctx.randomInputs(8, 99).
// =============================================================================================
async function mulfreeInfer(batch, threads, ctx) {
  const { inferFn, logits } = await import('./lib/mulfree.mjs');
  const x8 = ctx.randomInputs(8, 99);
  const check = ctx.compareLogits(logits(ctx.W, x8, 8), ctx.referenceForward(ctx.W, x8, 8));
  const fn = inferFn(ctx.W, ctx.randomInputs(batch, 5), batch, threads);
  const r = await ctx.measureThroughput(fn, { itemsPerCall: batch, repeats: ctx.repeats, minMs: ctx.minMs, warmupMs: ctx.warmupMs });
  return { ...r, check };
}

const HELP = `Usage: node infer.mjs [options]
  --weights FILE      LeNet-5-BN safetensors (default: random weights in out/, written if missing)
  --batches LIST      batch sizes (default 1,256)
  --threads LIST      thread counts for runtimes that have threads (default 1,2)
  --repeats R         timed repeats per measurement; median, min, max reported (default 5)
  --min-ms MS         minimum duration of one timed repeat (default 1000)
  --warmup-ms MS      untimed calls before timing, per batch size (default 2000)
  --runtimes LIST     any of mulfree,tfjs-wasm,ort-node,ort-web (default all)
  --quiet-wait S      wait for other processes to go idle before each runtime and retry repeats they disturbed,
                      spending at most S seconds on it in the whole run (default 120; 0 = don't)
  --no-save           do not write results/infer-*.json`;

async function main() {
  const o = parseArgs(process.argv.slice(2), { booleans: ['no-save', 'help'] });
  if (o.help) return console.log(HELP);
  const weights = ensureWeights(o.weights ?? DEFAULT_WEIGHTS);
  const W = loadLenetWeights(weights);
  const batches = intList(o.batches ?? '1,256', 'batches');
  const threadsList = intList(o.threads ?? '1,2', 'threads');
  const repeats = Number(o.repeats ?? 5), minMs = Number(o['min-ms'] ?? 1000), warmupMs = Number(o['warmup-ms'] ?? 2000);
  const quietWait = Number(o['quiet-wait'] ?? 120) * 1000;
  const budget = waitBudget(quietWait); // shared by every wait and retry of the run, children included
  const quiet = () => waitForQuiet({ maxWaitMs: quietWait, budget, log: console.error });
  const runtimes = (o.runtimes ?? 'mulfree,tfjs-wasm,ort-node,ort-web').split(',');
  for (const r of runtimes) if (!['mulfree', 'tfjs-wasm', 'ort-node', 'ort-web'].includes(r)) throw new Error(`--runtimes: unknown runtime "${r}"`);

  const onnx = fileURLToPath(new URL('./out/lenet5.onnx', import.meta.url));
  fs.mkdirSync(fileURLToPath(new URL('./out/', import.meta.url)), { recursive: true });
  writeLenetOnnx(weights, onnx);

  const m = machineInfo();
  console.error(`LeNet-5-BN inference — ${m.cpu}, ${m.cores} cores, Node ${m.node}; weights ${weights}`);
  const rows = []; // {runtime, threads, batch, ...result} or {runtime, threads, batch, error}
  const base = { weights, repeats, minMs, warmupMs };

  if (runtimes.includes('mulfree')) {
    const ctx = { ...base, W, weightsPath: weights, measureThroughput: (fn, opts) => measureThroughput(fn, { ...opts, budget }), ...(await import('./lib/lenet.mjs')) };
    rows.push(...(await measureMulfreeConfigs(threadsList, batches, quiet, (batch, threads) => mulfreeInfer(batch, threads, ctx))));
  }
  const jobs = [];
  if (runtimes.includes('tfjs-wasm')) jobs.push(['tfjs-wasm', 1, { kind: 'tfjs-infer' }]); // single-threaded in Node
  for (const threads of threadsList) {
    if (runtimes.includes('ort-node')) jobs.push(['ort-node', threads, { kind: 'ort-node-infer', onnx, threads }]);
    if (runtimes.includes('ort-web')) jobs.push(['ort-web', threads, { kind: 'ort-web-infer', onnx, threads }]);
  }
  for (const [runtime, threads, spec] of jobs) {
    await quiet();
    console.error(`${runtime}, ${threads} thread(s) ...`);
    try {
      const { results } = await runJob({ ...base, ...spec, batches }, budget);
      for (const r of results) rows.push({ runtime, threads, ...r });
    } catch (e) {
      console.error(e.message);
      for (const batch of batches) rows.push({ runtime, threads, batch, error: e.message.split('\n')[0] });
    }
  }

  // Ratio = mulfree img/s ÷ peer img/s at the same batch and thread count (> 1: mulfree is faster).
  const mf = (b, t) => rows.find((r) => r.runtime === 'mulfree' && r.batch === b && r.threads === t && !r.error);
  const order = ['mulfree', 'tfjs-wasm', 'ort-node', 'ort-web'];
  rows.sort((a, b) => a.batch - b.batch || order.indexOf(a.runtime) - order.indexOf(b.runtime) || a.threads - b.threads);
  const table = markdownTable(
    ['runtime', 'threads', 'batch', 'img/s median (min–max)', 'latency/call', 'CPU/wall', 'other load', 'max |Δlogit| vs ref', 'mulfree ÷ this'],
    rows.map((r) => {
      if (r.error) return [r.runtime, r.threads, r.batch, r.error, '', '', '', '', ''];
      const mref = r.runtime === 'mulfree' ? null : mf(r.batch, r.threads);
      return [r.runtime, r.threads, r.batch, fmtRange(r.imgPerSec), fmtLatency(r.msPerCall.median), fmtNum(r.cpuPerWall, 2), `${fmtNum(r.otherLoad, 2)}${r.retries ? ` (${r.retries} retried)` : ''}`,
        r.check ? r.check.maxAbs.toExponential(1) : '', mref ? `${(mref.imgPerSec.median / r.imgPerSec.median).toFixed(2)}×` : ''];
    }));
  const busy = rows.some((r) => r.otherLoad > 0.15);
  if (busy) console.log('\nWARNING: other processes used CPU during some measurements ("other load" > 0.15 cores); those numbers are low.');
  console.log(`\n### LeNet-5-BN inference (${m.cpu}, ${m.cores} cores, Node ${m.node}; median of ${repeats})\n\n${table}\n`);
  if (!o['no-save']) {
    const file = saveResult('infer', { benchmark: 'lenet5-bn inference', weights, options: { batches, threads: threadsList, repeats, minMs, warmupMs, runtimes }, rows, table, contended: busy });
    console.log(`saved ${file}`);
  }
}

main().catch((e) => { console.error(e.message); process.exit(1); });
