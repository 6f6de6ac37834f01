// CIFAR ResNet-20 (mulfree's `resnet20` zoo model, src/models/resnet_cifar.ts) in tfjs, NHWC, for the
// training benchmark (train-resnet.mjs, job kind 'tfjs-train-resnet'): conv1 3→16 → BN → ReLU, three
// stages of basic blocks (16/32/64 channels, stride 2 at the start of stages 2 and 3 with a 1×1
// strided conv + BN projection shortcut, i.e. option B), global average pool, 1×1 conv 64→10 without
// bias, BN over the logits. All convs bias-free. The structure is read from the PyTorch-style state
// dict, so it loads mulfree's own weights (and would take resnet32's).
import { tf, initTfjsWasm, convToHWIO, TfjsBnModel, tfjsTrainBench } from './tfjs-wasm.mjs';
import { readSafetensors } from './safetensors.mjs';
import { syntheticCifar, nchwToNhwc, poolSize, CIFAR_SHAPE } from './cifar.mjs';

const isBuffer = (k) => k.endsWith('.running_mean') || k.endsWith('.running_var');

export class TfjsResnet extends TfjsBnModel {
  /** W: mulfree's state dict {name: {shape, data}} (convs OIHW, loaded as HWIO). */
  constructor(W, opts = {}) {
    super(opts);
    const arrays = Object.fromEntries(Object.entries(W).map(([k, t]) => [k, t.shape.length === 4 ? convToHWIO(t) : t]));
    this.addVariables(arrays, (k) => !isBuffer(k), 'resnet');
    this.trainable = Object.keys(W).filter((k) => !isBuffer(k)).map((k) => this.p[k]);
    // blocks per stage and classes, from the keys and shapes
    this.blocks = Object.keys(W).filter((k) => /^layer1\.\d+\.conv1\.weight$/.test(k)).length;
    this.classes = W['fc.weight'].shape[0];
  }

  bnParams(k) {
    const p = this.p;
    return { gamma: p[`${k}.weight`], beta: p[`${k}.bias`], mean: p[`${k}.running_mean`], variance: p[`${k}.running_var`] };
  }

  forward(x, training = false) {
    const bn = (h, k) => this.bn(h, k, training);
    // PyTorch's symmetric padding k>>1 (TF 'same' pads a stride-2 conv asymmetrically, a different conv)
    const conv = (h, k, stride = 1) => {
      const w = this.p[`${k}.weight`], pad = w.shape[0] >> 1;
      return tf.conv2d(h, w, stride, pad ? [[0, 0], [pad, pad], [pad, pad], [0, 0]] : 'valid');
    };
    let h = tf.relu(bn(conv(x, 'conv1'), 'bn1'));
    for (const [stage, stride] of [['layer1', 1], ['layer2', 2], ['layer3', 2]]) {
      for (let b = 0; b < this.blocks; b++) {
        const k = `${stage}.${b}`, s = b === 0 ? stride : 1;
        const out = bn(conv(tf.relu(bn(conv(h, `${k}.conv1`, s), `${k}.bn1`)), `${k}.conv2`), `${k}.bn2`);
        const shortcut = this.p[`${k}.downsample.0.weight`] ? bn(conv(h, `${k}.downsample.0`, s), `${k}.downsample.1`) : h;
        h = tf.relu(tf.add(out, shortcut));
      }
    }
    h = tf.mean(h, [1, 2], true); // [N,1,1,64]
    return tf.reshape(bn(conv(h, 'fc'), 'bn2'), [-1, this.classes]);
  }

  /** Logits of n NCHW images (Float32Array), eval mode or training-mode BN (running stats untouched). */
  logits(x, n, training) {
    const [C, H, W] = CIFAR_SHAPE;
    return tf.tidy(() => Array.from(this.forward(tf.tensor4d(nchwToNhwc(x, n, CIFAR_SHAPE), [n, H, W, C]), training).dataSync()));
  }
}

/**
 * The child's side of train-resnet.mjs. spec: {weightsFile, batches, dataSeed, check: {n, seed}?,
 * optimizer, lr, bnMode, warmup, steps, repeats}. Returns {dataSource, results, check: {eval, train} logits}.
 */
export async function tfjsResnetTrainJob(spec, { budget, log }) {
  await initTfjsWasm();
  const W = readSafetensors(spec.weightsFile).tensors;
  let check = null;
  if (spec.check) {
    const model = new TfjsResnet(W);
    const x = syntheticCifar(spec.check.n, spec.check.seed).images;
    check = { eval: model.logits(x, spec.check.n, false), train: model.logits(x, spec.check.n, true) };
    model.dispose();
  }
  const results = [];
  let dataSource = '';
  for (const batch of spec.batches) {
    const data = syntheticCifar(poolSize(batch), spec.dataSeed);
    dataSource = data.source;
    const nhwc = { ...data, images: nchwToNhwc(data.images, data.n, CIFAR_SHAPE) };
    const [C, H, Wd] = CIFAR_SHAPE;
    const r = await tfjsTrainBench({ ...spec, W, data: nhwc, batch, imageShape: [H, Wd, C], makeModel: (w, o) => new TfjsResnet(w, o), budget, log });
    results.push({ batch, ...r });
  }
  return { dataSource, results, check };
}
