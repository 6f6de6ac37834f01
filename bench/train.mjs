#!/usr/bin/env node
// LeNet-5-BN training throughput on MNIST: mulfree against tfjs-wasm (the best installable JS trainer;
// onnxruntime has no training API in these packages). Peers run in a child process (lib/job.mjs).
// Usage: node train.mjs [--weights FILE] [--batches 64,256] [--threads 1,2] [--repeats 5] [--rounds 1] [--warmup 5]
//                       [--steps 20] [--optimizer adam|sgd] [--lr 0.002] [--tfjs-mode custom|layers]
//                       [--tfjs-bn custom|fused|ops] [--runtimes mulfree,tfjs-wasm] [--no-save]
import { ensureWeights, DEFAULT_WEIGHTS, loadLenetWeights } from './lib/lenet.mjs';
import { parseTrainOptions, trainHelp, measureTrainRounds, printTrainReport } from './lib/train-bench.mjs';
import { saveResult, machineInfo, timeSteps } from './lib/stats.mjs';

// =============================================================================================
// MULFREE HOOK — wire mulfree in here.
// Train LeNet-5-BN (conv) from ctx.W with ctx.optimizer (lr ctx.lr) at `batch` on `threads` threads:
// ctx.warmup steps, then ctx.repeats × ctx.steps timed steps (ctx.timeSteps does the bookkeeping).
// Return { imgPerSec: {median,min,max,...}, msPerStep: {...}, cpuPerWall, otherLoad, lossFirst, lossLast }.
// ctx.loadData() gives the MNIST training set: {images NCHW Float32Array (normalised), labels Int32Array, n}.
// =============================================================================================
async function mulfreeTrain(batch, threads, ctx) {
  const { trainStepFn, withCoreProbe } = await import('./lib/mulfree.mjs');
  const step = trainStepFn(ctx, await ctx.loadData(), batch, threads);
  return withCoreProbe(threads, () => ctx.timeSteps(step, { batch, warmup: ctx.warmup, steps: ctx.steps, repeats: ctx.repeats, budget: ctx.budget }));
}

const DEFAULTS = { batches: '64,256', warmup: 5, steps: 20, lr: 0.002, save: 'train' };
const HELP = trainHelp('Usage: node train.mjs [options]', [
  '  --weights FILE      initial LeNet-5-BN weights, safetensors (default: random weights in out/)',
  'batches', 'threads', 'repeats', 'rounds', 'warmup', 'steps', 'optimizer', 'lr',
  '  --tfjs-mode M       custom (optimizer.minimize loop, default) or layers (model.trainOnBatch)',
  'tfjs-bn', 'runtimes', 'quiet-wait', 'quiet-probe', 'quiet-rounds', 'no-save',
], DEFAULTS);

async function main() {
  const { o, batches, threadsList, cfg, runtimes, budget, quiet } = parseTrainOptions(process.argv.slice(2), DEFAULTS, (opts) => ({ mode: opts['tfjs-mode'] ?? 'custom' }));
  if (o.help) return console.log(HELP);
  if (!['custom', 'layers'].includes(cfg.mode)) throw new Error(`--tfjs-mode: expected custom or layers, got "${cfg.mode}"`);
  const weights = ensureWeights(o.weights ?? DEFAULT_WEIGHTS);
  const W = loadLenetWeights(weights);

  const m = machineInfo();
  console.error(`LeNet-5-BN training (${cfg.optimizer}, lr ${cfg.lr}) — ${m.cpu}, ${m.cores} cores, Node ${m.node}`);
  let dataSource = '';
  let data = null;
  const ctx = {
    ...cfg, W, weightsPath: weights, timeSteps, budget,
    loadData: async () => (data ??= (await import('./lib/mnist.mjs')).loadMnistTrain()),
  };
  const tfjsLabel = `tfjs-wasm (${cfg.mode === 'layers' ? 'trainOnBatch' : `custom loop, BN ${cfg.bnMode}`})`;

  const rows = await measureTrainRounds({
    rounds: cfg.rounds, quietProbe: cfg.quietProbe, quietRounds: cfg.quietRounds, runtimes, batches, threadsList, quiet, budget, tfjsLabel,
    measureMulfree: (batch, threads) => mulfreeTrain(batch, threads, ctx),
    tfjsJob: (batch) => ({ kind: 'tfjs-train', weights, batches: [batch], ...cfg }),
    onTfjsResult: (r) => { dataSource = r.dataSource; },
  });
  const { table, ratios, busy } = printTrainReport({
    title: `LeNet-5-BN training, ${cfg.optimizer} lr ${cfg.lr}`, notes: [`Data: ${dataSource || 'n/a'}`],
    rows, batches, tfjsLabel, cfg, machine: m,
  });
  if (!o['no-save']) {
    const file = saveResult('train', { benchmark: 'lenet5-bn training', weights, dataSource, options: { batches, threads: threadsList, ...cfg, runtimes }, rows, table, ratios, contended: busy });
    console.log(`saved ${file}`);
  }
}

main().catch((e) => { console.error(e.message); process.exit(1); });
