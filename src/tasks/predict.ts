// Classify an image file or a .npy batch with a checkpoint (float) or a deployment bundle
// (integer), preparing the input as the model was trained: the recorded dataset's normalisation
// and class names.
//   - PNG / JPEG: composited over black, grey or RGB as the model takes, resized to its input
//     size (data/preprocess.ts), then normalised;
//   - .npy: a float32 array (N, C, H, W) or (C, H, W) taken as the model's input tensor exactly as
//     it is (already normalised, as a PyTorch user would pass it). A bundle quantizes [0, 1]
//     pixels, so its .npy input is mapped back to pixels with the bundle's mean and std first.
import { decodeSafetensorsHeader } from "../io/safetensors.js";
import { datasetInfo, type DataSource } from "../data/registry.js";
import { normalizeUnitFloats, type Normalization } from "../data/dataset.js";
import { borderMean, pictureToInput } from "../data/preprocess.js";
import { isBundleFormat } from "../deploy/run/format.js";
import { load } from "../deploy/run/runner.js";
import { IoError } from "../io/errors.js";
import { readFileChecked } from "../io/files.js";
import { decodeImage } from "../io/image.js";
import { parseNpy } from "../io/npy.js";
import { initRuntime } from "../kernels/runtime.js";
import { CHECKPOINT_FORMAT } from "../train/checkpoint.js";
import { loadModel } from "../train/load_model.js";
import { predictLogits } from "../train/metrics.js";
import { fallbackDataset } from "./model_data.js";
import { bundleDataSource } from "./run_bundle.js";

export interface PredictRequest {
  /** A PNG, JPEG or .npy file. */
  input: string;
  /** Invert an image's grey levels (dark ink on light paper for a light-on-dark dataset). */
  invert?: boolean;
  /** Classes listed per image (default 5). */
  top?: number;
  threads?: number;
}

export interface ClassScore {
  class: number;
  name: string;
  probability: number;
}

export interface PredictResult {
  kind: "checkpoint" | "bundle";
  model: string | null;
  op: string | null;
  dataset: string;
  /** One entry per input image. */
  images: Array<{ top: ClassScore[]; logits: number[] }>;
  notes: string[];
}

/** An input batch as [0, 1] pixels, or as an already normalised tensor. */
interface Batch {
  n: number;
  values: Float32Array;
  normalized: boolean;
}

function readInput(path: string, shape: readonly [number, number, number], invert: boolean, notes: string[], darkBackground: boolean): Batch {
  const bytes = readFileChecked(path, "input");
  const size = shape[0] * shape[1] * shape[2];
  if (path.endsWith(".npy") || bytes[0] === 0x93) {
    const arr = parseNpy(bytes, path);
    const dims = arr.shape.length === 3 ? [1, ...arr.shape] : arr.shape;
    if (dims.length !== 4 || dims.slice(1).join("×") !== shape.join("×") || dims[0]! < 1) {
      throw new IoError(`${path}: holds an array of shape (${arr.shape.join(", ")}); the model takes (N, ${shape.join(", ")})`);
    }
    for (let i = 0; i < arr.data.length; i++) if (!Number.isFinite(arr.data[i])) throw new IoError(`${path}: value ${i} is ${arr.data[i]}`);
    return { n: dims[0]!, values: arr.data, normalized: true };
  }
  const x = pictureToInput(decodeImage(bytes, path), shape, { invert });
  if (darkBackground && !invert && borderMean(x, shape) > 0.5) notes.push(`${path} has a light background; the model was trained on light-on-dark images: add --invert if it shows dark ink on light paper`);
  if (x.length !== size) throw new Error("pictureToInput returned a wrong size");
  return { n: 1, values: x, normalized: false };
}

function softmaxTop(logits: Float32Array, n: number, classes: number, names: string[], top: number): PredictResult["images"] {
  const out: PredictResult["images"] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
    const max = Math.max(...row);
    const exps = row.map((v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    const scores = exps.map((e, c) => ({ class: c, name: names[c] ?? String(c), probability: e / sum }));
    scores.sort((a, b) => b.probability - a.probability || a.class - b.class);
    out.push({ top: scores.slice(0, top), logits: row });
  }
  return out;
}

function classNames(source: DataSource | null, fallback: string, classes: number): string[] {
  const names = source?.classNames ?? datasetInfo(fallback).classNames;
  return names.length === classes ? names : Array.from({ length: classes }, (_, c) => String(c));
}

const LIGHT_ON_DARK = ["mnist", "fashion-mnist"];

export function predictFile(modelPath: string, req: PredictRequest): PredictResult {
  const top = req.top ?? 5;
  const bytes = readFileChecked(modelPath, "model file");
  const format = decodeSafetensorsHeader(bytes, modelPath).metadata.format;
  const notes: string[] = [];
  if (isBundleFormat(format)) {
    const model = load(bytes, { threads: req.threads ?? 1, name: modelPath });
    try {
      const [C] = model.inputShape;
      const source = bundleDataSource(model, modelPath);
      const dataset = source?.name ?? fallbackDataset(C);
      const batch = readInput(req.input, model.inputShape, req.invert === true, notes, LIGHT_ON_DARK.includes(dataset));
      const pixels = batch.normalized ? denormalize(batch.values, model.inputShape, model.bundle.input) : batch.values;
      const { logits } = model.predict(pixels, batch.n);
      const s = model.bundle.source;
      return {
        kind: "bundle", model: typeof s.model === "string" ? s.model : null, op: typeof s.op === "string" ? s.op : null, dataset,
        images: softmaxTop(logits, batch.n, model.classes, classNames(source, dataset, model.classes), top), notes,
      };
    } finally {
      model.dispose();
    }
  }
  if (format !== CHECKPOINT_FORMAT) throw new IoError(`${modelPath}: neither a mulfree checkpoint nor a deployment bundle`);
  initRuntime({ threads: req.threads });
  const loaded = loadModel(modelPath);
  const { spec } = loaded;
  const shape = [spec.inChannels, spec.inputSize, spec.inputSize] as [number, number, number];
  const dataset = loaded.dataset?.name ?? fallbackDataset(spec.inChannels);
  if (!loaded.dataset) notes.push(`${modelPath} records no dataset; assuming ${dataset}`);
  const batch = readInput(req.input, shape, req.invert === true, notes, LIGHT_ON_DARK.includes(dataset));
  const norm: Normalization = loaded.dataset?.normalization ?? datasetInfo(dataset).normalization;
  const x = batch.normalized ? batch.values : normalizeUnitFloats(batch.values, shape[0], shape[1] * shape[2], norm);
  const { logits, classes } = predictLogits(loaded.model, x, batch.n, shape);
  return { kind: "checkpoint", model: spec.model, op: spec.op, dataset, images: softmaxTop(logits, batch.n, classes, classNames(loaded.dataset, dataset, classes), top), notes };
}

/** A normalised tensor back to [0, 1] pixels: x·std + mean per channel. */
function denormalize(x: Float32Array, shape: readonly [number, number, number], norm: Normalization): Float32Array {
  const [C, H, W] = shape;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / (H * W)) % C;
    out[i] = x[i]! * norm.std[c]! + norm.mean[c]!;
  }
  return out;
}
