// A checkpoint to an integer deployment bundle: calibrate on the model's own training data,
// quantize and check the bundle with the one reader (the library's exportBundle), write it
// atomically. The bundle records the model's test data, so `run` and `predict` use it without
// data flags.
import { openSplitFor, testDataRecord, type DataSource } from "../data/registry.js";
import { ExportError } from "../deploy/export/errors.js";
import { exportBundle } from "../deploy/export/export_bundle.js";
import type { ExportedLayer } from "../deploy/export/export_model.js";
import { load } from "../deploy/run/runner.js";
import { writeFileAtomic } from "../io/files.js";
import { initRuntime } from "../kernels/runtime.js";
import type { ModelSpec } from "../models/zoo.js";
import type { Module } from "../nn/module.js";
import { ShiftLayer } from "../nn/shift.js";
import { checkModelFitsData, loadModel } from "../train/load_model.js";
import { evaluate } from "../train/metrics.js";
import { fallbackDataset, type DataChoice } from "./model_data.js";

export interface ExportRequest extends Omit<DataChoice, "limit"> {
  /** The bundle to write (.mulfree.safetensors). */
  out: string;
  /** Training images that calibrate the activation ranges (default 512). */
  calibrationImages?: number;
  /** Clip activation ranges at this percentile instead of min/max. */
  percentile?: number;
  /** Also run the integer graph (reference kernels) on the first N test images and compare with the float model. */
  verify?: number;
  threads?: number;
}

export interface ExportSummary {
  spec: ModelSpec;
  out: string;
  dataset: DataSource;
  bundleBytes: number;
  fp32Bytes: number;
  weightBytes: number;
  calibrationImages: number;
  layers: ExportedLayer[];
  warnings: string[];
  verify?: { images: number; floatAccuracy: number; intAccuracy: number };
  note?: string;
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
  const calib = openSplitFor(loaded.dataset, path, "train", { ...choice, limit: req.calibrationImages ?? 512 });
  checkModelFitsData(spec, calib.ds, path, `${calib.source.name} training data`);
  const norm = calib.source.normalization;
  const range = req.percentile === undefined ? { kind: "minmax" as const } : { kind: "percentile" as const, percentile: req.percentile };
  // the run's test data (what `run` and `predict` use); the recorded one when the model has it
  const testSource = loaded.dataset ?? calib.source;
  const source = { model: spec.model, op: spec.op, calibration: calib.ds.n, data: testDataRecord(testSource) };
  let exported;
  try {
    exported = exportBundle(model, calib.ds.images, calib.ds.n, calib.ds.shape, { mean: norm.mean, std: norm.std, range }, source, req.out);
  } catch (e) {
    if (e instanceof ExportError) throw new ExportError(`${path}: cannot export ${spec.model} (${spec.op}): ${e.message}`);
    throw e;
  }
  const { bytes, result } = exported;
  writeFileAtomic(req.out, bytes);
  const summary: ExportSummary = {
    spec, out: req.out, dataset: calib.source, bundleBytes: bytes.length, fp32Bytes: fp32Bytes(model),
    weightBytes: result.layers.reduce((s, l) => s + l.weightBytes, 0),
    calibrationImages: result.calibrationImages, layers: result.layers, warnings: result.warnings,
    ...(calib.note ? { note: calib.note } : {}),
  };
  if (req.verify !== undefined) {
    const test = openSplitFor(loaded.dataset, path, "test", { ...choice, limit: req.verify });
    checkModelFitsData(spec, test.ds, path, `${test.source.name} test data`);
    summary.verify = { images: test.ds.n, floatAccuracy: evaluate(model, test.ds, 500).accuracy, intAccuracy: integerAccuracy(bytes, req.out, test.ds.pixels!, test.ds.labels) };
  }
  return summary;
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
