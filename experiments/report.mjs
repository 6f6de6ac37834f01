#!/usr/bin/env node
// Writes docs/results.md and its figures (docs/img/results-*.svg and .png) from
// experiments/results.json (made by experiments/run.mjs), filling experiments/results.template.md:
//   {{tables}}        one table per dataset: every cell's accuracies, bundle bytes, operations, energy
//   {{commands}}      the commands that made every cell
//   {{budget}}        what the training budget was
//   {{missing}}       the grid's cells without results yet, and the command that completes them
//   {{acc CELL P}}    the accuracy (%) of CELL (e.g. mnist-mobile-adder) at P: float, int8, 6, 4, 4clip
//                     (4 bits on ranges clipped at a percentile), qat4
//                     (the bundle after QAT), qat4fake (QAT's own fake-quantized evaluation)
//   {{drop CELL P}}   the float accuracy of CELL minus its accuracy at P, in points
//   {{gap CELL REF P}} accuracy of CELL minus that of REF at P, in points, signed
// Usage: npm run build && node experiments/report.mjs [--results FILE] [--template FILE] [--out DIR]
// (--out: where results.md and img/ go; default docs/)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATASETS, MODELS, OPS } from './grid.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { accuracyBitsSpec, accuracyEnergySpec } = await import(join(root, 'dist/src/analysis/result_plots.js'));
const { trainingCurvesSpec } = await import(join(root, 'dist/src/analysis/plots.js'));
const { renderPng, renderSvg } = await import(join(root, 'dist/src/analysis/render.js'));
const { BUNDLE_FORMAT } = await import(join(root, 'dist/src/deploy/run/format.js'));

function parseArgs(argv) {
  const a = { results: join(root, 'experiments/results.json'), template: join(root, 'experiments/results.template.md'), out: join(root, 'docs') };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '');
    if (!(key in a) || argv[i + 1] === undefined) throw new Error(`usage: node experiments/report.mjs [--results FILE] [--template FILE] [--out DIR]; got ${argv[i]}`);
    a[key] = argv[i + 1];
  }
  return a;
}
const args = parseArgs(process.argv.slice(2));
const resultsFile = args.results;
const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
const cells = results.cells;

/** The steps whose results come from bundles (experiments/run.mjs records their format). */
const BUNDLE_STEPS = ['ptq8', 'ptq6', 'ptq4', 'ptq4clip', 'intOps', 'qat4'];

const STEPS = { float: (c) => c.train?.testAccuracy, int8: (c) => c.ptq8?.testAccuracy, 6: (c) => c.ptq6?.testAccuracy, 4: (c) => c.ptq4?.testAccuracy, '4clip': (c) => c.ptq4clip?.testAccuracy, qat4: (c) => c.qat4?.testAccuracy, qat4fake: (c) => c.qat4?.train?.testAccuracy };

function accuracy(id, step) {
  const c = cells[id];
  if (!c) throw new Error(`template: no cell ${id} in ${resultsFile}`);
  const get = STEPS[step];
  if (!get) throw new Error(`template: unknown step ${step} (one of: ${Object.keys(STEPS).join(', ')})`);
  const v = get(c);
  if (v === undefined) throw new Error(`template: cell ${id} has no ${step} result yet`);
  return 100 * v;
}

const pct = (v) => (v === undefined ? '–' : (100 * v).toFixed(2));
const kb = (bytes) => (bytes === undefined ? '–' : `${(bytes / 1024).toFixed(1)} KiB`);
const count = (n) => (n === undefined ? '–' : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n));
const nj = (pj) => (pj === undefined ? '–' : (pj / 1000).toLocaleString('en-US', { maximumFractionDigits: pj < 1e5 ? 1 : 0 }));
const cellIds = (dataset) => MODELS.flatMap((m) => OPS.map((op) => `${dataset}-${m}-${op}`)).filter((id) => cells[id]);

function table(dataset) {
  const head = '| model | op | float | int8 | 6-bit | 4-bit | 4-bit, clipped ranges | 4-bit QAT | fp32 weights | int8 bundle | 4-bit bundle | multiplications left (float → int8) | energy per image, nJ (float → int8) |';
  const rows = cellIds(dataset).map((id) => {
    const c = cells[id];
    return `| ${c.model} | ${c.op} | ${pct(c.train?.testAccuracy)} | ${pct(c.ptq8?.testAccuracy)} | ${pct(c.ptq6?.testAccuracy)} | ${pct(c.ptq4?.testAccuracy)} | ${pct(c.ptq4clip?.testAccuracy)} | ${pct(c.qat4?.testAccuracy)} | ${kb(c.ptq8?.fp32Bytes)} | ${kb(c.ptq8?.bundleBytes)} | ${kb(c.ptq4?.bundleBytes)} (${c.ptq4 ? c.ptq4.sizeRatio.toFixed(3) : '–'}×) | ${count(c.floatOps?.mults)} → ${count(c.intOps?.mults)} | ${nj(c.floatOps?.energyPJ)} → ${nj(c.intOps?.energyPJ)} |`;
  });
  const limits = [...new Set(cellIds(dataset).map((id) => cells[id].testLimit ?? null))];
  const tested = limits.length === 1 && limits[0] ? `the first ${limits[0].toLocaleString('en-US')}` : 'the 10,000';
  return [`### ${dataset === 'mnist' ? 'MNIST' : 'Fashion-MNIST'}`, '', `Test accuracy (%) on ${tested} test images:`, '', head, `|${'---|'.repeat(13)}`, ...rows].join('\n');
}

function commands() {
  const out = [];
  for (const dataset of DATASETS) for (const id of cellIds(dataset)) {
    const c = cells[id];
    const lines = [c.train?.command, c.floatOps?.command, ...(c.ptq8?.commands ?? []), ...(c.ptq6?.commands ?? []), ...(c.ptq4?.commands ?? []), ...(c.ptq4clip?.commands ?? []), c.intOps?.command, c.qat4?.train?.command, ...(c.qat4?.commands ?? [])].filter(Boolean);
    out.push(`<details><summary><code>${id}</code></summary>\n\n\`\`\`sh\n${lines.join('\n')}\n\`\`\`\n</details>\n`);
  }
  return out.join('\n');
}

function budget() {
  const limits = [...new Set(Object.values(cells).map((c) => `${c.model}: ${c.trainLimit ? `the first ${c.trainLimit.toLocaleString('en-US')} training images` : 'all 60,000 training images'}`))];
  return `\`${results.budget}\` (${limits.join('; ')})`;
}

function missing() {
  const ids = DATASETS.flatMap((d) => MODELS.flatMap((m) => OPS.map((op) => `${d}-${m}-${op}`)));
  const incomplete = ids.filter((id) => !cells[id]?.train || !cells[id]?.qat4 || !cells[id]?.ptq4clip);
  // bundle results made before the current bundle format (version 2 rounded folded biases to whole units)
  const stale = ids.filter((id) => BUNDLE_STEPS.some((step) => cells[id]?.[step] && (cells[id][step].bundleFormat ?? 'mulfree-int8/2') !== BUNDLE_FORMAT));
  const staleNote = stale.length ? ` **Bundles of an older format** (${BUNDLE_FORMAT} replaced them; version 2 rounded each folded bias to a whole accumulator unit): ${stale.map((id) => `\`${id}\``).join(', ')}; \`node experiments/run.mjs\` makes them again.` : '';
  if (!incomplete.length) return `Every cell of the grid has all its results.${staleNote}`;
  const none = incomplete.filter((id) => !cells[id]?.train), partial = incomplete.filter((id) => cells[id]?.train);
  const parts = [];
  if (none.length) parts.push(`not run yet: ${none.map((id) => `\`${id}\``).join(', ')}`);
  if (partial.length) parts.push(`without 4-bit QAT or clipped 4-bit results yet: ${partial.map((id) => `\`${id}\``).join(', ')}`);
  return `**Incomplete:** ${parts.join('; ')}. \`node experiments/run.mjs\` completes them (it skips what is done).${staleNote}`;
}

function points() {
  const out = [];
  for (const c of Object.values(cells)) {
    const base = { dataset: c.dataset, model: c.model, op: c.op };
    if (c.train && c.floatOps) out.push({ ...base, precision: 'fp32', accuracy: c.train.testAccuracy, energyPJ: c.floatOps.energyPJ });
    if (!c.intOps) continue;
    for (const [step, precision] of [['ptq8', 'int8'], ['ptq6', '6-bit'], ['ptq4', '4-bit'], ['qat4', '4-bit QAT']]) {
      if (c[step]) out.push({ ...base, precision, accuracy: c[step].testAccuracy, energyPJ: c.intOps.energyPJ });
    }
  }
  return out;
}

async function draw(name, spec) {
  const svg = await renderSvg(spec);
  writeFileSync(join(args.out, 'img', `${name}.svg`), svg);
  writeFileSync(join(args.out, 'img', `${name}.png`), await renderPng(svg));
  return `img/${name}.png`;
}

async function main() {
  mkdirSync(join(args.out, 'img'), { recursive: true });
  const figures = [];
  const pts = points();
  figures.push(await draw('results-pareto', accuracyEnergySpec(pts, { subtitle: 'fp32 at float energy, bundles at int8 energy (every width runs on 8-bit kernels); grey line: Pareto front' })));
  figures.push(await draw('results-bits', accuracyBitsSpec(pts)));
  for (const dataset of DATASETS) for (const model of MODELS) {
    const runs = OPS.map((op) => cells[`${dataset}-${model}-${op}`]).filter((c) => c?.train).map((c) => ({ name: c.op, records: c.train.history }));
    if (runs.length) figures.push(await draw(`results-curves-${dataset}-${model}`, trainingCurvesSpec(runs, { title: `Training curves: ${model} on ${dataset === 'mnist' ? 'MNIST' : 'Fashion-MNIST'}` })));
  }
  const template = readFileSync(args.template, 'utf8');
  const text = template
    .replace('{{tables}}', DATASETS.map(table).join('\n\n'))
    .replace('{{commands}}', commands())
    .replace('{{budget}}', budget())
    .replace('{{missing}}', missing())
    .replace(/\{\{acc ([\w-]+) (\w+)\}\}/g, (_, id, step) => accuracy(id, step).toFixed(2))
    .replace(/\{\{drop ([\w-]+) (\w+)\}\}/g, (_, id, step) => (accuracy(id, 'float') - accuracy(id, step)).toFixed(2))
    .replace(/\{\{gap ([\w-]+) ([\w-]+) (\w+)\}\}/g, (_, id, ref, step) => {
      const d = accuracy(id, step) - accuracy(ref, step);
      return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(2)}`;
    });
  writeFileSync(join(args.out, 'results.md'), text);
  console.log(`wrote ${join(args.out, 'results.md')} and ${figures.length} figures (${figures.join(', ')})`);
}

await main().catch((e) => {
  console.error(`experiments/report.mjs: ${e.message}`);
  process.exit(1);
});
