// The authors' own ResNet20-AdderNet, imported from PyTorch, exported to int8 and counted: its
// integer top-1 agrees with the float model on every fixture input, and its logits stay within 5 %
// of the float logits' spread. It records no dataset and this machine has no CIFAR-10, so it is
// calibrated on a .npy batch of smooth random pictures normalised as CIFAR-10 (`--calibration`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeSyntheticCifar } from "../src/data/cifar.js";
import { encodeNpy } from "../src/io/npy.js";
import { Rng } from "../src/tensor/random.js";
import { expectOk, lastJson, tempDir } from "./cli-helpers.js";
import { FIXTURES } from "./torch-files.js";

const CIFAR_MEAN = [0.4914, 0.4822, 0.4465], CIFAR_STD = [0.2023, 0.1994, 0.201];

/** n smooth 32×32 RGB pictures (4×4 random colours, bilinear, plus grain), normalised as CIFAR-10. */
function smoothPictures(n: number, seed: number): Float32Array {
  const rng = Rng.fromSeed(seed);
  const out = new Float32Array(n * 3 * 1024);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const coarse = Array.from({ length: 16 }, () => rng.nextFloat());
      const at = (y: number, x: number) => coarse[y * 4 + x]!;
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const fy = Math.min(Math.max((y + 0.5) / 8 - 0.5, 0), 3), fx = Math.min(Math.max((x + 0.5) / 8 - 0.5, 0), 3);
          const y0 = Math.floor(fy), x0 = Math.floor(fx), y1 = Math.min(y0 + 1, 3), x1 = Math.min(x0 + 1, 3), wy = fy - y0, wx = fx - x0;
          const v = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
          const p = Math.min(1, Math.max(0, v + 0.085 * (rng.nextFloat() * 2 - 1)));
          out[((i * 3 + c) * 32 + y) * 32 + x] = (p - CIFAR_MEAN[c]!) / CIFAR_STD[c]!;
        }
      }
    }
  }
  return out;
}

test("the imported ResNet20-AdderNet exports to int8, agrees with float on every fixture input, and is counted", () => {
  const dir = tempDir("r20-int8");
  const ckpt = join(dir, "r20.safetensors"), bundle = join(dir, "r20.mulfree.safetensors"), calib = join(dir, "calibration.npy");
  expectOk(["import", join(FIXTURES, "ResNet20-AdderNet.pth"), "-o", ckpt]);
  writeFileSync(calib, encodeNpy([128, 3, 32, 32], smoothPictures(128, 11)));
  const x = lastJson(expectOk(["export", ckpt, "-o", bundle, "--calibration", calib, "--percentile", "99.99", "--json"]).stdout);
  assert.match(x.warnings.join("\n"), /conv1: channel\(s\) 13 are switched off/, "the authors' dead channel (γ ≈ 7e−9) is a constant, not an int32 overflow");
  const inputs = join(FIXTURES, "cifar_inputs.npy");
  const float = lastJson(expectOk(["predict", ckpt, "--input", inputs, "--json"]).stdout).images as Array<{ logits: number[] }>;
  const int8 = lastJson(expectOk(["predict", bundle, "--input", inputs, "--json"]).stdout).images as Array<{ logits: number[] }>;
  const argmax = (v: number[]) => v.indexOf(Math.max(...v));
  const all = float.flatMap((im) => im.logits);
  const mean = all.reduce((s, v) => s + v, 0) / all.length;
  const std = Math.sqrt(all.reduce((s, v) => s + (v - mean) ** 2, 0) / all.length);
  let diff = 0;
  float.forEach((im, i) => {
    assert.equal(argmax(int8[i]!.logits), argmax(im.logits), `fixture input ${i}: int8 top-1`);
    im.logits.forEach((v, j) => (diff += Math.abs(v - int8[i]!.logits[j]!)));
  });
  const ratio = diff / all.length / std;
  assert.ok(ratio <= 0.05, `mean |Δlogit| is ${(100 * ratio).toFixed(1)} % of the float logits' std`);
  // a CIFAR-10 test file the user brings (here a synthetic one in the same format): run reports on it
  const cifar = join(dir, "test_batch.bin");
  writeSyntheticCifar(cifar, 64, 3);
  const r = lastJson(expectOk(["run", bundle, "--dataset", "cifar10", "--data", cifar, "--json"]).stdout);
  assert.equal(r.dataset, "cifar10");
  assert.equal(r.total, 64);
  const ops = lastJson(expectOk(["ops", bundle, "--json"]).stdout);
  assert.equal(ops.graph, "integer");
  assert.ok(ops.layers.length > 20 && ops.total.adds > 1e7, "every layer counted");
  assert.ok(ops.layers.some((l: { name: string }) => /layer1\.0\.add/.test(l.name)), "residual adds counted");
});
