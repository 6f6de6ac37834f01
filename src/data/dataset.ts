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

/** The float32 value a raw pixel byte `v` becomes in channel `c`. */
export function normalizedValue(v: number, c: number, norm: Normalization | null): number {
  const x = Math.fround(v / 255);
  if (!norm) return x;
  return Math.fround(Math.fround(x - Math.fround(norm.mean[c]!)) / Math.fround(norm.std[c]!));
}

function channelTables(channels: number, norm: Normalization | null): Float32Array[] {
  if (norm) {
    if (norm.mean.length !== channels || norm.std.length !== channels) {
      throw new DataError(`normalisation needs ${channels} mean and std values, got ${norm.mean.length} and ${norm.std.length}`);
    }
    norm.std.forEach((s) => {
      if (!(s > 0)) throw new DataError(`normalisation std must be positive, got ${s}`);
    });
  }
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
