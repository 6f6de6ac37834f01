// Test accuracy of a checkpoint on its own test data (or on data the user names, if compatible).
import { openSplitFor, type DataSource } from "../data/registry.js";
import { initRuntime } from "../kernels/runtime.js";
import type { ModelSpec } from "../models/zoo.js";
import { checkModelFitsData, loadModel } from "../train/load_model.js";
import { evaluate } from "../train/metrics.js";
import { fallbackDataset, type DataChoice } from "./model_data.js";

export interface EvaluateRequest extends DataChoice {
  batch?: number;
  threads?: number;
}

export interface EvaluateResult {
  spec: ModelSpec;
  dataset: DataSource;
  testAccuracy: number;
  correct: number;
  total: number;
  imagesPerSecond: number;
  /** Epochs the checkpoint was trained for, when it says. */
  epochs: number | null;
  /** An assumption made (a checkpoint that records no dataset). */
  note?: string;
}

export function evaluateCheckpoint(path: string, req: EvaluateRequest = {}): EvaluateResult {
  initRuntime({ threads: req.threads });
  const loaded = loadModel(path);
  const { ds, source, note } = openSplitFor(loaded.dataset, path, "test", { given: req.data, limit: req.limit, otherData: req.otherData, fallback: fallbackDataset(loaded.spec.inChannels) });
  checkModelFitsData(loaded.spec, ds, path, `${source.name} test data`);
  const r = evaluate(loaded.model, ds, req.batch ?? 256);
  const epochs = loaded.checkpoint.training?.epoch ?? null;
  return { spec: loaded.spec, dataset: source, testAccuracy: r.accuracy, correct: r.correct, total: r.total, imagesPerSecond: r.imagesPerSecond, epochs, ...(note ? { note } : {}) };
}
