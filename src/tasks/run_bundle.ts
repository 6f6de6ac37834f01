// Test accuracy and speed of an integer deployment bundle, through the same load()/predict() API
// that browsers use, on the test data the bundle records (or compatible data the user names).
import { openSplitFor, parseTestDataRecord, type DataSource } from "../data/registry.js";
import { load, type BackendName, type Model } from "../deploy/run/runner.js";
import { readFileChecked } from "../io/files.js";
import { checkModelFitsData } from "../train/load_model.js";
import { fallbackDataset, type DataChoice } from "./model_data.js";

export interface RunBundleRequest extends DataChoice {
  batch?: number;
  threads?: number;
  backend?: BackendName;
}

export interface RunBundleResult {
  model: string | null;
  op: string | null;
  dataset: DataSource;
  backend: BackendName;
  threads: number;
  batch: number;
  testAccuracy: number;
  correct: number;
  total: number;
  imagesPerSecond: number;
  source: Record<string, unknown>;
  note?: string;
}

/** The bundle's recorded test data (null for bundles that predate the record). */
export function bundleDataSource(model: Model, where: string): DataSource | null {
  const data = model.bundle.source.data;
  return data === undefined ? null : parseTestDataRecord(data, where);
}

export function runBundle(path: string, req: RunBundleRequest = {}): RunBundleResult {
  const backend = req.backend ?? "wasm";
  const threads = backend === "wasm" ? req.threads ?? 1 : 1;
  const model = load(readFileChecked(path, "bundle"), { threads, backend, name: path });
  try {
    const [C, H] = model.inputShape;
    const { ds, source, note } = openSplitFor(bundleDataSource(model, path), path, "test", { given: req.data, limit: req.limit, otherData: req.otherData, fallback: fallbackDataset(C) });
    checkModelFitsData({ model: "", op: "", inChannels: C, inputSize: H, numClasses: model.classes }, ds, path, `${source.name} test data`);
    const pixels = ds.pixels!;
    const size = pixels.length / ds.n;
    const batch = Math.min(req.batch ?? 256, ds.n);
    // one untimed call: buffers for this batch size are allocated and workers started
    model.predict(pixels.subarray(0, batch * size), batch);
    let correct = 0;
    const start = performance.now();
    for (let at = 0; at < ds.n; at += batch) {
      const n = Math.min(batch, ds.n - at);
      const { classes } = model.predict(pixels.subarray(at * size, (at + n) * size), n);
      for (let i = 0; i < n; i++) if (classes[i] === ds.labels[at + i]) correct++;
    }
    const seconds = (performance.now() - start) / 1000;
    const s = model.bundle.source;
    return {
      model: typeof s.model === "string" ? s.model : null, op: typeof s.op === "string" ? s.op : null,
      dataset: source, backend, threads, batch, testAccuracy: correct / ds.n, correct, total: ds.n, imagesPerSecond: ds.n / seconds, source: s,
      ...(note ? { note } : {}),
    };
  } finally {
    model.dispose();
  }
}
