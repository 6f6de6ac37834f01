// The data stays with the model: a Fashion-MNIST-format run goes train → eval → export → run →
// predict with its data named once, and every step reports on the same test set with the same
// normalisation and class names. (The IDX files here are MNIST digits under other labels, written
// with Fashion-MNIST's file names: a dataset whose accuracy on plain MNIST would be near zero.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import { datasetInfo } from "../src/data/registry.js";
import { normalizeUnitFloats } from "../src/data/dataset.js";
import { encodeNpy } from "../src/io/npy.js";
import { expectCleanError, expectOk, lastJson, mnistSubset, tempDir, writeIdxPair } from "./cli-helpers.js";

const dir = tempDir("fashion");
const data = join(dir, "fashion");
const relabel = (labels: Uint8Array) => labels.map((l) => (l * 7 + 3) % 10);
const train = mnistSubset(3000, "train");
const testSet = mnistSubset(300, "test");
mkdirSync(data);
writeIdxPair(data, "train", train.images, relabel(train.labels), [28, 28], true);
writeIdxPair(data, "t10k", testSet.images, relabel(testSet.labels), [28, 28], true);

test("train → eval → export → run → predict on fashion-mnist, data flags given once", () => {
  const run = join(dir, "run");
  const t = lastJson(expectOk(["train", "--dataset", "fashion-mnist", "--data", data, "--epochs", "2", "--batch", "64", "--threads", "2", "--quiet", "--out", run, "--json"]).stdout);
  assert.equal(t.dataset, "fashion-mnist");
  assert.ok(t.testAccuracy > 0.5, `learns the relabelled digits: ${t.testAccuracy}`);

  const e = lastJson(expectOk(["eval", join(run, "model.safetensors"), "--json"]).stdout);
  assert.equal(e.dataset, "fashion-mnist");
  assert.equal(e.total, 300);
  assert.equal(e.testAccuracy, t.testAccuracy, "eval reproduces the run's last evaluation");

  const bundle = join(dir, "fashion.mulfree.safetensors");
  const x = lastJson(expectOk(["export", join(run, "model.safetensors"), "-o", bundle, "--json"]).stdout);
  assert.equal(x.dataset, "fashion-mnist", "calibrated on the recorded training data");
  const r = lastJson(expectOk(["run", bundle, "--json"]).stdout);
  assert.equal(r.dataset, "fashion-mnist");
  assert.equal(r.total, 300);
  assert.ok(Math.abs(r.testAccuracy - t.testAccuracy) <= 0.02, `int8 ${r.testAccuracy} vs float ${t.testAccuracy}`);

  // one test image as a PNG and as the normalised tensor: the PNG path normalises as Fashion-MNIST
  const k = 5;
  const pixels = testSet.images.subarray(k * 784, (k + 1) * 784);
  const png = new PNG({ width: 28, height: 28 });
  pixels.forEach((v, i) => png.data.set([v, v, v, 255], 4 * i));
  writeFileSync(join(dir, "item.png"), PNG.sync.write(png));
  const norm = datasetInfo("fashion-mnist").normalization;
  const x01 = Float32Array.from(pixels, (v) => Math.fround(v / 255));
  writeFileSync(join(dir, "item.npy"), encodeNpy([1, 1, 28, 28], normalizeUnitFloats(x01, 1, 784, norm)));
  const viaPng = lastJson(expectOk(["predict", join(run, "model.safetensors"), "--input", join(dir, "item.png"), "--json"]).stdout);
  const viaNpy = lastJson(expectOk(["predict", join(run, "model.safetensors"), "--input", join(dir, "item.npy"), "--json"]).stdout);
  assert.equal(viaPng.dataset, "fashion-mnist");
  assert.deepEqual(viaPng.images[0].logits, viaNpy.images[0].logits, "same input tensor either way");
  assert.ok(datasetInfo("fashion-mnist").classNames.includes(viaPng.images[0].top[0].name), "Fashion-MNIST class names");
  const int8 = lastJson(expectOk(["predict", bundle, "--input", join(dir, "item.png"), "--json"]).stdout);
  assert.equal(int8.dataset, "fashion-mnist");
  assert.equal(int8.images[0].top.length, 5);

  // another dataset is refused by every command that uses data
  expectCleanError(["eval", join(run, "model.safetensors"), "--dataset", "mnist"], /was trained on fashion-mnist, not mnist/);
  expectCleanError(["run", bundle, "--dataset", "mnist"], /was trained on fashion-mnist, not mnist/);
  expectCleanError(["export", join(run, "model.safetensors"), "-o", join(dir, "x.mulfree.safetensors"), "--dataset", "mnist"], /was trained on fashion-mnist, not mnist/);
});
