// CIFAR-10 binary format: records of 1 label byte + 3072 pixel bytes (32×32 red plane, then green,
// then blue), concatenated; the training set is split over data_batch_1..5.bin.
import { checkLimit, datasetFromPixels, type Dataset, type Normalization } from "./dataset.js";
import { DataError } from "./errors.js";
import { readDataFile, writeDataFile } from "./files.js";
import { Rng } from "../tensor/random.js";

export const CIFAR_SIZE = 32;
export const CIFAR_PIXELS = 3 * CIFAR_SIZE * CIFAR_SIZE;
export const CIFAR_RECORD = 1 + CIFAR_PIXELS;
export const CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
export const CIFAR10_NORMALIZATION: Normalization = { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] };

export interface CifarOptions {
  /** true (default): CIFAR-10 mean/std; false: values in [0, 1]; or explicit per-channel mean/std. */
  normalize?: boolean | Normalization;
  /** Keep only the first `limit` samples (quick runs). */
  limit?: number;
}

export interface CifarRecords {
  n: number;
  /** n × 3 × 32 × 32 bytes. */
  pixels: Uint8Array;
  labels: Int32Array;
}

/** Split a CIFAR-10 binary file into pixels and labels, validating size and labels. */
export function parseCifar(bytes: Uint8Array, name = "CIFAR data"): CifarRecords {
  if (bytes.length === 0) throw new DataError(`${name}: empty file, expected CIFAR-10 records of ${CIFAR_RECORD} bytes`);
  if (bytes.length % CIFAR_RECORD !== 0) {
    const hint = bytes.length % (CIFAR_RECORD + 1) === 0 ? " (it looks like CIFAR-100, whose records have 2 label bytes)" : "";
    throw new DataError(
      `${name}: file size ${bytes.length} is not a multiple of the ${CIFAR_RECORD}-byte CIFAR-10 record ` +
        `(${Math.floor(bytes.length / CIFAR_RECORD)} whole records and ${bytes.length % CIFAR_RECORD} bytes left over)${hint}`,
    );
  }
  const n = bytes.length / CIFAR_RECORD;
  const pixels = new Uint8Array(n * CIFAR_PIXELS);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = i * CIFAR_RECORD;
    const label = bytes[r]!;
    if (label > 9) throw new DataError(`${name}: record ${i} has label ${label}, CIFAR-10 labels are 0–9`);
    labels[i] = label;
    pixels.set(bytes.subarray(r + 1, r + CIFAR_RECORD), i * CIFAR_PIXELS);
  }
  return { n, pixels, labels };
}

/** A dataset (n × 3 × 32 × 32) from one or more CIFAR-10 binary files, in the order given. */
export function cifarFromBytes(files: Array<{ bytes: Uint8Array; name: string }>, options: CifarOptions = {}): Dataset {
  if (files.length === 0) throw new DataError("no CIFAR-10 files given");
  checkLimit(options.limit);
  const parts = files.map((f) => parseCifar(f.bytes, f.name));
  const n = parts.reduce((a, p) => a + p.n, 0);
  const pixels = new Uint8Array(n * CIFAR_PIXELS);
  const labels = new Int32Array(n);
  let at = 0;
  for (const p of parts) {
    pixels.set(p.pixels, at * CIFAR_PIXELS);
    labels.set(p.labels, at);
    at += p.n;
  }
  const norm = options.normalize === false ? null : options.normalize === true || options.normalize === undefined ? CIFAR10_NORMALIZATION : options.normalize;
  const keep = options.limit !== undefined ? Math.min(n, options.limit) : n;
  return datasetFromPixels(pixels.slice(0, keep * CIFAR_PIXELS), labels.slice(0, keep), [3, CIFAR_SIZE, CIFAR_SIZE], norm, 10);
}

/** Load CIFAR-10 binary files (e.g. data_batch_1.bin … data_batch_5.bin); gzipped files are accepted. Node only. */
export function loadCifar(paths: string | string[], options: CifarOptions = {}): Dataset {
  const list = typeof paths === "string" ? [paths] : paths;
  return cifarFromBytes(list.map((p) => ({ bytes: readDataFile(p, "CIFAR-10 file"), name: p })), options);
}

/** Encode pixels (n × 3072 bytes, planar RGB) and labels as a CIFAR-10 binary file. */
export function encodeCifar(pixels: Uint8Array, labels: ArrayLike<number>): Uint8Array {
  const n = labels.length;
  if (pixels.length !== n * CIFAR_PIXELS) throw new DataError(`encodeCifar: ${pixels.length} pixel bytes for ${n} labels, expected ${n * CIFAR_PIXELS}`);
  const out = new Uint8Array(n * CIFAR_RECORD);
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l > 255) throw new DataError(`encodeCifar: label ${i} is ${l}, not a byte`);
    out[i * CIFAR_RECORD] = l;
    out.set(pixels.subarray(i * CIFAR_PIXELS, (i + 1) * CIFAR_PIXELS), i * CIFAR_RECORD + 1);
  }
  return out;
}

/**
 * A synthetic, learnable CIFAR-10-format file of n records: each class has its own tint and a
 * bright 8×8 square at its own position, plus noise. Deterministic for a given seed.
 */
export function syntheticCifar(n: number, seed = 0): Uint8Array {
  if (!Number.isInteger(n) || n < 1) throw new DataError(`synthetic CIFAR needs a positive number of records, got ${n}`);
  const rng = Rng.fromSeed(seed);
  const labels = new Uint8Array(n);
  const pixels = new Uint8Array(n * CIFAR_PIXELS);
  const plane = CIFAR_SIZE * CIFAR_SIZE;
  for (let i = 0; i < n; i++) {
    const l = rng.nextInt(10);
    labels[i] = l;
    const tint = [40 + 20 * l, 220 - 18 * l, 60 + ((l * 53) % 160)];
    const sy = 4 + 12 * (l >= 5 ? 1 : 0) + 2 * rng.nextInt(3);
    const sx = 2 + 5 * (l % 5) + rng.nextInt(3);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < CIFAR_SIZE; y++) {
        for (let x = 0; x < CIFAR_SIZE; x++) {
          const inSquare = y >= sy && y < sy + 8 && x >= sx && x < sx + 8;
          const v = (inSquare ? 250 : tint[c]!) + rng.nextInt(49) - 24;
          pixels[i * CIFAR_PIXELS + c * plane + y * CIFAR_SIZE + x] = Math.max(0, Math.min(255, v));
        }
      }
    }
  }
  return encodeCifar(pixels, labels);
}

/** Write a synthetic CIFAR-10-format file (see syntheticCifar) for tests and smoke runs. Node only. */
export function writeSyntheticCifar(path: string, n: number, seed = 0): void {
  writeDataFile(path, syntheticCifar(n, seed));
}
