// The conv weight gradient with the row sums of dY (a bias gradient; the AdderNet weight
// gradient's row term) taken in its own pass (conv2dBackwardBias after conv2dBackwardWeight), or
// in the weight gradient's pass (conv2dBackwardWeight's rowSum output; the same bits).
// The two alternate in one process; dY cycles through four copies so that it comes from memory,
// as in a training step. Best of 7 rounds of 8 calls.
//
//   node bench/kernels/dw-rowsum.mjs [distDir] [threads]   (defaults: ./dist, 1)
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = path.resolve(process.argv[2] ?? 'dist');
const threads = Number(process.argv[3] ?? 1);
const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { initRuntime } = await load('src/kernels/runtime.js');
const conv = await load('src/kernels/conv2d.js');
const rt = initRuntime({ threads });

function array(n) {
  const v = rt.f32(rt.heap.alloc(n * 4), n);
  for (let i = 0; i < n; i++) v[i] = Math.sin(i * 0.37);
  return v;
}

const layers = [
  ['LeNet-5 conv1 1→6 5×5 pad 2, 28×28', [256, 1, 28, 28], [6, 1, 5, 5], { padding: 2 }],
  ['LeNet-5 conv2 6→16 5×5, 14×14', [256, 6, 14, 14], [16, 6, 5, 5], {}],
  ['deepshift-conv conv2 20→50 5×5, 12×12', [256, 20, 12, 12], [50, 20, 5, 5], {}],
];
console.log(`batch 256, ${threads} thread(s), ms per call (best of 7 × 8), ${new Date().toISOString()}`);
console.log('| layer | own pass | in dW\'s pass | saved |');
console.log('|---|---|---|---|');
for (const [name, input, weight, opts] of layers) {
  const s = conv.conv2dShape(input, weight, opts);
  const x = array(input.reduce((a, b) => a * b)), dw = array(weight.reduce((a, b) => a * b)), db = array(s.K);
  const dys = Array.from({ length: 4 }, () => array(s.N * s.K * s.OH * s.OW));
  let next = 0;
  const ownPass = () => {
    const dy = dys[next++ & 3];
    conv.conv2dBackwardWeight(dy, x, dw, s);
    conv.conv2dBackwardBias(dy, db, s);
  };
  const fused = () => conv.conv2dBackwardWeight(dys[next++ & 3], x, dw, s, db);
  const best = [Infinity, Infinity];
  for (let round = 0; round < 7; round++) {
    [ownPass, fused].forEach((fn, i) => {
      fn();
      const t = performance.now();
      for (let j = 0; j < 8; j++) fn();
      best[i] = Math.min(best[i], (performance.now() - t) / 8);
    });
  }
  console.log(`| ${name} | ${best[0].toFixed(3)} | ${best[1].toFixed(3)} | ${(best[0] - best[1]).toFixed(3)} |`);
}
process.exit(0);
