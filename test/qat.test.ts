// Quantization-aware training (`train --qat B`, src/train/qat.ts): the fake-quantized values lie
// on exactly the grids `export --bits B` gives (src/deploy/export/quantize_layers.ts), gradients
// pass straight through (clipped for activations), a QAT run resumes bit for bit with its running
// ranges, and the fine-tuned model's 4-bit bundle agrees with what QAT evaluated.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { quantizeAdder, quantizeMul } from "../src/deploy/export/quantize_layers.js";
import { quantFromRange } from "../src/kernels/reference/quant_range.js";
import { backward } from "../src/tensor/autograd.js";
import { fakeQuantize, quantizeInsideGrid, quantizeSymmetricRows, quantizeToGrid, straightThrough } from "../src/tensor/ops/fake_quant.js";
import { Tensor } from "../src/tensor/tensor.js";
import { loadCheckpoint } from "../src/train/checkpoint.js";
import { expectCleanError, expectOk, lastJson, tempDir } from "./cli-helpers.js";
import { rng } from "./random.js";

test("fake-quantized multiply weights are export's per-channel codes times their scale, at every width", () => {
  const r = rng(81);
  for (const bits of [4, 5, 6, 7, 8]) {
    const K = 5, taps = 13;
    const w = Float32Array.from({ length: K * taps }, (_, i) => (r() - 0.5) * (1 + (i % taps === 0 ? 7 : 0)));
    const maxCode = 2 ** (bits - 1) - 1;
    const input = { scale: 1, zeroPoint: 0 };
    const q = quantizeMul(w, K, input, maxCode);
    const out = new Float32Array(w.length);
    quantizeSymmetricRows(w, out, K, maxCode);
    const codes = q.weights.kind === "mul" ? q.weights.w : new Int8Array(0);
    for (let i = 0; i < w.length; i++) {
      const s = q.acc.unit[Math.floor(i / taps)]!; // input scale 1: the unit is the weight scale
      assert.ok(out[i] === Math.fround(codes[i]! * s), `${bits} bits, weight ${i}: ${out[i]} vs code ${codes[i]} × ${s}`);
    }
  }
});

test("fake-quantized adder weights: inside the input's range they are export's codes on its grid, outside they stay (export keeps them exactly)", () => {
  const r = rng(82);
  for (const levels of [15, 63, 255]) {
    const grid = { ...quantFromRange(-0.7, 2.3, levels), levels };
    const w = Float32Array.from({ length: 400 }, () => (r() - 0.3) * 5);
    const q = quantizeAdder(w, 4, grid, levels);
    const out = new Float32Array(w.length);
    quantizeInsideGrid(w, out, grid);
    const lo = -grid.zeroPoint * grid.scale, hi = (levels - grid.zeroPoint) * grid.scale;
    let inside = 0;
    for (let i = 0; i < w.length; i++) {
      if (w[i]! < lo || w[i]! > hi) assert.equal(out[i], w[i], `weight ${i} outside the range`);
      else {
        inside++;
        const code = q.weights.kind === "adder" ? q.weights.w[i]! : -1;
        assert.equal(out[i], Math.fround((code - grid.zeroPoint) * grid.scale), `${levels} codes, weight ${i}`);
      }
    }
    assert.ok(inside > 100 && inside < 400, `${inside} of 400 weights inside: both cases drawn`);
  }
});

test("activations: values on the grid, clamped at its ends; the gradient passes inside the range only", () => {
  const grid = { ...quantFromRange(0, 3, 15), levels: 15 };
  const x = Tensor.from([-1, 0, 0.09, 0.11, 1.49, 2.99, 3, 4], [8], true);
  x.requiresGrad = true;
  const y = fakeQuantize(x, grid);
  assert.deepEqual(Array.from(y.data), [0, 0, 0, 0.2, 1.4, 3, 3, 3].map(Math.fround));
  backward(y, Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8));
  assert.deepEqual(Array.from(x.grad!), [0, 2, 3, 4, 5, 6, 7, 0]);
  const again = Tensor.empty([8]).data;
  quantizeToGrid(y.data, again, grid);
  assert.deepEqual(again, y.data, "quantizing twice changes nothing");
  const w = new Tensor(Float32Array.of(0.3, -0.8), [2], true);
  backward(straightThrough(w, (a, out) => out.set(a.map(Math.round))), Float32Array.of(5, -6));
  assert.deepEqual(Array.from(w.grad!), [5, -6], "weights: identity gradient");
});

test("train --qat: refuses widths outside 4–8, stores the width, resumes bit for bit, and its 4-bit bundle keeps the QAT accuracy", () => {
  const dir = tempDir("qat");
  const data = ["--train-limit", "4096", "--test-limit", "500"];
  expectCleanError(["train", ...data, "--qat", "3", "--out", join(dir, "x")], /--qat must be .*4/);
  const float = join(dir, "float");
  expectOk(["train", "--op", "adder", ...data, "--epochs", "3", "--out", float, "--quiet"]);
  const from = join(float, "model.safetensors");
  const qat = ["train", "--from", from, "--qat", "4", "--lr", "0.01", ...data, "--quiet"];
  const whole = lastJson(expectOk([...qat, "--epochs", "2", "--out", join(dir, "whole"), "--json"]).stdout);
  assert.equal(whole.options.qat, 4);
  expectOk([...qat, "--epochs", "1", "--out", join(dir, "split")]);
  expectOk(["train", "--resume", "--epochs", "2", "--out", join(dir, "split"), "--quiet"]);
  assert.deepEqual(readFileSync(join(dir, "split", "model.safetensors")), readFileSync(join(dir, "whole", "model.safetensors")), "1 + 1 resumed epochs = 2 epochs");
  const model = join(dir, "whole", "model.safetensors");
  const learned = loadCheckpoint(model).qat!;
  assert.equal(learned.bits, 4, "model.safetensors records the QAT width");
  assert.ok(Object.keys(learned.ranges).length >= 4, `ranges of ${Object.keys(learned.ranges).join(", ")}`);
  const bundle = join(dir, "qat4.mulfree.safetensors");
  const exported = lastJson(expectOk(["export", model, "-o", bundle, "--bits", "4", "--json"]).stdout);
  assert.deepEqual(exported.qat, { bits: 4, rangesUsed: true }, "export at the QAT width uses the learned ranges");
  const conv2 = exported.layers.find((l: { name: string }) => l.name === "conv2");
  const [lo, hi] = learned.ranges.conv2!;
  assert.ok(Math.abs(conv2.in.scale - (hi - Math.min(lo, 0)) / 15) < 1e-6 * hi, `conv2 reads the grid QAT learned: scale ${conv2.in.scale} for [${lo}, ${hi}]`);
  const other = lastJson(expectOk(["export", model, "-o", join(dir, "qat-at-6.mulfree.safetensors"), "--bits", "6", "--json"]).stdout);
  assert.deepEqual(other.qat, { bits: 4, rangesUsed: false }, "another width calibrates");
  const ran = lastJson(expectOk(["run", bundle, "--json"]).stdout);
  assert.equal(ran.total, 500, "the bundle runs on the run's own test images");
  const qatAccuracy = whole.history[1].testAccuracy;
  assert.ok(qatAccuracy > 0.8, `QAT accuracy ${qatAccuracy}`);
  assert.ok(Math.abs(ran.testAccuracy - qatAccuracy) <= 0.03, `4-bit bundle ${ran.testAccuracy} vs the QAT model's fake-quantized ${qatAccuracy}`);
});
