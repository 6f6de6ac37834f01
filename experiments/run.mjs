#!/usr/bin/env node
// Runs the grid of grid.mjs and writes experiments/results.json: for every cell, the float model's
// training (per-epoch curve), post-training bundles at 8, 6 and 4 bits (and 4 bits on clipped
// ranges), 4-bit quantization-aware
// fine-tuning, bundle bytes, and the operation and energy counts of `mulfree ops`.
//
//   node experiments/run.mjs [--budget quick|full|smoke] [--only REGEX] [--skip REGEX] [--results FILE] [--runs DIR]
//
// --only selects cells by id (e.g. '^mnist-'); --skip leaves out steps named 'CELL:STEP' (e.g.
// 'mobile.*:qat4'), which a later run without it fills in.
//
// Resumable: every finished step is saved to the results file at once (atomically), and a killed
// training resumes from its last checkpoint. Rerunning skips what is done, except bundle steps made
// by an older bundle format, which are made again; delete a cell's entry to redo it. A step that
// needs a model whose run folder is gone trains it again and requires the recorded curve. Then
// `node experiments/report.mjs` writes docs/results.md and its plots.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIP_PERCENTILE, gridCells, PTQ_BITS, QAT_BITS, QAT_LR } from './grid.mjs';
import { BUNDLE_FORMAT } from '../dist/src/deploy/run/format.js';
import { ensureFashionMnist } from './fashion_data.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/src/cli/main.js');

function parseArgs(argv) {
  const a = { budget: 'quick', only: null, skip: null, results: join(root, 'experiments/results.json'), runs: join(root, 'experiments/runs') };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--budget') a.budget = value;
    else if (flag === '--only') a.only = new RegExp(value);
    else if (flag === '--skip') a.skip = new RegExp(value);
    else if (flag === '--results') a.results = value;
    else if (flag === '--runs') a.runs = value;
    else throw new Error(`unknown flag ${flag} (flags: --budget, --only, --skip, --results, --runs)`);
  }
  return a;
}

function loadResults(file, budget) {
  if (!existsSync(file)) return { budget, cells: {} };
  const results = JSON.parse(readFileSync(file, 'utf8'));
  if (results.budget !== budget) throw new Error(`${file} holds a '${results.budget}' grid; pass --budget ${results.budget} or another --results`);
  return results;
}

function saveResults(file, results) {
  writeFileSync(`${file}.tmp`, `${JSON.stringify(results, null, 1)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** Runs `mulfree ARGS --json`, logs its output to LOG, and returns the JSON object it printed last. */
function mulfree(args, log) {
  const command = `mulfree ${args.join(' ')}`;
  console.log(`  $ ${command}`);
  const r = spawnSync(process.execPath, [cli, ...args, '--json'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, `$ ${command}\n${r.stdout}\n${r.stderr}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let json;
  try { json = JSON.parse(last); } catch { throw new Error(`${command} printed no JSON (exit ${r.status}); see ${relative(root, log)}`); }
  if (r.status !== 0 || json.error) throw new Error(`${command} failed: ${json.error ?? `exit ${r.status}`}; see ${relative(root, log)}`);
  return { command, json };
}

const dataFlags = (cell, dataDirs) => (cell.dataset === 'mnist' ? [] : ['--dataset', cell.dataset, '--data', dataDirs[cell.dataset]]);

/**
 * Trains the float model (or finishes a killed run); returns its per-epoch log. `adderForm` pins
 * the adder forward form of a new run (a recorded cell's, to regenerate it); null: the default.
 */
function train(cell, dir, dataDirs, from = [], adderForm = null) {
  const resume = existsSync(join(dir, 'checkpoint.safetensors'));
  const args = resume
    ? ['train', '--resume', '--out', dir, '--quiet']
    : ['train', ...(from.length ? from : ['--model', cell.model, '--op', cell.op]), ...(adderForm ? ['--adder-form', adderForm] : []), ...dataFlags(cell, dataDirs),
      '--epochs', String(cell.epochs), ...(cell.trainLimit ? ['--train-limit', String(cell.trainLimit)] : []),
      ...(cell.testLimit ? ['--test-limit', String(cell.testLimit)] : []), '--out', dir, '--quiet'];
  const { command, json } = mulfree(args, join(dir, 'train.log'));
  const { history, options } = json;
  const last = history[history.length - 1];
  const form = json.spec?.opOptions?.form;
  return { command, epochs: last.epoch, testAccuracy: last.testAccuracy, bestEpoch: json.bestEpoch, options, ...(form ? { adderForm: form } : {}), history };
}

/** Exports a B-bit bundle of CHECKPOINT (ranges clipped at `percentile`, if given) and measures its accuracy with `mulfree run`. */
function bundle(checkpoint, bits, out, percentile = null) {
  const clip = percentile === null ? [] : ['--percentile', String(percentile)];
  const exported = mulfree(['export', checkpoint, '-o', out, '--bits', String(bits), ...clip], `${out}.export.log`);
  const ran = mulfree(['run', out], `${out}.run.log`);
  return {
    bundleFormat: BUNDLE_FORMAT, bits, ...(percentile === null ? {} : { percentile }), testAccuracy: ran.json.testAccuracy, bundleBytes: statSync(out).size, fp32Bytes: exported.json.fp32Bytes,
    sizeRatio: exported.json.sizeRatio, commands: [exported.command, ran.command],
  };
}

/** Operation and energy totals of a float checkpoint or an integer bundle. */
function ops(file, log) {
  const { command, json } = mulfree(['ops', file], log);
  return { command, ...(json.graph === 'integer' ? { bundleFormat: BUNDLE_FORMAT } : {}), graph: json.graph, ...json.total };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const results = loadResults(a.results, a.budget);
  const cells = gridCells(a.budget).filter((c) => !a.only || a.only.test(c.id));
  const dataDirs = {};
  // relative to the repository (the commands run there), so the recorded commands work on any machine
  if (cells.some((c) => c.dataset === 'fashion-mnist')) dataDirs['fashion-mnist'] = relative(root, ensureFashionMnist(join(root, 'experiments/data/fashion-mnist')));
  const failures = [];
  for (const cell of cells) {
    const dir = join(a.runs, cell.id);
    const rel = relative(root, dir);
    const r = (results.cells[cell.id] ??= { dataset: cell.dataset, model: cell.model, op: cell.op, trainLimit: cell.trainLimit, testLimit: cell.testLimit });
    // bundle: the step's result depends on the bundle format (entries from before it was recorded: version 2)
    const step = (name, fn, { bundle = false } = {}) => {
      const made = r[name] === undefined ? null : bundle ? (r[name].bundleFormat ?? 'mulfree-int8/2') : BUNDLE_FORMAT;
      const stale = made !== null && made !== BUNDLE_FORMAT;
      if ((made !== null && !stale) || a.skip?.test(`${cell.id}:${name}`)) return;
      console.log(`${cell.id}: ${name}${stale ? ` (its bundle was ${made}: made again as ${BUNDLE_FORMAT})` : ''}`);
      const t0 = Date.now();
      r[name] = { ...fn(r[name]), seconds: Math.round((Date.now() - t0) / 1000) };
      saveResults(a.results, results);
    };
    try {
      runCell(cell, r, rel, dataDirs, step);
    } catch (e) {
      failures.push(`${cell.id}: ${e.message}`);
      console.error(`${cell.id}: ${e.message}`);
    }
  }
  console.log(`results: ${relative(root, a.results)}`);
  if (failures.length) throw new Error(`${failures.length} cell(s) stopped early:\n  ${failures.join('\n  ')}`);
}

/** The steps of one cell, in order; `step` skips the ones already in the results. */
function runCell(cell, r, rel, dataDirs, step) {
    step('train', () => train(cell, rel, dataDirs));
    // the float model and the int8 bundle, regenerated only when a step still to run needs them
    const model = () => {
      const file = join(rel, 'model.safetensors');
      if (!existsSync(file)) regenerate(cell, r, rel, dataDirs);
      return file;
    };
    const ptqBundle = (bits) => join(rel, `ptq${bits}.mulfree.safetensors`);
    step('floatOps', () => ops(model(), join(rel, 'ops-float.log')));
    for (const bits of PTQ_BITS) step(`ptq${bits}`, () => bundle(model(), bits, ptqBundle(bits)), { bundle: true });
    step('ptq4clip', () => bundle(model(), 4, join(rel, 'ptq4clip.mulfree.safetensors'), CLIP_PERCENTILE), { bundle: true });
    step('intOps', () => {
      if (!existsSync(ptqBundle(8))) bundle(model(), 8, ptqBundle(8));
      return ops(ptqBundle(8), join(rel, 'ops-int8.log'));
    }, { bundle: true });
    step(`qat${QAT_BITS}`, (previous) => {
      const qatDir = join(rel, `qat${QAT_BITS}`);
      const tuned = train({ ...cell, epochs: cell.qatEpochs }, qatDir, dataDirs, ['--from', model(), '--qat', String(QAT_BITS), '--lr', String(QAT_LR)]);
      // a redone step (a newer bundle format) trains again or resumes a kept run: the same curve
      if (previous?.train) requireSameCurve(previous.train, tuned, `${cell.id} qat${QAT_BITS}`);
      return { train: tuned, ...bundle(join(qatDir, 'model.safetensors'), QAT_BITS, join(qatDir, `qat${QAT_BITS}.mulfree.safetensors`)) };
    }, { bundle: true });
}

/** The run folder is gone (another machine, a clean clone) but later steps need its model: train it
 *  again and require the same curve as recorded, bit for bit, since training is deterministic. The
 *  check (and its date) is kept in the results. */
function regenerate(cell, r, rel, dataDirs) {
  console.log(`${cell.id}: retraining (${rel} is missing) to regenerate the recorded model`);
  // adder cells recorded before the min form existed were trained with the direct form
  const adderForm = cell.op === 'adder' ? (r.train.adderForm ?? 'direct') : null;
  requireSameCurve(r.train, train(cell, rel, dataDirs, [], adderForm), cell.id);
  r.train.reproduced = [...(r.train.reproduced ?? []), new Date().toISOString().slice(0, 10)];
}

/** Training is deterministic: a run made again must give the recorded losses and accuracies bit for bit. */
function requireSameCurve(recorded, again, what) {
  const curve = (t) => JSON.stringify(t.history.map((h) => [h.trainLoss, h.testAccuracy]));
  if (curve(again) !== curve(recorded)) {
    throw new Error(`retraining did not reproduce the recorded curve of ${what}; delete its entry in the results to redo the cell`);
  }
}

main().catch((e) => { console.error(`experiments/run.mjs: ${e.message}`); process.exit(1); });
