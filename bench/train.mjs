#!/usr/bin/env node
// LeNet-5-BN training throughput on MNIST: mulfree against tfjs-wasm (the best installable JS trainer;
// onnxruntime has no training API in these packages). Peers run in a child process (lib/job.mjs).
// Usage: node train.mjs [--weights FILE] [--batches 64,256] [--threads 1,2] [--repeats 5] [--rounds 1] [--warmup 5]
//                       [--steps 20] [--optimizer adam|sgd] [--lr 0.002] [--tfjs-mode custom|layers]
//                       [--tfjs-bn custom|fused|ops] [--runtimes mulfree,tfjs-wasm] [--no-save]
import { ensureWeights, DEFAULT_WEIGHTS, loadLenetWeights } from './lib/lenet.mjs';
import { runJob } from './lib/job.mjs';
import { measureMulfreeConfigs } from './lib/configs.mjs';
import { markdownTable, fmtRange, fmtNum, saveResult, parseArgs, intList, machineInfo, waitForQuiet, waitBudget, startClock, summarize, median, cleanRepeats } from './lib/stats.mjs';

// =============================================================================================
// MULFREE HOOK — wire mulfree in here.
// Train LeNet-5-BN (conv) from ctx.W with ctx.optimizer (lr ctx.lr) at `batch` on `threads` threads:
// ctx.warmup steps, then ctx.repeats × ctx.steps timed steps (ctx.timeSteps does the bookkeeping).
// Return { imgPerSec: {median,min,max,...}, msPerStep: {...}, cpuPerWall, otherLoad, lossFirst, lossLast }.
// ctx.loadData() gives the MNIST training set: {images NCHW Float32Array (normalised), labels Int32Array, n}.
// =============================================================================================
async function mulfreeTrain(batch, threads, ctx) {
  const { trainStepFn } = await import('./lib/mulfree.mjs');
  const step = trainStepFn(ctx, await ctx.loadData(), batch, threads);
  return ctx.timeSteps(step, { batch, warmup: ctx.warmup, steps: ctx.steps, repeats: ctx.repeats, budget: ctx.budget });
}

/** Shared timing loop for mulfree, identical to the tfjs one: step() runs one training step, returns the loss. */
async function timeSteps(step, { batch, warmup, steps, repeats, budget }) {
  const losses = [];
  for (let i = 0; i < warmup; i++) losses.push(await step());
  const { samples, retries } = await cleanRepeats(async () => {
    const stop = startClock();
    for (let i = 0; i < steps; i++) losses.push(await step());
    return stop();
  }, { repeats, budget });
  return {
    imgPerSec: summarize(samples.map((t) => (steps * batch) / t.wall)), msPerStep: summarize(samples.map((t) => (t.wall / steps) * 1e3)),
    cpuPerWall: median(samples.map((t) => t.cpuPerWall)), otherLoad: Math.max(...samples.map((t) => t.otherLoad)), retries,
    lossFirst: losses[0], lossLast: losses.at(-1),
  };
}

const HELP = `Usage: node train.mjs [options]
  --weights FILE      initial LeNet-5-BN weights, safetensors (default: random weights in out/)
  --batches LIST      batch sizes (default 64,256)
  --threads LIST      thread counts for mulfree (tfjs-wasm is single-threaded in Node) (default 1,2)
  --repeats R         timed repeats per measurement; median, min, max reported (default 5)
  --rounds N          measure every configuration once per round, N rounds (default 1); with N > 1
                      also prints same-round ratios (2 ÷ 1 threads, mulfree ÷ tfjs), the median
                      over rounds, which cancel this machine's drift (use --repeats 1)
  --warmup N          untimed warm-up steps (default 5)
  --steps N           timed steps per repeat (default 20)
  --optimizer NAME    adam or sgd (momentum 0.9) (default adam)
  --lr X              learning rate (default 0.002)
  --tfjs-mode M       custom (optimizer.minimize loop, default) or layers (model.trainOnBatch)
  --tfjs-bn M         training BatchNorm in the custom loop: custom (closed-form backward via
                      tf.customGrad, default), fused (tf.batchNorm + tfjs's own gradient), ops
  --runtimes LIST     any of mulfree,tfjs-wasm (default both)
  --quiet-wait S      wait for other processes to go idle before each runtime and retry repeats they disturbed,
                      spending at most S seconds on it in the whole run (default 120; 0 = don't)
  --no-save           do not write results/train-*.json`;

async function main() {
  const o = parseArgs(process.argv.slice(2), { booleans: ['no-save', 'help'] });
  if (o.help) return console.log(HELP);
  const weights = ensureWeights(o.weights ?? DEFAULT_WEIGHTS);
  const W = loadLenetWeights(weights);
  const batches = intList(o.batches ?? '64,256', 'batches');
  const threadsList = intList(o.threads ?? '1,2', 'threads');
  const cfg = {
    repeats: Number(o.repeats ?? 5), warmup: Number(o.warmup ?? 5), steps: Number(o.steps ?? 20),
    rounds: Number(o.rounds ?? 1),
    optimizer: o.optimizer ?? 'adam', lr: Number(o.lr ?? 0.002), mode: o['tfjs-mode'] ?? 'custom', bnMode: o['tfjs-bn'] ?? 'custom',
  };
  if (!['adam', 'sgd'].includes(cfg.optimizer)) throw new Error(`--optimizer: expected adam or sgd, got "${cfg.optimizer}"`);
  if (!['custom', 'layers'].includes(cfg.mode)) throw new Error(`--tfjs-mode: expected custom or layers, got "${cfg.mode}"`);
  if (!['custom', 'fused', 'ops'].includes(cfg.bnMode)) throw new Error(`--tfjs-bn: expected custom, fused or ops, got "${cfg.bnMode}"`);
  const runtimes = (o.runtimes ?? 'mulfree,tfjs-wasm').split(',');
  const rounds = cfg.rounds;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: expected a positive integer, got "${o.rounds}"`);
  for (const r of runtimes) if (!['mulfree', 'tfjs-wasm'].includes(r)) throw new Error(`--runtimes: unknown runtime "${r}"`);
  const quietWait = Number(o['quiet-wait'] ?? 120) * 1000;
  const budget = waitBudget(quietWait); // shared by every wait and retry of the run, children included
  const quiet = () => waitForQuiet({ maxWaitMs: quietWait, budget, log: console.error });

  const m = machineInfo();
  console.error(`LeNet-5-BN training (${cfg.optimizer}, lr ${cfg.lr}) — ${m.cpu}, ${m.cores} cores, Node ${m.node}`);
  let dataSource = '';
  let data = null;
  const ctx = {
    ...cfg, W, weightsPath: weights, timeSteps, budget,
    loadData: async () => (data ??= (await import('./lib/mnist.mjs')).loadMnistTrain()),
  };
  const tfjsLabel = `tfjs-wasm (${cfg.mode === 'layers' ? 'trainOnBatch' : `custom loop, BN ${cfg.bnMode}`})`;

  /** Every configuration once: mulfree in this process, tfjs-wasm in a child per batch size. */
  async function measureRound() {
    const rows = runtimes.includes('mulfree') ? await measureMulfreeConfigs(threadsList, batches, quiet, (batch, threads) => mulfreeTrain(batch, threads, ctx)) : [];
    if (runtimes.includes('tfjs-wasm')) {
      for (const batch of batches) { // one child per batch size: a fresh heap for each measurement
        await quiet();
        console.error(`${tfjsLabel}, batch ${batch} ...`);
        try {
          const r = await runJob({ kind: 'tfjs-train', weights, batches: [batch], ...cfg }, budget);
          dataSource = r.dataSource;
          rows.push({ runtime: tfjsLabel, threads: 1, ...r.results[0] });
        } catch (e) {
          console.error(e.message);
          rows.push({ runtime: tfjsLabel, threads: 1, batch, error: e.message.split('\n')[0] });
        }
      }
    }
    return rows;
  }

  const byRound = [];
  for (let round = 0; round < rounds; round++) {
    if (rounds > 1) console.error(`round ${round + 1} of ${rounds}`);
    byRound.push(await measureRound());
  }
  // one row per configuration: the samples of all rounds, and each round's median (for paired ratios)
  const rows = byRound[0].map((first) => {
    const same = byRound.map((rr) => rr.find((r) => r.runtime === first.runtime && r.threads === first.threads && r.batch === first.batch));
    const ok = same.filter((r) => r && !r.error);
    if (!ok.length) return first;
    return {
      ...ok[0], imgPerSec: summarize(ok.flatMap((r) => r.imgPerSec.samples)), msPerStep: summarize(ok.flatMap((r) => r.msPerStep.samples)),
      cpuPerWall: median(ok.map((r) => r.cpuPerWall)), otherLoad: Math.max(...ok.map((r) => r.otherLoad)), retries: ok.reduce((a, r) => a + (r.retries ?? 0), 0),
      perRound: same.map((r) => (r && !r.error ? r.imgPerSec.median : null)),
    };
  });
  /** Median over rounds of a's img/s ÷ b's in the same round. */
  const paired = (a, b) => {
    const q = a.perRound.map((x, i) => (x && b.perRound[i] ? x / b.perRound[i] : null)).filter((x) => x !== null);
    return q.length ? median(q) : null;
  };

  // Ratio = mulfree img/s ÷ peer img/s at the same batch (mulfree with the same thread count).
  const mf = (b, t) => rows.find((r) => r.runtime === 'mulfree' && r.batch === b && r.threads === t && !r.error);
  rows.sort((a, b) => a.batch - b.batch || (a.runtime !== 'mulfree') - (b.runtime !== 'mulfree') || a.threads - b.threads);
  const table = markdownTable(
    ['runtime', 'threads', 'batch', 'img/s median (min–max)', 'ms/step', 'CPU/wall', 'other load', 'loss first → last', 'mulfree ÷ this'],
    rows.map((r) => {
      if (r.error) return [r.runtime, r.threads, r.batch, r.error, '', '', '', '', ''];
      const mref = r.runtime === 'mulfree' ? null : mf(r.batch, r.threads);
      return [r.runtime, r.threads, r.batch, fmtRange(r.imgPerSec), fmtNum(r.msPerStep.median, 1), fmtNum(r.cpuPerWall, 2), `${fmtNum(r.otherLoad, 2)}${r.retries ? ` (${r.retries} retried)` : ''}`,
        `${fmtNum(r.lossFirst, 3)} → ${fmtNum(r.lossLast, 3)}`, mref ? `${(mref.imgPerSec.median / r.imgPerSec.median).toFixed(2)}×` : ''];
    }));
  const busy = rows.some((r) => r.otherLoad > 0.15);
  if (busy) console.log('\nWARNING: other processes used CPU during some measurements ("other load" > 0.15 cores); those numbers are low.');
  console.log(`\n### LeNet-5-BN training, ${cfg.optimizer} lr ${cfg.lr} (${m.cpu}, ${m.cores} cores, Node ${m.node}; median of ${rounds > 1 ? `${rounds} rounds × ` : ''}${cfg.repeats} × ${cfg.steps} steps after ${cfg.warmup} warm-up)\n\nData: ${dataSource || 'n/a'}\n\n${table}\n`);
  const ratios = [];
  if (rounds > 1) {
    const find = (runtime, t, b) => rows.find((r) => r.runtime === runtime && r.threads === t && r.batch === b && !r.error && r.perRound);
    for (const batch of batches) {
      const one = find('mulfree', 1, batch), two = find('mulfree', 2, batch), tf = find(tfjsLabel, 1, batch);
      if (one && two) ratios.push([`mulfree 2 threads ÷ 1 thread`, batch, paired(two, one)]);
      if (one && tf) ratios.push([`mulfree 1 thread ÷ tfjs-wasm`, batch, paired(one, tf)]);
      if (two && tf) ratios.push([`mulfree 2 threads ÷ tfjs-wasm`, batch, paired(two, tf)]);
    }
    console.log(`Same-round ratios (median over ${rounds} rounds):\n\n${markdownTable(['ratio', 'batch', 'value'], ratios.map(([n, b, v]) => [n, b, v === null ? '' : `${v.toFixed(2)}×`]))}\n`);
  }
  if (!o['no-save']) {
    const file = saveResult('train', { benchmark: 'lenet5-bn training', weights, dataSource, options: { batches, threads: threadsList, ...cfg, runtimes }, rows, table, ratios, contended: busy });
    console.log(`saved ${file}`);
  }
}

main().catch((e) => { console.error(e.message); process.exit(1); });
