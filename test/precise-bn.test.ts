// PreciseBN: the running statistics become the plain average of per-batch statistics, and an
// adder LeNet-5 after one epoch reports (nearly) what a full recalibration gives, while the
// running averages from training lag far behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openData } from "../src/data/registry.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { resolveSpec } from "../src/models/zoo.js";
import { BatchNorm2d } from "../src/nn/batchnorm.js";
import { Sequential } from "../src/nn/container.js";
import { Rng, permutation } from "../src/tensor/random.js";
import { evaluate } from "../src/train/metrics.js";
import { preciseBatchNorm } from "../src/train/precise_bn.js";
import { Trainer } from "../src/train/trainer.js";

initRuntime({ threads: 2 });

test("running statistics are the average of the batches' means and unbiased variances", () => {
  const [C, H, W, n, batch] = [3, 4, 5, 40, 8];
  const rng = Rng.fromSeed(3);
  const images = Float32Array.from({ length: n * C * H * W }, (_, i) => 2 * rng.nextFloat() + (i % 7) * 0.3);
  const bn = new BatchNorm2d(C);
  const model = new Sequential(bn);
  const used = preciseBatchNorm(model, { images, labels: new Int32Array(n), n, shape: [C, H, W] }, { batches: 4, batchSize: batch, seed: 11 });
  assert.equal(used, 32);
  // the same sample, by hand
  const order = new Int32Array(n);
  permutation(Rng.fromSeed(11), order);
  const plane = H * W;
  for (let c = 0; c < C; c++) {
    let meanSum = 0, varSum = 0;
    for (let b = 0; b < 4; b++) {
      const vals: number[] = [];
      for (let i = 0; i < batch; i++) {
        const k = order[b * batch + i]!;
        for (let p = 0; p < plane; p++) vals.push(images[(k * C + c) * plane + p]!);
      }
      const m = vals.reduce((a, v) => a + v, 0) / vals.length;
      meanSum += m;
      varSum += vals.reduce((a, v) => a + (v - m) ** 2, 0) / (vals.length - 1);
    }
    assert.ok(Math.abs(bn.runningMean.data[c]! - meanSum / 4) < 1e-5, `mean of channel ${c}`);
    assert.ok(Math.abs(bn.runningVar.data[c]! - varSum / 4) < 1e-4, `variance of channel ${c}`);
  }
  assert.equal(bn.momentum, 0.1, "momentum restored");
  assert.equal(bn.training, true, "mode restored");
});

test("a 1-epoch adder LeNet-5 reports within 1 point of a full recalibration; the running averages lag", () => {
  const { train, test } = openData({ name: "mnist", trainLimit: 6144, testLimit: 2000 });
  const trainer = new Trainer({
    spec: resolveSpec({ model: "lenet5", op: "adder" }),
    epochs: 1, batchSize: 256, optimizer: "sgd", lr: 0.1, momentum: 0.9, nesterov: false, weightDecay: 5e-4,
    schedule: "cosine", milestones: [], gamma: 0.1, seed: 1, augment: null, preciseBn: 32,
  }, train!, test!);
  const [r] = trainer.run();
  assert.ok(r!.testAccuracyRunningStats !== undefined, "the record holds both accuracies");
  // every training image, in other batches: the statistics PreciseBN estimates
  preciseBatchNorm(trainer.model, train!, { batches: 1000, batchSize: 256, seed: 99 });
  const full = evaluate(trainer.model, test!).accuracy;
  assert.ok(Math.abs(r!.testAccuracy - full) <= 0.01, `reported ${r!.testAccuracy}, recalibrated on all data ${full}`);
  assert.ok(full - r!.testAccuracyRunningStats! > 0.05, `running averages lag: ${r!.testAccuracyRunningStats} vs ${full}`);
});
