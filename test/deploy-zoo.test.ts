// Every zoo model × op kind exports to int8 and runs: random weights, BatchNorm statistics from a
// training-mode pass with random γ and β, small inputs (the MNIST models 1×28×28, the CIFAR models
// 3×8×8). The wasm engine gives exactly the reference engine's logits (the reference on one image:
// it is slow), `mulfree ops` counts the bundle, residual adds included, and the integer logits
// follow the float ones. Not checked for closeness: the MNIST models' adder layers at random
// weights, where −Σ|x − w| over hundreds of taps varies little from image to image next to the
// rounding of its inputs (their error is the same as before residual support; trained adder models
// are measured in docs/deploy.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { countIntOps } from "../src/analysis/ops_int.js";
import { exportBundle } from "../src/deploy/export/export_bundle.js";
import { load } from "../src/deploy/run/runner.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { createModel, modelNames, resolveSpec } from "../src/models/zoo.js";
import { manualSeed } from "../src/tensor/random.js";
import { floatLogits, MEAN, settle, STD, tinyImages } from "./deploy-tiny-models.js";

initRuntime({ threads: 1 });

const OPS = ["conv", "adder", "shift-q", "shift-ps"] as const;
const MNIST = new Set(["lenet5", "deepshift-fc", "deepshift-conv"]);
const TEST = 6, CLASSES = 10;
/** Calibration images; vgg-small's 4.6 M weights make every step slow, so it takes fewer. */
const calibrationImages = (model: string) => (model === "vgg-small" ? 8 : 24);
/** Residual adds in the zoo's ResNets: one per basic block, three stages. */
const BLOCKS: Record<string, number> = { resnet20: 9, resnet32: 15 };

function sameArray(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} differs: ${a[i]} vs ${b[i]}`);
}

/** Mean over images of the largest logit error relative to the image's float logit range, and the top-1 agreement. */
function closeness(float: Float32Array, int: Float32Array): { error: number; agree: number } {
  let error = 0, agree = 0;
  const top = (row: Float32Array) => row.indexOf(Math.max(...row));
  for (let n = 0; n < TEST; n++) {
    const f = float.subarray(n * CLASSES, (n + 1) * CLASSES), q = int.subarray(n * CLASSES, (n + 1) * CLASSES);
    const range = Math.max(...f) - Math.min(...f);
    error += Math.max(...Array.from(f, (v, c) => Math.abs(v - q[c]!))) / range / TEST;
    if (top(f) === top(q)) agree++;
  }
  return { error, agree };
}

for (const name of modelNames()) {
  test(`${name}: ${OPS.join(", ")} export to int8 and run; wasm = reference engine; ops counts it`, () => {
    const shape: [number, number, number] = MNIST.has(name) ? [1, 28, 28] : [3, 8, 8];
    const size = shape[0] * shape[1] * shape[2];
    const calibration = calibrationImages(name);
    const calib = tinyImages(calibration, 1, shape), images = tinyImages(TEST, 2, shape);
    for (const op of OPS) {
      const what = `${name} ${op}`;
      manualSeed(3);
      const model = createModel(resolveSpec({ model: name, op, inChannels: shape[0], inputSize: shape[1] }));
      settle(model, calib.normalized, calibration, 4, shape);
      const norm = { mean: Array(shape[0]).fill(MEAN[0]), std: Array(shape[0]).fill(STD[0]) };
      const { bytes, bundle } = exportBundle(model, calib.normalized, calibration, shape, norm, { model: name, op }, what);

      const fast = load(bytes, { name: what });
      const logits = fast.predict(images.pixels, TEST).logits.slice();
      fast.dispose();
      const reference = load(bytes, { backend: "reference", name: what });
      sameArray(logits.subarray(0, CLASSES), reference.predict(images.pixels.subarray(0, size), 1).logits, `${what}: wasm vs reference`);
      reference.dispose();

      const ops = countIntOps(bundle);
      const adds = ops.layers.filter((l) => l.op === "residual add");
      assert.equal(adds.length, BLOCKS[name] ?? 0, `${what}: one residual add per block`);
      for (const a of adds) assert.equal(a.mults, 2 * (a.ops.find((o) => o.what === "sum")!.count), `${what}: two multiplies per added value`);

      if (MNIST.has(name) && op === "adder") continue;
      const { error, agree } = closeness(floatLogits(model, images.normalized, TEST, shape), logits);
      assert.ok(error < 0.1, `${what}: mean logit error ${(error * 100).toFixed(1)} % of the logit range`);
      assert.ok(agree >= TEST - 1, `${what}: ${agree}/${TEST} top-1 classes agree with the float model`);
    }
  });
}
