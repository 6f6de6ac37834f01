// An in-memory image classification dataset on plain typed arrays, and the pixel normalisation
// shared by the MNIST and CIFAR readers.
import { DataError } from "./errors.js";

export interface Dataset {
  /** n × C × H × W float32 values, NCHW. */
  images: Float32Array;
  /** n class indices. */
  labels: Int32Array;
  n: number;
  /** [C, H, W] of one sample. */
  shape: [number, number, number];
  /** The stored value of a black (raw 0) pixel per channel; padding during augmentation uses it. Default 0. */
  padValue?: number[];
  /** Number of classes (labels are in [0, numClasses)). */
  numClasses?: number;
  /** The raw pixel bytes behind `images` (n × C × H × W), kept by the file readers: deployment takes bytes. */
  pixels?: Uint8Array;
  /** The normalisation that turned `pixels` into `images` (null: x/255 only). */
  normalization?: Normalization | null;
}

export interface Normalization {
  mean: number[];
  std: number[];
}

/**
 * uint8 pixels (n samples of C planes of `planeSize` pixels, NCHW) to float32: x/255, then
 * (x − mean[c]) / std[c] per channel when `norm` is given. Each step is rounded to float32 like
 * torchvision's ToTensor + Normalize, so the values match PyTorch bit for bit.
 */
export function pixelsToFloat(pixels: Uint8Array, channels: number, planeSize: number, norm: Normalization | null): Float32Array {
  const luts = channelTables(channels, norm);
  const out = new Float32Array(pixels.length);
  const sample = channels * planeSize;
  if (sample === 0 || pixels.length % sample !== 0) {
    throw new DataError(`pixelsToFloat: ${pixels.length} pixels are not whole samples of ${channels}×${planeSize}`);
  }
  for (let s = 0; s < pixels.length; s += sample) {
    for (let c = 0; c < channels; c++) {
      const lut = luts[c]!;
      const base = s + c * planeSize;
      for (let i = base; i < base + planeSize; i++) out[i] = lut[pixels[i]!]!;
    }
  }
  return out;
}

/**
 * Floats already in [0, 1] (decoded, resized images) to the model's input: (x − mean[c]) / std[c]
 * in the same float32 steps as pixelsToFloat, so a byte p and the float p/255 give the same value.
 */
export function normalizeUnitFloats(x: Float32Array, channels: number, planeSize: number, norm: Normalization | null): Float32Array {
  const sample = channels * planeSize;
  if (sample === 0 || x.length % sample !== 0) throw new DataError(`normalizeUnitFloats: ${x.length} values are not whole samples of ${channels}×${planeSize}`);
  checkNormalization(channels, norm);
  const out = new Float32Array(x.length);
  if (!norm) {
    out.set(x);
    return out;
  }
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / planeSize) % channels;
    out[i] = Math.fround(Math.fround(Math.fround(x[i]!) - Math.fround(norm.mean[c]!)) / Math.fround(norm.std[c]!));
  }
  return out;
}

/** A dataset from raw pixel bytes (NCHW), normalised once here; it keeps the bytes too. */
export function datasetFromPixels(
  pixels: Uint8Array, labels: Int32Array, shape: [number, number, number], norm: Normalization | null, numClasses?: number,
): Dataset {
  const [c, h, w] = shape;
  const n = labels.length;
  if (pixels.length !== n * c * h * w) throw new DataError(`${pixels.length} pixel bytes for ${n} images of ${c}×${h}×${w}`);
  let maxLabel = -1;
  for (let i = 0; i < n; i++) if (labels[i]! > maxLabel) maxLabel = labels[i]!;
  return {
    images: pixelsToFloat(pixels, c, h * w, norm),
    labels,
    n,
    shape: [c, h, w],
    padValue: Array.from({ length: c }, (_, ch) => normalizedValue(0, ch, norm)),
    numClasses: numClasses ?? Math.max(maxLabel + 1, 1),
    pixels,
    normalization: norm,
  };
}

/** The float32 value a raw pixel byte `v` becomes in channel `c`. */
export function normalizedValue(v: number, c: number, norm: Normalization | null): number {
  const x = Math.fround(v / 255);
  if (!norm) return x;
  return Math.fround(Math.fround(x - Math.fround(norm.mean[c]!)) / Math.fround(norm.std[c]!));
}

/** Throws unless `norm` has one finite mean and one positive finite std per channel. */
export function checkNormalization(channels: number, norm: Normalization | null): void {
  if (!norm) return;
  if (!Array.isArray(norm.mean) || !Array.isArray(norm.std) || norm.mean.length !== channels || norm.std.length !== channels) {
    throw new DataError(`normalisation needs ${channels} mean and std values, got ${norm.mean?.length} and ${norm.std?.length}`);
  }
  norm.mean.forEach((m) => {
    if (typeof m !== "number" || !Number.isFinite(m)) throw new DataError(`normalisation mean must be a finite number, got ${m}`);
  });
  norm.std.forEach((s) => {
    if (typeof s !== "number" || !Number.isFinite(s) || !(s > 0)) throw new DataError(`normalisation std must be a positive number, got ${s}`);
  });
}

function channelTables(channels: number, norm: Normalization | null): Float32Array[] {
  checkNormalization(channels, norm);
  const luts: Float32Array[] = [];
  for (let c = 0; c < channels; c++) {
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = normalizedValue(v, c, norm);
    luts.push(lut);
  }
  return luts;
}

/** Samples [start, start+count) as a new dataset sharing no memory with the original. */
export function subset(ds: Dataset, start: number, count: number): Dataset {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > ds.n) {
    throw new DataError(`subset [${start}, ${start + count}) is outside the dataset of ${ds.n} samples`);
  }
  const size = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const out: Dataset = {
    images: ds.images.slice(start * size, (start + count) * size),
    labels: ds.labels.slice(start, start + count),
    n: count,
    shape: [...ds.shape],
  };
  if (ds.padValue) out.padValue = [...ds.padValue];
  if (ds.numClasses !== undefined) out.numClasses = ds.numClasses;
  if (ds.pixels) out.pixels = ds.pixels.slice(start * size, (start + count) * size);
  if (ds.normalization !== undefined) out.normalization = ds.normalization;
  return out;
}

/** Throws unless the arrays agree with n and shape: a cheap guard for hand-built datasets. */
export function checkDataset(ds: Dataset, name = "dataset"): void {
  const [c, h, w] = ds.shape;
  if (![c, h, w, ds.n].every((v) => Number.isInteger(v) && v >= 0)) throw new DataError(`${name}: invalid n ${ds.n} or shape [${ds.shape}]`);
  if (ds.images.length !== ds.n * c * h * w) {
    throw new DataError(`${name}: images hold ${ds.images.length} values, expected ${ds.n}×${c}×${h}×${w}`);
  }
  if (ds.labels.length !== ds.n) throw new DataError(`${name}: ${ds.labels.length} labels for ${ds.n} images`);
  if (ds.padValue && ds.padValue.length !== c) throw new DataError(`${name}: padValue has ${ds.padValue.length} entries for ${c} channels`);
}

/** Throws unless `limit` (a sample count option) is absent or a non-negative integer. */
export function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new DataError(`limit must be a non-negative integer, got ${limit}`);
}
