// A checkpoint to an integer deployment bundle: calibrate on the model's own training data,
// quantize and check the bundle with the one reader (the library's exportBundle), write it
// atomically. The bundle records the model's test data, so `run` and `predict` use it without
// data flags.
import { datasetInfo, openSplitFor, testDataRecord, type DataRequest, type DataSource } from "../data/registry.js";
import type { RangeMethod } from "../deploy/export/calibrate.js";
import { ExportError } from "../deploy/export/errors.js";
import { exportBundle } from "../deploy/export/export_bundle.js";
import type { ExportedLayer } from "../deploy/export/export_model.js";
import { load } from "../deploy/run/runner.js";
import { IoError } from "../io/errors.js";
import { readFileChecked, writeFileAtomic } from "../io/files.js";
import { parseNpy } from "../io/npy.js";
import { initRuntime } from "../kernels/runtime.js";
import type { ModelSpec } from "../models/zoo.js";
import type { Module } from "../nn/module.js";
import { ShiftLayer } from "../nn/shift.js";
import { checkModelFitsData, loadModel, type LoadedModel } from "../train/load_model.js";
import { evaluate } from "../train/metrics.js";
import { fallbackDataset, type DataChoice } from "./model_data.js";

export interface ExportRequest extends Omit<DataChoice, "limit"> {
  /** The bundle to write (.mulfree.safetensors). */
  out: string;
  /** Training images that calibrate the activation ranges (default 512). */
  calibrationImages?: number;
  /**
   * Calibrate on this .npy batch instead (float32 (N, C, H, W), normalised as the model's input,
   * as `predict` takes it): for models that record no data, such as imports.
   */
  calibration?: string;
  /** Clip activation ranges at this percentile instead of min/max. */
  percentile?: number;
  /** Bits of the activations and multiply weights inside the network (4–8, default 8; the input stays 8-bit). */
  bits?: number;
  /** Also run the integer graph (reference kernels) on the first N test images and compare with the float model. */
  verify?: number;
  threads?: number;
}

export interface ExportSummary {
  spec: ModelSpec;
  out: string;
  /** The dataset whose normalisation the bundle applies (and whose images calibrated it, unless a .npy did). */
  dataset: string;
  /** What calibrated the ranges: "<n> <dataset> training images" or the .npy file. */
  calibratedOn: string;
  bundleBytes: number;
  fp32Bytes: number;
  weightBytes: number;
  calibrationImages: number;
  layers: ExportedLayer[];
  warnings: string[];
  verify?: { images: number; floatAccuracy: number; intAccuracy: number };
  note?: string;
  /** The model was trained with --qat at `bits`; its learned ranges were used when the widths match. */
  qat?: { bits: number; rangesUsed: boolean };
}

/** 4 bytes per float the model holds (weights, biases, BN affine and running statistics); a PS shift weight (shift and sign) counts once. */
export function fp32Bytes(model: Module): number {
  let floats = 0;
  for (const [, t] of model.stateDict()) floats += t.size;
  for (const [, m] of model.namedModules()) if (m instanceof ShiftLayer && m.sign) floats -= m.sign.size;
  return 4 * floats;
}

export function exportCheckpoint(path: string, req: ExportRequest): ExportSummary {
  initRuntime({ threads: req.threads });
  const loaded = loadModel(path);
  const { spec, model } = loaded;
  const choice = { given: req.data, otherData: req.otherData, fallback: fallbackDataset(spec.inChannels) };
  const calib = req.calibration !== undefined ? npyCalibration(req.calibration, spec, loaded.dataset, choice.fallback) : datasetCalibration(path, loaded, choice, req.calibrationImages ?? 512);
  const norm = datasetInfo(calib.dataset).normalization;
  const range: RangeMethod = req.percentile === undefined ? { kind: "minmax" } : { kind: "percentile", percentile: req.percentile };
  // the run's test data (what `run` and `predict` use): the recorded one when the model has it
  const testSource = loaded.dataset ?? calib.source;
  const bits = req.bits ?? 8;
  const source = { model: spec.model, op: spec.op, calibration: calib.n, ...(bits !== 8 ? { bits } : {}), ...(testSource ? { data: testDataRecord(testSource) } : {}) };
  const shape: [number, number, number] = [spec.inChannels, spec.inputSize, spec.inputSize];
  // a model fine-tuned with --qat at this width exports on the grids it learned
  const qat = loaded.checkpoint.qat;
  const learnedRanges = qat && qat.bits === bits ? qat.ranges : undefined;
  let exported;
  try {
    exported = exportBundle(model, calib.images, calib.n, shape, { mean: norm.mean, std: norm.std, range, bits, learnedRanges }, source, req.out);
  } catch (e) {
    if (e instanceof ExportError) throw new ExportError(`${path}: cannot export ${spec.model} (${spec.op}): ${e.message}`);
    throw e;
  }
  const { bytes, result } = exported;
  writeFileAtomic(req.out, bytes);
  const summary: ExportSummary = {
    spec, out: req.out, dataset: calib.dataset, calibratedOn: calib.what, bundleBytes: bytes.length, fp32Bytes: fp32Bytes(model),
    weightBytes: result.layers.reduce((s, l) => s + l.weightBytes, 0),
    calibrationImages: result.calibrationImages, layers: result.layers, warnings: result.warnings,
    ...(calib.note ? { note: calib.note } : {}),
    ...(qat ? { qat: { bits: qat.bits, rangesUsed: learnedRanges !== undefined } } : {}),
  };
  if (req.verify !== undefined) {
    const test = openSplitFor(loaded.dataset, path, "test", { ...choice, limit: req.verify });
    checkModelFitsData(spec, test.ds, path, `${test.source.name} test data`);
    summary.verify = { images: test.ds.n, floatAccuracy: evaluate(model, test.ds, 500).accuracy, intAccuracy: integerAccuracy(bytes, req.out, test.ds.pixels!, test.ds.labels) };
  }
  return summary;
}

interface Calibration {
  images: Float32Array;
  n: number;
  /** The dataset whose normalisation applies. */
  dataset: string;
  /** The data record, when the images come from a named dataset. */
  source: DataSource | null;
  what: string;
  note?: string;
}

/** The first `limit` training images of the model's data (or of the data the user names). */
function datasetCalibration(path: string, loaded: LoadedModel, choice: { given?: Partial<DataRequest>; otherData?: boolean; fallback: string }, limit: number): Calibration {
  const c = openSplitFor(loaded.dataset, path, "train", { ...choice, limit });
  checkModelFitsData(loaded.spec, c.ds, path, `${c.source.name} training data`);
  return { images: c.ds.images, n: c.ds.n, dataset: c.source.name, source: c.source, what: `${c.ds.n} ${c.source.name} training images`, ...(c.note ? { note: c.note } : {}) };
}

/** A .npy batch of normalised images, checked against the model's input. */
function npyCalibration(file: string, spec: ModelSpec, recorded: DataSource | null, fallback: string): Calibration {
  const arr = parseNpy(readFileChecked(file, "calibration images"), file);
  const want = [spec.inChannels, spec.inputSize, spec.inputSize];
  if (arr.shape.length !== 4 || arr.shape.slice(1).join("×") !== want.join("×") || arr.shape[0]! < 1) {
    throw new IoError(`${file}: holds an array of shape (${arr.shape.join(", ")}); calibration needs (N, ${want.join(", ")})`);
  }
  for (let i = 0; i < arr.data.length; i++) if (!Number.isFinite(arr.data[i])) throw new IoError(`${file}: value ${i} is ${arr.data[i]}`);
  const dataset = recorded?.name ?? fallback;
  return { images: arr.data, n: arr.shape[0]!, dataset, source: null, what: `${arr.shape[0]} images of ${file}` };
}

/** Accuracy of a bundle on raw pixel bytes, through the reference kernels (the bit-exact oracle). */
function integerAccuracy(bundle: Uint8Array, name: string, pixels: Uint8Array, labels: Int32Array): number {
  const model = load(bundle, { backend: "reference", name });
  try {
    const size = model.inputShape[0] * model.inputShape[1] * model.inputShape[2];
    let correct = 0;
    for (let at = 0; at < labels.length; at += 100) {
      const n = Math.min(100, labels.length - at);
      const { classes } = model.predict(pixels.subarray(at * size, (at + n) * size), n);
      for (let i = 0; i < n; i++) if (classes[i] === labels[at + i]) correct++;
    }
    return correct / labels.length;
  } finally {
    model.dispose();
  }
}
