// tfjs 4.22 with the wasm backend in Node (single-threaded: its pthread glue needs blob: workers,
// which Node rejects), plus the composed Conv2DBackpropFilter kernel the wasm backend lacks, the
// BatchNorm training shared by the tfjs models (TfjsBnModel), LeNet-5-BN in NHWC, a training-throughput
// loop (any TfjsBnModel; ResNet-20 is in tfjs-resnet.mjs) and an inference-throughput function.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { BN_EPS, LENET_MACS, referenceForward, compareLogits, randomInputs } from './lenet.mjs';
import { measureThroughput, timeSteps } from './stats.mjs';

export { tf };

let ready = null;
/** Select the wasm backend (SIMD, 1 thread) and register the weight-gradient kernel. Idempotent. */
export function initTfjsWasm() {
  ready ??= (async () => {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // Node: always false anyway; be explicit
    registerConv2DBackpropFilter('wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: could not initialise the wasm backend');
    await tf.ready();
    if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) throw new Error('tfjs-wasm: SIMD not available');
    return tf;
  })();
  return ready;
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter for the wasm backend, composed only from that backend's own kernels:
//   dW[fh,fw,ci,co] = Σ_{n,oh,ow} xpad[n, oh·s+fh, ow·s+fw, ci] · dy[n,oh,ow,co]
// 1. zero-pad x;  2. xT = x^T [Cin,Hp,Wp,N] (channels act as batch), dyT = [OH,OW,N,Cout] (the filter);
// 3. stride-1 'valid' conv with dilation = stride → [Cin, ≥FH, ≥FW, Cout];
// 4. slice to [Cin,FH,FW,Cout] and transpose back to [FH,FW,Cin,Cout].
// Intermediates are backend TensorInfos and are released with backend.disposeData (this also drops
// the XNNPACK operator the wasm Conv2D caches per filter id).
// ---------------------------------------------------------------------------------------------
export function registerConv2DBackpropFilter(backendName = 'wasm') {
  if (tf.getKernel('Conv2DBackpropFilter', backendName)) return false; // native one exists (or already registered)
  const k = (name) => {
    const cfg = tf.getKernel(name, backendName);
    if (!cfg) throw new Error(`tfjs ${backendName} backend has no ${name} kernel; cannot compose Conv2DBackpropFilter`);
    return cfg.kernelFunc;
  };
  const padK = k('PadV2'), transposeK = k('Transpose'), conv2dK = k('Conv2D'), sliceK = k('Slice');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs;
      const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
      if (dataFormat && dataFormat !== 'NHWC') throw new Error(`composed Conv2DBackpropFilter supports NHWC only, got ${dataFormat}`);
      const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
      const [fh, fw, cin, cout] = filterShape;
      const temps = [];
      const run = (fn, ins, at) => { const o = fn({ inputs: ins, backend, attrs: at }); temps.push(o); return o; };
      try {
        const { top, bottom, left, right } = info.padInfo;
        const xp = top || bottom || left || right
          ? run(padK, { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 })
          : x;
        const xT = run(transposeK, { x: xp }, { perm: [3, 1, 2, 0] });
        const dyT = run(transposeK, { x: dy }, { perm: [1, 2, 0, 3] });
        const c = run(conv2dK, { x: xT, filter: dyT }, {
          strides: [1, 1], pad: 'valid', dilations: [info.strideHeight, info.strideWidth], dataFormat: 'NHWC', dimRoundingMode: null,
        });
        const cs = c.shape[1] !== fh || c.shape[2] !== fw ? run(sliceK, { x: c }, { begin: [0, 0, 0, 0], size: [cin, fh, fw, cout] }) : c;
        return transposeK({ inputs: { x: cs }, backend, attrs: { perm: [1, 2, 0, 3] } });
      } finally {
        for (const t of temps) backend.disposeData(t.dataId);
      }
    },
  });
  return true;
}

/** Run the Conv2DBackpropFilter kernel on the current backend; returns Float32Array. */
export function conv2dBackpropFilter(xData, xShape, dyData, dyShape, filterShape, strides, pad) {
  return tf.tidy(() => {
    const x = tf.tensor(xData, xShape), dy = tf.tensor(dyData, dyShape);
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape });
    return dw.dataSync().slice();
  });
}

/** A PyTorch conv weight {shape OIHW, data} as tfjs's HWIO filter. */
export function convToHWIO(t) {
  const [o, i, kh, kw] = t.shape, out = new Float32Array(t.data.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++)
    out[((u * kw + v) * i + b) * o + a] = t.data[((a * i + b) * kh + u) * kw + v];
  return { shape: [kh, kw, i, o], data: out };
}

// ---------------------------------------------------------------------------------------------
// BatchNorm for the functional tfjs models (NHWC: statistics over every axis but the last).
// ---------------------------------------------------------------------------------------------

/**
 * Base of the functional tfjs models. A subclass fills this.p (tf.variables, see addVariables) and
 * this.trainable, maps a BatchNorm's key to its variables in bnParams(key) → {gamma, beta, mean,
 * variance}, and calls this.bn(h, key, training) in forward(x, training). In training mode BN uses
 * batch statistics, and trainStep updates the running statistics as PyTorch does.
 */
export class TfjsBnModel {
  constructor({ momentum = 0.1, bnMode = 'custom' } = {}) {
    if (!['custom', 'fused', 'ops'].includes(bnMode)) throw new Error(`unknown BatchNorm mode "${bnMode}" (custom, fused or ops)`);
    this.bnMode = bnMode;
    this.p = {};
    this.trainable = [];
    this.momentum = momentum; // PyTorch convention: new = (1-m)·old + m·batch
    this._batchStats = null;
  }

  /** arrays {key: {shape, data}} → this.p[key] = tf.variable named `${prefix}/${key}`. */
  addVariables(arrays, isTrainable, prefix) {
    for (const [k, t] of Object.entries(arrays)) {
      const init = tf.tensor(t.data, t.shape);
      this.p[k] = tf.variable(init, isTrainable(k), `${prefix}/${k}`);
      init.dispose(); // the variable holds its own reference
    }
  }

  bn(h, key, training) {
    const { gamma, beta, mean, variance } = this.bnParams(key);
    if (!training) return tf.batchNorm(h, mean, variance, beta, gamma, BN_EPS);
    const axes = [...Array(h.rank - 1).keys()];
    if (this.bnMode === 'custom') return this._bnTrainCustom(h, key, axes);
    const m = tf.moments(h, axes);
    if (this._batchStats) this._batchStats.push([key, tf.keep(m.mean), tf.keep(m.variance), h.size / m.mean.size]);
    if (this.bnMode === 'ops') return tf.add(tf.mul(tf.mul(tf.sub(h, m.mean), tf.rsqrt(tf.add(m.variance, BN_EPS))), gamma), beta);
    return tf.batchNorm(h, m.mean, m.variance, beta, gamma, BN_EPS);
  }

  // Training-mode BatchNorm with a closed-form backward (tf.customGrad), as PyTorch/cuDNN do:
  //   dβ = Σdy, dγ = Σdy·x̂, dx = γ/σ · (dy − dβ/M − x̂·dγ/M).
  // tfjs's own FusedBatchNorm gradient broadcasts with Tile, which is slow on the wasm backend.
  _bnTrainCustom(h, key, axes) {
    const { gamma, beta } = this.bnParams(key), M = h.size / h.shape.at(-1);
    const f = tf.customGrad((x, g, b, save) => {
      const { mean, variance } = tf.moments(x, axes);
      if (this._batchStats) this._batchStats.push([key, tf.keep(mean.clone()), tf.keep(variance.clone()), M]);
      const inv = tf.rsqrt(tf.add(variance, BN_EPS));
      const xhat = tf.mul(tf.sub(x, mean), inv);
      save([xhat, inv, g]);
      return {
        value: tf.add(tf.mul(xhat, g), b),
        gradFunc: (dy, [xh, iv, gg]) => {
          const dbeta = tf.sum(dy, axes), dgamma = tf.sum(tf.mul(dy, xh), axes);
          const dx = tf.mul(tf.sub(tf.sub(dy, tf.div(dbeta, M)), tf.mul(xh, tf.div(dgamma, M))), tf.mul(gg, iv));
          return [dx, dgamma, dbeta];
        },
      };
    });
    return f(h, gamma, beta);
  }

  /** One optimizer step on (x NHWC tensor, one-hot labels); returns the loss as a number. */
  trainStep(optimizer, x, y1h) {
    this._batchStats = [];
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y1h, this.forward(x, true)), true, this.trainable);
    const m = this.momentum;
    tf.tidy(() => {
      for (const [key, mean, variance, cnt] of this._batchStats) {
        const s = this.bnParams(key);
        s.mean.assign(s.mean.mul(1 - m).add(mean.mul(m)));
        s.variance.assign(s.variance.mul(1 - m).add(variance.mul((m * cnt) / Math.max(1, cnt - 1)))); // unbiased, as PyTorch
      }
    });
    for (const [, mean, variance] of this._batchStats) { mean.dispose(); variance.dispose(); }
    this._batchStats = null;
    const v = loss.dataSync()[0];
    loss.dispose();
    return v;
  }

  dispose() { for (const v of Object.values(this.p)) v.dispose(); }
}

// ---------------------------------------------------------------------------------------------
// LeNet-5-BN in tfjs (NHWC).
// ---------------------------------------------------------------------------------------------

/** PyTorch state dict → tfjs NHWC arrays: conv OIHW→HWIO, linear [out,in]→[in,out], fc1 rows permuted
 *  so that the NHWC flatten (h·80 + w·16 + c) meets the PyTorch NCHW flatten (c·25 + h·5 + w). */
export function toNhwcArrays(W) {
  const linIO = (t, permuteIn) => {
    const [o, i] = t.shape, out = new Float32Array(t.data.length);
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[permuteIn(b) * o + a] = t.data[a * i + b];
    return { shape: [i, o], data: out };
  };
  const nchwToNhwc = (j) => { const c = Math.floor(j / 25), h = Math.floor((j % 25) / 5), w = j % 5; return h * 80 + w * 16 + c; };
  const vec = (k) => ({ shape: W[k].shape, data: W[k].data });
  const out = {
    conv1: convToHWIO(W['conv1.weight']), conv2: convToHWIO(W['conv2.weight']),
    fc1: linIO(W['fc1.weight'], nchwToNhwc), fc2: linIO(W['fc2.weight'], (b) => b), fc3: linIO(W['fc3.weight'], (b) => b),
    fc3b: vec('fc3.bias'),
  };
  for (const i of [1, 2, 3, 4]) {
    out[`g${i}`] = vec(`bn${i}.weight`); out[`b${i}`] = vec(`bn${i}.bias`);
    out[`m${i}`] = vec(`bn${i}.running_mean`); out[`v${i}`] = vec(`bn${i}.running_var`);
  }
  return out;
}

/** NCHW [n,1,28,28] → NHWC [n,28,28,1]: with one channel the memory layout is identical. */
export function nchwToNhwcInput(x, n) {
  if (x.length !== n * 784) throw new Error(`input has ${x.length} values, expected ${n}×1×28×28`);
  return x;
}

const TRAINABLE = ['conv1', 'g1', 'b1', 'conv2', 'g2', 'b2', 'fc1', 'g3', 'b3', 'fc2', 'g4', 'b4', 'fc3', 'fc3b'];

/** Functional LeNet with tf.variables. BN in training mode uses batch statistics and updates running stats. */
export class TfjsLenet extends TfjsBnModel {
  constructor(W, opts = {}) {
    super(opts);
    this.addVariables(toNhwcArrays(W), (k) => TRAINABLE.includes(k), 'lenet');
    this.trainable = TRAINABLE.map((k) => this.p[k]);
  }

  bnParams(i) {
    const p = this.p;
    return { gamma: p[`g${i}`], beta: p[`b${i}`], mean: p[`m${i}`], variance: p[`v${i}`] };
  }

  forward(x, training = false) {
    const p = this.p;
    const bn = (h, i) => this.bn(h, i, training);
    let h = tf.conv2d(x, p.conv1, 1, [[0, 0], [2, 2], [2, 2], [0, 0]]);
    h = tf.maxPool(tf.relu(bn(h, 1)), 2, 2, 'valid');
    h = tf.conv2d(h, p.conv2, 1, 'valid');
    h = tf.maxPool(tf.relu(bn(h, 2)), 2, 2, 'valid');
    h = tf.reshape(h, [-1, 400]);
    h = tf.relu(bn(tf.matMul(h, p.fc1), 3));
    h = tf.relu(bn(tf.matMul(h, p.fc2), 4));
    return tf.add(tf.matMul(h, p.fc3), p.fc3b);
  }

  /** Eval-mode logits for NCHW Float32Array input of n images. */
  predict(x, n) {
    return tf.tidy(() => this.forward(tf.tensor4d(nchwToNhwcInput(x, n), [n, 28, 28, 1]), false).dataSync());
  }
}

/** The same network as a tfjs-layers model (for model.trainOnBatch). BN momentum 0.9 = PyTorch 0.1. */
export function buildLayersLenet(W, { optimizer }) {
  const L = tf.layers;
  const bn = () => L.batchNormalization({ axis: -1, momentum: 0.9, epsilon: BN_EPS });
  const model = tf.sequential({
    layers: [
      L.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: 'same', useBias: false }), bn(), L.reLU(),
      L.maxPooling2d({ poolSize: 2, strides: 2 }),
      L.conv2d({ filters: 16, kernelSize: 5, padding: 'valid', useBias: false }), bn(), L.reLU(),
      L.maxPooling2d({ poolSize: 2, strides: 2 }),
      L.flatten(),
      L.dense({ units: 120, useBias: false }), bn(), L.reLU(),
      L.dense({ units: 84, useBias: false }), bn(), L.reLU(),
      L.dense({ units: 10 }),
    ],
  });
  // Set weights layer by layer (Model.setWeights orders all trainable weights before all non-trainable ones).
  const a = toNhwcArrays(W);
  const perLayer = [['conv1'], ['g1', 'b1', 'm1', 'v1'], ['conv2'], ['g2', 'b2', 'm2', 'v2'], ['fc1'], ['g3', 'b3', 'm3', 'v3'],
    ['fc2'], ['g4', 'b4', 'm4', 'v4'], ['fc3', 'fc3b']];
  const withWeights = model.layers.filter((l) => l.weights.length > 0);
  if (withWeights.length !== perLayer.length) throw new Error('layers LeNet: unexpected layer structure');
  withWeights.forEach((layer, i) => {
    const init = perLayer[i].map((k) => tf.tensor(a[k].data, a[k].shape));
    layer.setWeights(init);
    tf.dispose(init);
  });
  model.compile({ optimizer, loss: (yt, yp) => tf.losses.softmaxCrossEntropy(yt, yp) });
  return model;
}

function makeOptimizer(name, lr) {
  if (name === 'adam') return tf.train.adam(lr);
  if (name === 'sgd') return tf.train.momentum(lr, 0.9);
  throw new Error(`unknown optimizer "${name}" (use adam or sgd)`);
}

/** Eval-mode logits of the tfjs model vs the plain-JS reference on `nCheck` random images. */
export function checkTfjsLogits(W, nCheck = 8) {
  const model = new TfjsLenet(W);
  const x = randomInputs(nCheck, 99);
  const err = compareLogits(model.predict(x, nCheck), referenceForward(W, x, nCheck));
  model.dispose();
  return err;
}

/**
 * Training throughput. data = {images Float32Array in NHWC order, labels Int32Array, n}; imageShape =
 * one image's [H, W, C] (LeNet's default: with one channel NCHW MNIST is already NHWC).
 * mode 'custom' = optimizer.minimize loop on makeModel(W, {bnMode}) (a TfjsBnModel; default LeNet);
 * 'layers' = LeNet's model.trainOnBatch. Warm-up steps, then `repeats` × `steps` timed steps
 * (input/one-hot tensor creation included).
 */
export async function tfjsTrainBench({ W, data, batch, imageShape = [28, 28, 1], makeModel = (w, o) => new TfjsLenet(w, o), mode = 'custom', bnMode = 'custom', optimizer = 'adam', lr = 0.002, warmup = 5, steps = 20, repeats = 5, budget, log = () => {} }) {
  await initTfjsWasm();
  const opt = makeOptimizer(optimizer, lr);
  const size = imageShape.reduce((a, d) => a * d, 1);
  let cursor = 0;
  const nextBatch = () => {
    if (cursor + batch > data.n) cursor = 0;
    const xs = tf.tensor4d(data.images.subarray(cursor * size, (cursor + batch) * size), [batch, ...imageShape]);
    const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(data.labels.subarray(cursor, cursor + batch), 'int32'), 10).toFloat());
    cursor += batch;
    return [xs, ys];
  };
  let step;
  let cleanup;
  if (mode === 'custom') {
    const model = makeModel(W, { bnMode });
    step = () => { const [xs, ys] = nextBatch(); const l = model.trainStep(opt, xs, ys); xs.dispose(); ys.dispose(); return l; };
    cleanup = () => model.dispose();
  } else if (mode === 'layers') {
    const model = buildLayersLenet(W, { optimizer: opt });
    step = async () => { const [xs, ys] = nextBatch(); const l = await model.trainOnBatch(xs, ys); xs.dispose(); ys.dispose(); return l; };
    cleanup = () => model.dispose();
  } else throw new Error(`unknown tfjs training mode "${mode}" (use custom or layers)`);

  let tensorsAfterWarmup = 0;
  const r = await timeSteps(step, { batch, warmup, steps, repeats, budget, afterWarmup: () => { tensorsAfterWarmup = tf.memory().numTensors; }, label: 'tfjs-wasm train', log });
  const leaked = tf.memory().numTensors - tensorsAfterWarmup;
  cleanup();
  opt.dispose();
  // NaN never recovers in training, so the last loss shows whether any step went non-finite
  if (!Number.isFinite(r.lossFirst) || !Number.isFinite(r.lossLast)) throw new Error('tfjs training produced a non-finite loss');
  return { ...r, leakedTensors: leaked };
}

/** Inference throughput: tensor creation + forward + dataSync per call, eval-mode BN. */
export async function tfjsInferBench({ W, batch, repeats = 5, minMs = 1000, warmupMs = 2000, budget }) {
  await initTfjsWasm();
  const model = new TfjsLenet(W);
  const check = compareLogits(model.predict(randomInputs(8, 99), 8), referenceForward(W, randomInputs(8, 99), 8));
  const x = randomInputs(batch, 5);
  const r = await measureThroughput(() => model.predict(x, batch), { itemsPerCall: batch, repeats, minMs, warmupMs, budget });
  model.dispose();
  return { ...r, check, gmacPerSec: (r.imgPerSec.median * LENET_MACS) / 1e9 };
}
