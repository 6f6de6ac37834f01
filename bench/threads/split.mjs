// Where a training step's time goes on one thread and on two: every kernel call through
// Runtime.parallel is timed (wall time, caller's view, workers included) and summed per kernel
// and call shape, for a zoo model's training steps; the rest of the step is time outside the
// kernels (JavaScript: autograd, allocation, checks). Shows which kernels scale poorly.
//
//   node bench/threads/split.mjs [--dist DIR] [--model lenet5] [--op conv|adder] [--batch 256] [--optimizer adam|sgd] [--steps 100]
//
// One process runs both thread counts one after the other, so compare shares and scaling, and
// repeat the run: this machine's speed drifts.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from '../lib/stats.mjs';

const opts = parseArgs(process.argv.slice(2));
const dist = path.resolve(opts.dist ?? process.env.MULFREE_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url)));
const modelName = opts.model ?? 'lenet5', op = opts.op ?? 'conv', batch = Number(opts.batch ?? 256);
const optimizer = opts.optimizer ?? 'adam', steps = Number(opts.steps ?? 100), warmup = 20;
const lib = await import(pathToFileURL(path.join(dist, 'src/index.js')).href);
const { backward, createModel, initRuntime, manualSeed, ops, optim, resolveSpec, scope, Tensor } = lib;

/** Per kernel and call shape: [total ms, calls] over the timed steps; and the mean step time. */
function measure(threads) {
  const rt = initRuntime({ threads });
  manualSeed(1);
  const spec = resolveSpec({ model: modelName, op });
  const model = createModel(spec).train();
  const opt = optim.makeOptimizer(optimizer, model.parameters(), optimizer === 'sgd' ? { lr: 0.01, momentum: 0.9 } : { lr: 0.002 });
  const x = Tensor.empty([batch, spec.inChannels, spec.inputSize, spec.inputSize], true);
  for (let i = 0; i < x.data.length; i++) x.data[i] = Math.sin(i * 0.37);
  const labels = rt.i32(rt.heap.alloc(batch * 4), batch).map((_, i) => i % 10);
  const kernels = new Map();
  let timing = false;
  const parallel = rt.parallel;
  rt.parallel = function (name, args, total, ...rest) {
    const t0 = performance.now();
    parallel.call(this, name, args, total, ...rest);
    if (!timing) return;
    // a GEMM's M×N×K, or the item count, tells the layers apart (a GEMM's items change with threads)
    const key = name === 'gemmF32' ? `${name} (${args[2]}×${args[3]}×${args[4]})` : `${name} (${total} items)`;
    const e = kernels.get(key) ?? [0, 0];
    e[0] += performance.now() - t0;
    e[1]++;
    kernels.set(key, e);
  };
  let stepMs = 0;
  try {
    for (let s = 0; s < warmup + steps; s++) {
      timing = s >= warmup;
      const t0 = performance.now();
      scope(() => {
        backward(ops.crossEntropy(model.forward(x), labels));
        opt.step();
        opt.zeroGrad();
      });
      if (timing) stepMs += performance.now() - t0;
    }
  } finally {
    delete rt.parallel; // back to the prototype's method
  }
  return { kernels, stepMs: stepMs / steps };
}

const one = measure(1), two = measure(2);
const rows = [...one.kernels.keys()].map((key) => {
  const [t1, calls] = one.kernels.get(key);
  const t2 = two.kernels.get(key)?.[0];
  return { key, ms1: t1 / steps, ms2: t2 === undefined ? null : t2 / steps, calls: calls / steps };
});
rows.sort((a, b) => (b.ms2 ?? b.ms1) - (a.ms2 ?? a.ms1));
const lost = (r) => (r.ms2 === null ? null : r.ms2 - r.ms1 / 2);
console.log(`${modelName} (${op}) training step, batch ${batch}, ${optimizer} — ${dist}`);
console.log('| kernel (call shape) | calls/step | ms/step, 1 thread | 2 threads | 1 → 2 | ms over perfect scaling |');
console.log('|---|---|---|---|---|---|');
const small = { key: 'other kernels (< 0.05 ms/step each, or split differently on 2 threads)', calls: 0, ms1: 0, ms2: 0 };
for (const r of rows) {
  if (r.ms1 < 0.05 || r.ms2 === null) {
    small.calls += r.calls;
    small.ms1 += r.ms1;
    continue;
  }
  console.log(`| ${r.key} | ${r.calls} | ${r.ms1.toFixed(3)} | ${r.ms2.toFixed(3)} | ${(r.ms1 / r.ms2).toFixed(2)} | ${lost(r).toFixed(3)} |`);
}
// the small ones' 2-thread time: every kernel call of the 2-thread run not listed above
const listed = new Set(rows.filter((r) => r.ms1 >= 0.05 && r.ms2 !== null).map((r) => r.key));
small.ms2 = [...two.kernels.entries()].filter(([k]) => !listed.has(k)).reduce((a, [, [t]]) => a + t, 0) / steps;
console.log(`| ${small.key} | ${Math.round(small.calls)} | ${small.ms1.toFixed(3)} | ${small.ms2.toFixed(3)} | ${(small.ms1 / small.ms2).toFixed(2)} | ${(small.ms2 - small.ms1 / 2).toFixed(3)} |`);
const sum = (m) => [...m.kernels.values()].reduce((s, [t]) => s + t, 0) / steps;
const in1 = sum(one), in2 = sum(two);
console.log(`| outside the kernels | | ${(one.stepMs - in1).toFixed(3)} | ${(two.stepMs - in2).toFixed(3)} | | ${(two.stepMs - in2 - (one.stepMs - in1) / 2).toFixed(3)} |`);
console.log(`| **step** | | ${one.stepMs.toFixed(2)} | ${two.stepMs.toFixed(2)} | **${(one.stepMs / two.stepMs).toFixed(3)}** | ${(two.stepMs - one.stepMs / 2).toFixed(3)} |`);
process.exit(0);
