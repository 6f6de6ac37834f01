// LeNet-5-BN (mulfree's `lenet5` conv model): state-dict spec, random weights,
// a deterministic PRNG, and the plain-JS NCHW reference forward every runtime is checked against.
import fs from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, writeSafetensors } from './safetensors.mjs';

export const BN_EPS = 1e-5;

/** PyTorch-style state-dict keys and shapes. */
export const LENET_SPEC = [
  ['conv1.weight', [6, 1, 5, 5]],
  ['bn1.weight', [6]], ['bn1.bias', [6]], ['bn1.running_mean', [6]], ['bn1.running_var', [6]],
  ['conv2.weight', [16, 6, 5, 5]],
  ['bn2.weight', [16]], ['bn2.bias', [16]], ['bn2.running_mean', [16]], ['bn2.running_var', [16]],
  ['fc1.weight', [120, 400]],
  ['bn3.weight', [120]], ['bn3.bias', [120]], ['bn3.running_mean', [120]], ['bn3.running_var', [120]],
  ['fc2.weight', [84, 120]],
  ['bn4.weight', [84]], ['bn4.bias', [84]], ['bn4.running_mean', [84]], ['bn4.running_var', [84]],
  ['fc3.weight', [10, 84]], ['fc3.bias', [10]],
];

/** Multiply-accumulates per image (conv1 117.6k + conv2 240k + fc 58.9k). */
export const LENET_MACS = 6 * 25 * 28 * 28 + 16 * 150 * 10 * 10 + 400 * 120 + 120 * 84 + 84 * 10;

/** Small fast seeded PRNG (mulberry32) with a Box-Muller normal. */
export function rng(seed = 1) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

/** Random but well-scaled weights: Kaiming-uniform layers, non-trivial BN affine and running stats. */
export function randomLenetWeights(seed = 1) {
  const r = rng(seed);
  const out = {};
  for (const [name, shape] of LENET_SPEC) {
    const n = shape.reduce((a, d) => a * d, 1);
    const data = new Float32Array(n);
    const fanIn = shape.length > 1 ? n / shape[0] : 1;
    const bound = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < n; i++) {
      if (name.endsWith('.weight') && shape.length > 1) data[i] = (2 * r.uniform() - 1) * Math.sqrt(6) * bound;
      else if (name === 'fc3.bias') data[i] = (2 * r.uniform() - 1) * bound;
      else if (name.endsWith('.weight')) data[i] = 0.8 + 0.4 * r.uniform(); // BN gamma
      else if (name.endsWith('.bias')) data[i] = 0.1 * r.normal(); // BN beta
      else if (name.endsWith('running_mean')) data[i] = 0.2 * r.normal();
      else if (name.endsWith('running_var')) data[i] = 0.5 + r.uniform();
    }
    out[name] = { shape, data };
  }
  return out;
}

/** Check that `tensors` holds every LeNet key with the right shape; the error names the file and key. */
export function validateLenetWeights(tensors, source = 'weights') {
  for (const [name, shape] of LENET_SPEC) {
    const t = tensors[name];
    if (!t) throw new Error(`${source}: missing tensor "${name}" (expected shape [${shape}])`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${source}: tensor "${name}" has shape [${t.shape}], expected [${shape}]`);
    }
  }
  return tensors;
}

/** Load LeNet weights from a safetensors file: {name: {shape, data: Float32Array}}. */
export function loadLenetWeights(path) {
  return validateLenetWeights(readSafetensors(path).tensors, path);
}

/** Deterministic N(0,1) input batch, NCHW [n,1,28,28], as "already normalised" images. */
export function randomInputs(n, seed = 7) {
  const r = rng(seed);
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = r.normal();
  return x;
}

// ---- plain-JS reference forward (NCHW, eval-mode BN, float64 accumulation) ----

function conv2d(x, n, cin, h, w, wt, cout, k, pad) {
  const oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
  const y = new Float64Array(n * cout * oh * ow);
  for (let b = 0; b < n; b++) for (let co = 0; co < cout; co++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    let s = 0;
    for (let ci = 0; ci < cin; ci++) for (let u = 0; u < k; u++) {
      const ii = i + u - pad;
      if (ii < 0 || ii >= h) continue;
      for (let v = 0; v < k; v++) {
        const jj = j + v - pad;
        if (jj < 0 || jj >= w) continue;
        s += x[((b * cin + ci) * h + ii) * w + jj] * wt[((co * cin + ci) * k + u) * k + v];
      }
    }
    y[((b * cout + co) * oh + i) * ow + j] = s;
  }
  return { y, oh, ow };
}

// Eval-mode BatchNorm + ReLU over channel axis; `inner` = spatial size (1 for BatchNorm1d).
function bnRelu(y, n, c, inner, W, p) {
  const g = W[`${p}.weight`].data, bta = W[`${p}.bias`].data, m = W[`${p}.running_mean`].data, v = W[`${p}.running_var`].data;
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) {
    const sc = g[ch] / Math.sqrt(v[ch] + BN_EPS), sh = bta[ch] - m[ch] * sc;
    const o = (b * c + ch) * inner;
    for (let i = 0; i < inner; i++) y[o + i] = Math.max(0, y[o + i] * sc + sh);
  }
}

function maxPool2(y, n, c, h, w) {
  const oh = h >> 1, ow = w >> 1, out = new Float64Array(n * c * oh * ow);
  for (let bc = 0; bc < n * c; bc++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    const o = bc * h * w + 2 * i * w + 2 * j;
    out[(bc * oh + i) * ow + j] = Math.max(y[o], y[o + 1], y[o + w], y[o + w + 1]);
  }
  return out;
}

function linear(x, n, fin, wt, fout, bias) {
  const y = new Float64Array(n * fout);
  for (let b = 0; b < n; b++) for (let o = 0; o < fout; o++) {
    let s = bias ? bias[o] : 0;
    for (let i = 0; i < fin; i++) s += x[b * fin + i] * wt[o * fin + i];
    y[b * fout + o] = s;
  }
  return y;
}

/** Reference logits [n,10] for NCHW input x [n,1,28,28]. */
export function referenceForward(W, x, n) {
  let { y } = conv2d(x, n, 1, 28, 28, W['conv1.weight'].data, 6, 5, 2);
  bnRelu(y, n, 6, 784, W, 'bn1');
  y = maxPool2(y, n, 6, 28, 28);
  ({ y } = conv2d(y, n, 6, 14, 14, W['conv2.weight'].data, 16, 5, 0));
  bnRelu(y, n, 16, 100, W, 'bn2');
  y = maxPool2(y, n, 16, 10, 10); // [n,16,5,5] flattened in NCHW order = 400
  y = linear(y, n, 400, W['fc1.weight'].data, 120);
  bnRelu(y, n, 120, 1, W, 'bn3');
  y = linear(y, n, 120, W['fc2.weight'].data, 84);
  bnRelu(y, n, 84, 1, W, 'bn4');
  y = linear(y, n, 84, W['fc3.weight'].data, 10, W['fc3.bias'].data);
  return Float32Array.from(y);
}

/** max |a-b| and max |a-b| / max|b| (relative to the reference scale). */
export function compareLogits(got, ref) {
  let maxAbs = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(got[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  if (got.length !== ref.length) maxAbs = Infinity;
  return { maxAbs, maxRel: maxAbs / (scale || 1) };
}

/** Default weights for pipeline tests: bench/out/lenet5-random.safetensors, written on first use. */
export const DEFAULT_WEIGHTS = fileURLToPath(new URL('../out/lenet5-random.safetensors', import.meta.url));

/** Return `path`, first writing random weights there if it is the default file and missing. */
export function ensureWeights(path = DEFAULT_WEIGHTS) {
  if (!fs.existsSync(path)) {
    if (path !== DEFAULT_WEIGHTS) throw new Error(`${path}: weights file not found`);
    fs.mkdirSync(dirname(path), { recursive: true });
    writeSafetensors(path, randomLenetWeights(1), { model: 'lenet5', op: 'conv', source: 'bench random weights', seed: 1 });
  }
  return path;
}
