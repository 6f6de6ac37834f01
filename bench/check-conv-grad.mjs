#!/usr/bin/env node
// Verify the composed wasm Conv2DBackpropFilter against the tfjs `cpu` backend's native kernel,
// then the full LeNet-5-BN training gradients (wasm vs cpu), and check that nothing leaks.
// Usage: node check-conv-grad.mjs      (exit code 1 if any error exceeds the tolerance)
import { tf, initTfjsWasm, conv2dBackpropFilter, TfjsLenet } from './lib/tfjs-wasm.mjs';
import { randomLenetWeights, randomInputs, rng } from './lib/lenet.mjs';
import { markdownTable } from './lib/stats.mjs';

const TOL = 1e-4; // relative to the largest |gradient|
await initTfjsWasm();

const rand = (n, r) => Float32Array.from({ length: n }, () => r.normal());
const relErr = (a, b) => {
  let d = 0, s = 0;
  for (let i = 0; i < b.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(b[i])); }
  return a.length === b.length ? d / (s || 1) : Infinity;
};

// [x shape NHWC, filter shape HWIO, strides, pad]
const cases = [
  [[4, 28, 28, 1], [5, 5, 1, 6], [1, 1], [[0, 0], [2, 2], [2, 2], [0, 0]]], // LeNet conv1 (explicit pad 2)
  [[64, 28, 28, 1], [5, 5, 1, 6], [1, 1], 'same'], // LeNet conv1, batch 64
  [[4, 14, 14, 6], [5, 5, 6, 16], [1, 1], 'valid'], // LeNet conv2
  [[3, 9, 11, 5], [3, 3, 5, 7], [2, 2], 'same'],
  [[2, 10, 13, 3], [4, 2, 3, 4], [2, 3], 'valid'],
  [[2, 8, 8, 2], [3, 3, 2, 3], [2, 2], [[0, 0], [1, 2], [0, 1], [0, 0]]],
  [[5, 6, 6, 4], [1, 1, 4, 8], [1, 1], 'valid'],
  [[1, 7, 7, 3], [7, 7, 3, 2], [1, 1], 'valid'],
];

let ok = true;
const rows = [];
const r = rng(42);
for (const [xs, fs, strides, pad] of cases) {
  const info = tf.backend_util.computeConv2DInfo(xs, fs, strides, 1, pad, undefined, false, 'channelsLast');
  const dys = info.outShape;
  const x = rand(xs.reduce((a, b) => a * b), r), dy = rand(dys.reduce((a, b) => a * b), r);
  await tf.setBackend('cpu');
  const ref = conv2dBackpropFilter(x, xs, dy, dys, fs, strides, pad);
  await tf.setBackend('wasm');
  const ids0 = tf.backend().numDataIds();
  const got = conv2dBackpropFilter(x, xs, dy, dys, fs, strides, pad);
  const leak = tf.backend().numDataIds() - ids0;
  const e = relErr(got, ref);
  if (!(e < TOL) || leak !== 0) ok = false;
  rows.push([`x[${xs}] f[${fs}] s[${strides}] pad ${typeof pad === 'string' ? pad : JSON.stringify(pad.slice(1, 3))}`, e.toExponential(2), leak]);
}
console.log('## Conv2DBackpropFilter: composed wasm kernel vs tfjs cpu backend\n');
console.log(markdownTable(['case', 'max rel. error', 'leaked wasm buffers'], rows));

// End-to-end: gradients of the LeNet-5-BN training loss on wasm vs cpu for every parameter.
const W = randomLenetWeights(3);
const n = 32, xIn = randomInputs(n, 11);
const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);
async function lenetGrads(backend, bnMode = 'custom') {
  await tf.setBackend(backend);
  const model = new TfjsLenet(W, { bnMode });
  const out = tf.tidy(() => {
    const x = tf.tensor4d(xIn, [n, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat();
    model._batchStats = [];
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.forward(x, true)), model.trainable);
    for (const [, m, v] of model._batchStats) { m.dispose(); v.dispose(); }
    model._batchStats = null;
    return { loss: value.dataSync()[0], grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync().slice()])) };
  });
  model.dispose();
  return out;
}
const gc = await lenetGrads('cpu', 'fused'); // cpu backend, tfjs's own gradients throughout
const ids0 = (await tf.setBackend('wasm'), tf.backend().numDataIds());
const variants = {};
for (const bnMode of ['custom', 'fused', 'ops']) variants[bnMode] = await lenetGrads('wasm', bnMode);
const leak = tf.backend().numDataIds() - ids0;
const grows = Object.keys(gc.grads).map((k) => [k.replace('lenet/', ''), ...Object.values(variants).map((v) => {
  const e = relErr(v.grads[k], gc.grads[k]);
  if (!(e < TOL)) ok = false;
  return e.toExponential(2);
})]);
if (leak !== 0) ok = false;
console.log(`\n## LeNet-5-BN training gradients on wasm (composed kernel; BatchNorm backward: custom = closed form via tf.customGrad,` +
  ` fused = tf.batchNorm's gradient, ops = elementary ops) vs cpu backend with tfjs's own gradients` +
  ` (batch ${n}; loss ${variants.custom.loss.toFixed(6)} vs ${gc.loss.toFixed(6)}; leaked wasm buffers: ${leak})\n`);
console.log(markdownTable(['parameter', 'custom', 'fused', 'ops'], grows));
console.log(`\n${ok ? 'OK' : 'FAILED'}: tolerance ${TOL} relative to the largest |gradient|`);
process.exit(ok ? 0 : 1);
