// The images `mulfree bench` feeds every engine: MNIST test images for timing, MNIST training
// images for calibration (random pixels, said so, when the MNIST files cannot be read).
import { loadMnist, MNIST_NORMALIZATION } from "../../data/mnist.js";
import { normalizeUnitFloats, type Normalization } from "../../data/dataset.js";

export const IMAGE: [number, number, number] = [1, 28, 28];
export const IMAGE_SIZE = 28 * 28;

export interface BenchImages {
  /** n·784 pixels in [0, 1]: the deployment bundle's input. */
  pixels: Float32Array;
  /** The same images normalised as in training: the float model's input. */
  normalized: Float32Array;
  n: number;
}

export interface BenchData {
  test: BenchImages;
  calibration: BenchImages;
  norm: Normalization;
  /** What the images are, for the output. */
  source: string;
}


function images(pixels: Float32Array, n: number, norm: Normalization): BenchImages {
  return { pixels, normalized: normalizeUnitFloats(pixels, 1, IMAGE_SIZE, norm), n };
}

/** Deterministic pixels in [0, 1] with MNIST-like sparsity (most pixels black). */
function randomPixels(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n * IMAGE_SIZE);
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    out[i] = u < 0.8 ? 0 : Math.fround(Math.round(((u - 0.8) / 0.2) * 255) / 255);
  }
  return out;
}

export function loadBenchData(testImages: number, calibrationImages: number): BenchData {
  const norm = MNIST_NORMALIZATION;
  try {
    const test = loadMnist("test", { limit: testImages, normalize: false });
    const train = loadMnist("train", { limit: calibrationImages, normalize: false });
    return {
      test: images(test.images, test.n, norm),
      calibration: images(train.images, train.n, norm),
      norm,
      source: `MNIST: the first ${test.n} test images as input, the first ${train.n} training images for calibration`,
    };
  } catch (e) {
    return {
      test: images(randomPixels(testImages, 1), testImages, norm),
      calibration: images(randomPixels(calibrationImages, 2), calibrationImages, norm),
      norm,
      source: `random pixels (MNIST not readable: ${(e as Error).message.split("\n")[0]})`,
    };
  }
}

/** `batch` images from `from`, repeating them cyclically when the batch is larger. */
export function batchOf(from: Float32Array, n: number, batch: number): Float32Array {
  const out = new Float32Array(batch * IMAGE_SIZE);
  for (let i = 0; i < batch; i++) out.set(from.subarray((i % n) * IMAGE_SIZE, ((i % n) + 1) * IMAGE_SIZE), i * IMAGE_SIZE);
  return out;
}
