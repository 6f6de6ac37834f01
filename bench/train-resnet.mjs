#!/usr/bin/env node
// ResNet-20 (CIFAR, 3×32×32) training throughput: mulfree against tfjs-wasm (single-threaded in Node),
// for the goal "ResNet-20 training is ≥ 8× tfjs-wasm" (mulfree on 2 threads). Both sides train the
// same network (mulfree's `resnet20` zoo model with the conv op; tfjs: lib/tfjs-resnet.mjs), from the
// same initial weights (mulfree's, exported to out/ and loaded by tfjs), on the same synthetic data,
// with the same optimizer, in fp32. tfjs runs in a child process (lib/job.mjs, kind 'tfjs-train-resnet').
// Usage: node train-resnet.mjs [--batches 64,128] [--threads 1,2] [--rounds N] [--repeats R] ... (--help)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTrainOptions, trainHelp, measureTrainRounds, printTrainReport } from './lib/train-bench.mjs';
import { saveResult, machineInfo, timeSteps } from './lib/stats.mjs';
import { syntheticCifar, poolSize } from './lib/cifar.mjs';
import { compareLogits } from './lib/lenet.mjs';
import { writeSafetensors } from './lib/safetensors.mjs';

const MODEL = 'resnet20';
const INIT_FILE = fileURLToPath(new URL('./out/resnet20-init.safetensors', import.meta.url));
const DATA_SEED = 123;
const CHECK = { n: 8, seed: 99 }; // logits check: 8 images of their own
const CHECK_TOL = 1e-3; // max |Δlogit|
const GOAL = 8; // mulfree 2 threads ÷ tfjs-wasm

const DEFAULTS = { batches: '64,128', warmup: 2, steps: 5, lr: 0.002, save: 'train-resnet20' };
const HELP = trainHelp('Usage: node train-resnet.mjs [options]', [
  'batches', 'threads', 'repeats', 'rounds', 'warmup', 'steps', 'optimizer', 'lr', 'tfjs-bn', 'runtimes', 'quiet-wait', 'quiet-probe', 'quiet-rounds', 'no-save',
], DEFAULTS);

/** "1.2e-5 (max |logit| 3.4)" from compareLogits' {maxAbs, maxRel}. */
const fmtCheck = ({ maxAbs, maxRel }) => `${maxAbs.toExponential(1)} (max |logit| ${(maxAbs / maxRel).toPrecision(2)})`;

async function main() {
  const { o, batches, threadsList, cfg, runtimes, budget, quiet } = parseTrainOptions(process.argv.slice(2), DEFAULTS);
  if (o.help) return console.log(HELP);
  const mulfree = await import('./lib/mulfree.mjs'); // needed even without the mulfree rows: it makes the weights

  // Same initial weights on both sides: mulfree's own init, written for the tfjs child.
  const W = mulfree.initialState(MODEL);
  fs.mkdirSync(path.dirname(INIT_FILE), { recursive: true });
  writeSafetensors(INIT_FILE, W, { model: MODEL, op: 'conv', source: 'mulfree initial state (seed 1)' });
  const nParams = Object.entries(W).filter(([k]) => !/running_(mean|var)$/.test(k)).reduce((a, [, t]) => a + t.data.length, 0);

  const m = machineInfo();
  console.error(`ResNet-20 training (${cfg.optimizer}, lr ${cfg.lr}) — ${m.cpu}, ${m.cores} cores, Node ${m.node}`);
  const pools = new Map(); // pool size → data (the tfjs child builds the same from the same arguments)
  const dataFor = (batch) => {
    const n = poolSize(batch);
    if (!pools.has(n)) pools.set(n, syntheticCifar(n, DATA_SEED));
    return pools.get(n);
  };
  const tfjsLabel = `tfjs-wasm (custom loop, BN ${cfg.bnMode})`;
  let tfjsCheck = null;

  const rows = await measureTrainRounds({
    rounds: cfg.rounds, quietProbe: cfg.quietProbe, quietRounds: cfg.quietRounds, runtimes, batches, threadsList, quiet, budget, tfjsLabel,
    measureMulfree: (batch, threads) => {
      const step = mulfree.trainStepFn({ ...cfg, W, model: MODEL }, dataFor(batch), batch, threads);
      return mulfree.withCoreProbe(threads, () => timeSteps(step, { batch, warmup: cfg.warmup, steps: cfg.steps, repeats: cfg.repeats, budget }));
    },
    // the first child also returns its logits for the check
    tfjsJob: (batch) => ({ kind: 'tfjs-train-resnet', weightsFile: INIT_FILE, batches: [batch], dataSeed: DATA_SEED, check: tfjsCheck ? null : CHECK, ...cfg }),
    onTfjsResult: (r) => { tfjsCheck ??= r.check; },
  });

  // Forward logits, same weights and inputs, eval mode (initial running stats) and training mode (batch statistics).
  const checkX = syntheticCifar(CHECK.n, CHECK.seed).images;
  const check = tfjsCheck && Object.fromEntries(['eval', 'train'].map((mode) =>
    [mode, compareLogits(tfjsCheck[mode], mulfree.logits(W, checkX, CHECK.n, { model: MODEL, train: mode === 'train' }))]));
  const checkOk = check && check.eval.maxAbs <= CHECK_TOL && check.train.maxAbs <= CHECK_TOL;
  const checkNote = check
    ? `Logits check (${CHECK.n} images, same weights, mulfree vs tfjs-wasm): max |Δ| ${fmtCheck(check.train)} in training mode (batch statistics), ${fmtCheck(check.eval)} in eval mode (initial running statistics) — ${checkOk ? 'OK' : 'FAIL'} (tolerance ${CHECK_TOL})`
    : 'Logits check: n/a (no tfjs-wasm result)';
  const noFall = rows.filter((r) => !r.error && !(r.lossLast < r.lossFirst));
  const lossNote = `Loss check (first warm-up step → last timed step, same batches on both sides): ${noFall.length ? `does NOT fall for ${noFall.map((r) => `${r.runtime} ${r.threads}T b${r.batch}`).join(', ')}` : 'falls on every row'}`;

  const data = dataFor(batches[0]);
  const notes = [
    `Model: ResNet-20 (mulfree zoo \`${MODEL}\`, op conv), ${nParams.toLocaleString('en-US')} parameters, fp32 on both sides: 3×3 convs without bias, BatchNorm after every conv (training mode: batch statistics, running statistics updated), option-B shortcuts (1×1 stride-2 conv + BN) at the start of stages 2 and 3, global average pool, 1×1 conv 64→10 + BN over the logits; loss: softmax cross-entropy; optimizer: ${cfg.optimizer === 'sgd' ? 'SGD momentum 0.9' : 'Adam'}, lr ${cfg.lr}`,
    `Weights: the same on both sides: mulfree's initial state (seed 1), written to ${INIT_FILE} and loaded by tfjs (conv OIHW → HWIO)`,
    `Data: ${data.source}, a pool of about 1024 images (whole batches) cycled through`,
    checkNote, lossNote,
  ];
  const { table, ratios, busy } = printTrainReport({
    title: `ResNet-20 training (CIFAR 3×32×32), ${cfg.optimizer} lr ${cfg.lr}`, notes, rows, batches, tfjsLabel, cfg, machine: m,
  });

  // The goal, per batch: the same-round ratio with several rounds, else the ratio of medians.
  const goal = batches.map((batch) => {
    const find = (runtime, t) => rows.find((r) => r.runtime === runtime && r.threads === t && r.batch === batch && !r.error);
    const mf2 = find('mulfree', 2), tf = find(tfjsLabel, 1);
    const paired = ratios.find(([n, b]) => n === 'mulfree 2 threads ÷ tfjs-wasm' && b === batch);
    const value = cfg.rounds > 1 ? paired?.[2] ?? null : mf2 && tf ? mf2.imgPerSec.median / tf.imgPerSec.median : null;
    return { batch, value, met: value !== null && value >= GOAL };
  });
  for (const g of goal) {
    console.log(`Goal "ResNet-20 training ≥ ${GOAL}× tfjs-wasm" (mulfree 2 threads), batch ${g.batch}: ${g.value === null ? 'n/a' : `${g.value.toFixed(2)}× — ${g.met ? 'MET' : 'MISS'}`}`);
  }
  if (!o['no-save']) {
    const file = saveResult('train-resnet20', {
      benchmark: 'resnet20 training', model: MODEL, weights: INIT_FILE, dataSource: data.source, check, lossFalls: !noFall.length,
      options: { batches, threads: threadsList, ...cfg, runtimes }, rows, table, ratios, goal, contended: busy,
    });
    console.log(`saved ${file}`);
  }
  if (check && !checkOk) process.exitCode = 1;
}

main().catch((e) => { console.error(e.message); process.exit(1); });
