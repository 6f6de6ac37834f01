// How much of the adder input gradient's work falls in zero rows: a tile row of 8 positions under
// one tap whose 8 input values are all +0 (a ReLU's zeros, padding taps), which the kernel runs as
// dy·f(W), a multiply and an add per term (assembly/adder.ts, convGradTile2x8). Counted the way the
// kernel tiles each group's positions: aligned strips of 8, lanes past the end reading zeros.
// Work is weighted by the output channels per group.
//
//   node bench/adder/zero-tiles.mjs [distDir] [--model resnet20|lenet5]
//       a fresh adder model in train mode on the benchmarks' data: 64 synthetic CIFAR images
//       (resnet20, the default) or the first 256 MNIST training images (lenet5)
//   node bench/adder/zero-tiles.mjs [distDir] --checkpoint FILE --images IMAGES.npy
//       a trained model in eval mode on float32 images (N×C×H×W, normalised as it was trained)
//
// For the official ResNet20-AdderNet on the three real CIFAR-10 test images of the fixtures:
//   node dist/src/cli/main.js import test/fixtures/torch/ResNet20-AdderNet.pth -o /tmp/r20.safetensors
//   node bench/adder/zero-tiles.mjs dist --checkpoint /tmp/r20.safetensors --images test/fixtures/torch/cifar_inputs.npy
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "../lib/stats.mjs";

const opts = parseArgs(process.argv.slice(2));
const dist = path.resolve(opts._[0] ?? "dist");
const modelName = opts.model ?? "resnet20", checkpoint = opts.checkpoint, imagesPath = opts.images;
if (!["resnet20", "lenet5"].includes(modelName)) throw new Error(`--model must be resnet20 or lenet5, got ${modelName}`);
if ((checkpoint === undefined) !== (imagesPath === undefined)) throw new Error("give both --checkpoint and --images, or neither");
const load = (p) => import(pathToFileURL(path.join(dist, "src", p)).href);
const { initRuntime } = await load("kernels/runtime.js");
const { Adder2d } = await load("nn/adder.js");
const { Tensor } = await load("tensor/tensor.js");
const { noGrad } = await load("tensor/autograd.js");
const { conv2dShape } = await load("kernels/conv2d.js");
initRuntime({ threads: 1 });

let model, input, source;
if (checkpoint) {
  const { loadModel } = await load("train/load_model.js");
  model = loadModel(checkpoint).model; // eval mode
  const { parseNpy } = await load("io/npy.js");
  const { data, shape } = parseNpy(readFileSync(imagesPath), imagesPath);
  input = Tensor.from(data, shape);
  source = `${checkpoint} (eval mode) on ${shape[0]} images of ${imagesPath}`;
} else {
  const { createModel, resolveSpec, manualSeed } = await load("index.js");
  manualSeed(1);
  model = createModel(resolveSpec({ model: modelName, op: "adder" })).train();
  let ds, n;
  if (modelName === "lenet5") {
    const { loadMnist } = await load("data/mnist.js");
    ds = loadMnist("train");
    n = 256;
  } else {
    const { cifarFromBytes, syntheticCifar } = await load("data/cifar.js");
    ds = cifarFromBytes([{ bytes: syntheticCifar(64, 1), name: "synthetic" }]);
    n = 64;
  }
  const sample = ds.images.length / ds.n;
  input = Tensor.from(ds.images.subarray(0, n * sample), [n, ...ds.shape]);
  source = `a fresh ${modelName} adder model (seed 1, train mode) on ${n} ${modelName === "lenet5" ? "MNIST" : "synthetic CIFAR"} images`;
}

// every adder conv layer's input, as the forward pass sees it; a layer that reads the images
// themselves has no input gradient to compute in training, so it is left out
const seen = [];
const forward = Adder2d.prototype.forward;
Adder2d.prototype.forward = function (x) {
  if (x !== input) seen.push({ geometry: this.geometry, shape: x.shape.slice(), x: Float32Array.from(x.data) });
  return forward.call(this, x);
};
noGrad(() => model.forward(input));
Adder2d.prototype.forward = forward;

/** Row work (tile rows × output channels per group) in all rows, zero rows, and padding-only rows. */
function countTiles({ geometry: g, shape: [N, C, H, W], x }) {
  const [kh, kw] = g.kernelSize, [sh, sw] = g.stride, [ph, pw] = g.padding, [dh, dw] = g.dilation;
  const G = g.groups, Cg = C / G, Kg = g.outChannels / G, R = Cg * kh * kw;
  const { OW, OH } = conv2dShape([N, C, H, W], [g.outChannels, Cg, kh, kw], { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: G });
  const P = OH * OW;
  let all = 0, zero = 0, padding = 0;
  /** x under col row r of group gi at position p, or null on a padding tap */
  const colValue = (n, gi, r, p) => {
    const c = gi * Cg + Math.floor(r / (kh * kw)), ki = Math.floor(r / kw) % kh, kj = r % kw;
    const ih = Math.floor(p / OW) * sh + ki * dh - ph, iw = (p % OW) * sw + kj * dw - pw;
    return ih >= 0 && ih < H && iw >= 0 && iw < W ? x[((n * C + c) * H + ih) * W + iw] : null;
  };
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < G; gi++) {
      for (let r = 0; r < R; r++) {
        for (let p0 = 0; p0 < P; p0 += 8) {
          let allZero = true, allPadding = true;
          for (let p = p0; p < Math.min(P, p0 + 8); p++) {
            const v = colValue(n, gi, r, p);
            if (v !== null) allPadding = false;
            if (v !== null && !Object.is(v, 0)) allZero = false; // −0 takes the general loop
          }
          all += Kg;
          if (allZero) zero += Kg;
          if (allPadding) padding += Kg;
        }
      }
    }
  }
  return { all, zero, padding };
}

console.log(`zero rows of the adder input gradient: ${source}`);
console.log("| layer input | kernel | stride | x = 0 | work in zero rows | of it, padding only |");
console.log("|---|---|---|---|---|---|");
const total = { all: 0, zero: 0, padding: 0, zeros: 0, values: 0 };
for (const layer of seen) {
  const t = countTiles(layer);
  const zeros = layer.x.reduce((s, v) => s + (v === 0 ? 1 : 0), 0);
  for (const k of ["all", "zero", "padding"]) total[k] += t[k];
  total.zeros += zeros;
  total.values += layer.x.length;
  const pct = (a, b) => `${((100 * a) / b).toFixed(1)}%`;
  const [, C, H, W] = layer.shape, g = layer.geometry;
  console.log(`| ${C}×${H}×${W} | ${g.kernelSize.join("×")} | ${g.stride[0]} | ${pct(zeros, layer.x.length)} | ${pct(t.zero, t.all)} | ${pct(t.padding, t.all)} |`);
}
console.log(`all ${seen.length} adder conv layers with an input gradient: x = 0 in ${((100 * total.zeros) / total.values).toFixed(1)}% of their inputs; ` +
  `${((100 * total.zero) / total.all).toFixed(1)}% of the input gradient's tile work in zero rows (${((100 * total.padding) / total.all).toFixed(1)}% padding only)`);
process.exit(0);
