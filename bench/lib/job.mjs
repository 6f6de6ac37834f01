// Run one peer measurement in a fresh child process, so runtimes do not share a heap or a thread
// pool, and onnxruntime-web can start with a different thread count each time.
// Parent: `await runJob({kind, ...})`. Child: `node lib/job.mjs '<json spec>'` prints "@@RESULT <json>".
// spec.waitBudgetMs is how long the child may wait for a quiet machine (stats.mjs waitBudget);
// the result's waitedMs says how much of it was spent, for the parent to subtract.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spend } from './stats.mjs';

const SELF = fileURLToPath(import.meta.url);
const TAG = '@@RESULT ';

/**
 * Spawn the child, stream its stderr (progress), and resolve with the parsed result. With a
 * `budget` (stats.mjs waitBudget) the child may wait what is left of it, and is charged for it.
 */
export function runJob(spec, budget) {
  if (budget) spec = { ...spec, waitBudgetMs: budget.left };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(TAG));
      if (code === 0 && line) {
        const result = JSON.parse(line.slice(TAG.length));
        if (budget) spend(budget, result.waitedMs ?? 0);
        return resolve(result);
      }
      reject(new Error(`job ${spec.kind} failed (exit code ${code})${line ? '' : ': no result printed'}\n${out.slice(-2000)}`));
    });
  });
}

async function main(spec) {
  const log = (m) => process.stderr.write(`${m}\n`);
  const { loadLenetWeights } = await import('./lenet.mjs');
  const { waitBudget } = await import('./stats.mjs');
  const budget = waitBudget(spec.waitBudgetMs ?? 60000);
  const W = spec.weights ? loadLenetWeights(spec.weights) : null; // the LeNet kinds' weights
  return { ...(await runKind(spec, { W, budget, log })), waitedMs: budget.spent };
}

async function runKind(spec, { W, budget, log }) {
  switch (spec.kind) {
    case 'tfjs-train': {
      const { tfjsTrainBench } = await import('./tfjs-wasm.mjs');
      const { loadMnistTrain } = await import('./mnist.mjs');
      const data = loadMnistTrain(spec.dataLimit ?? 60000);
      const results = [];
      for (const batch of spec.batches) results.push({ batch, ...(await tfjsTrainBench({ ...spec, W, data, batch, budget, log })) });
      return { dataSource: data.source, results };
    }
    case 'tfjs-train-resnet': {
      const { tfjsResnetTrainJob } = await import('./tfjs-resnet.mjs');
      return tfjsResnetTrainJob(spec, { budget, log });
    }
    case 'tfjs-infer': {
      const { tfjsInferBench } = await import('./tfjs-wasm.mjs');
      const results = [];
      for (const batch of spec.batches) {
        const r = await tfjsInferBench({ ...spec, W, batch, budget });
        log(`  tfjs-wasm 1T b=${batch}: ${r.imgPerSec.median.toFixed(0)} img/s`);
        results.push({ batch, ...r });
      }
      return { results };
    }
    case 'ort-node-infer':
    case 'ort-web-infer': {
      const { ortInferBench } = await import('./ort.mjs');
      const flavour = spec.kind === 'ort-node-infer' ? 'node' : 'web';
      return { results: await ortInferBench({ ...spec, flavour, onnx: spec.onnx, W, budget, log }) };
    }
    default:
      throw new Error(`unknown job kind "${spec.kind}"`);
  }
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === SELF) {
  main(JSON.parse(process.argv[2]))
    .then((r) => { process.stdout.write(`${TAG}${JSON.stringify(r)}\n`); process.exit(0); })
    .catch((e) => { process.stderr.write(`${e.stack ?? e}\n`); process.exit(1); });
}
