// The LeNet-5-BN models `mulfree bench` times: for each kind (conv, adder, shift) an integer
// bundle, and for conv also the float model whose weights the peers run. By default they are
// random-weight zoo models, exported in memory; --models gives trained checkpoints or bundles
// instead. Speed does not depend on the weight values, and the output says what was used.
import { readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { readBundle } from "../../deploy/run/decode.js";
import { exportBundle } from "../../deploy/export/export_bundle.js";
import { isBundleFormat } from "../../deploy/run/format.js";
import { readFileChecked } from "../../io/files.js";
import { decodeSafetensorsHeader, type TensorEntry } from "../../io/safetensors.js";
import type { Module } from "../../nn/module.js";
import { createModel, resolveSpec, type ModelSpec } from "../../models/zoo.js";
import { noGrad } from "../../tensor/autograd.js";
import { manualSeed } from "../../tensor/random.js";
import { scope } from "../../tensor/storage.js";
import { Tensor } from "../../tensor/tensor.js";
import { CHECKPOINT_FORMAT } from "../../train/checkpoint.js";
import { loadModelBytes } from "../../train/load_model.js";
import { CliError } from "../errors.js";
import { IMAGE, IMAGE_SIZE, type BenchData } from "./data.js";

export const KINDS = ["conv", "adder", "shift"] as const;
export type Kind = (typeof KINDS)[number];

/** The zoo op of each kind's random model: DeepShift-PS with 5-bit weights (the default width). */
const RANDOM_OP: Record<Kind, { op: string; opOptions?: Record<string, unknown> }> = {
  conv: { op: "conv" },
  adder: { op: "adder" },
  shift: { op: "shift-ps", opOptions: { weightBits: 5 } },
};

export interface BenchModel {
  kind: Kind;
  /** Where it came from, for the output. */
  source: string;
  bundle: Uint8Array;
  /** The float model in eval mode (absent for a bundle given without its checkpoint). */
  float: Module | null;
}

/** Train-mode passes that replace a random model's BatchNorm statistics with real ones, so every activation range is calibrated on live values. */
function estimateBatchNorm(model: Module, data: BenchData): void {
  const { normalized, n } = data.calibration;
  const batch = Math.min(n, 128);
  const x = Tensor.empty([batch, ...IMAGE], true);
  model.train();
  // momentum 0.1: 40 updates leave 0.9^40 ≈ 1.5 % of the initial statistics
  noGrad(() => {
    for (let step = 0, at = 0; step < 40; step++, at = (at + batch) % Math.max(1, n - batch + 1)) {
      x.data.set(normalized.subarray(at * IMAGE_SIZE, (at + batch) * IMAGE_SIZE));
      scope(() => model.forward(x));
    }
  });
  x.dispose();
  model.eval();
}

function exportInMemory(model: Module, spec: ModelSpec, data: BenchData, what: string): Uint8Array {
  const { normalized, n } = data.calibration;
  try {
    const source = { spec, checkpoint: what, calibration: { dataset: "mnist", images: n, range: "minmax" } };
    return exportBundle(model, normalized, n, IMAGE, { mean: data.norm.mean, std: data.norm.std }, source, what).bytes;
  } catch (e) {
    throw new CliError(`${what}: cannot export ${spec.model} (${spec.op}): ${(e as Error).message}`);
  }
}

export function randomModel(kind: Kind, data: BenchData, seed: number): BenchModel {
  manualSeed(seed);
  const spec = resolveSpec({ model: "lenet5", ...RANDOM_OP[kind] });
  const model = createModel(spec);
  estimateBatchNorm(model, data);
  const what = `random LeNet-5 ${spec.op}${kind === "shift" ? " 5-bit" : ""} (seed ${seed}, BatchNorm statistics from ${data.calibration.n} images)`;
  return { kind, source: what, bundle: exportInMemory(model, spec, data, what), float: model };
}

function kindOfOp(op: string, path: string): Kind {
  if (op === "conv" || op === "adder") return op;
  if (op.startsWith("shift")) return "shift";
  throw new CliError(`${path}: op '${op}' is not one bench times (conv, adder, shift-q, shift-ps)`);
}

/** A trained checkpoint (exported in memory) or a deployment bundle, as one of the bench's models. */
export function modelFromFile(path: string, data: BenchData): BenchModel {
  const bytes = readFileChecked(path, "model");
  const format = decodeSafetensorsHeader(bytes, path).metadata.format;
  if (isBundleFormat(format)) {
    const b = readBundle(bytes, path);
    const kinds = new Set(b.layers.map((l) => l.node.kind));
    const shape = b.input.shape.join("×");
    if (shape !== IMAGE.join("×") || b.graph.classes !== 10) throw new CliError(`${path}: takes ${shape} images into ${b.graph.classes} classes; bench runs MNIST (1×28×28, 10 classes)`);
    const kind: Kind = kinds.has("adder") ? "adder" : kinds.has("shift") ? "shift" : "conv";
    return { kind, source: `bundle ${path}`, bundle: bytes, float: null };
  }
  if (format !== CHECKPOINT_FORMAT) throw new CliError(`${path}: neither a mulfree checkpoint nor a deployment bundle (metadata format ${JSON.stringify(format ?? null)})`);
  const { spec, model } = loadModelBytes(bytes, path);
  if (spec.model !== "lenet5") throw new CliError(`${path}: a ${spec.model} checkpoint; bench times LeNet-5 (train one with mulfree train --model lenet5)`);
  const kind = kindOfOp(spec.op, path);
  return { kind, source: `checkpoint ${path}`, bundle: exportInMemory(model, spec, data, basename(path)), float: model };
}

/** The .safetensors files directly in `dir`; of a training run's model.safetensors and checkpoint.safetensors (same weights), only the first. */
function safetensorsIn(dir: string): string[] {
  const names = readdirSync(dir).filter((n) => n.endsWith(".safetensors") && statSync(join(dir, n)).isFile()).sort();
  const run = names.includes("model.safetensors");
  return names.filter((n) => !(run && n === "checkpoint.safetensors")).map((n) => join(dir, n));
}

/** The files a --models entry names: the file, or the .safetensors files in the directory and its direct subdirectories (runs/NAME/). */
export function modelFiles(entry: string): string[] {
  const st = statSync(entry, { throwIfNoEntry: false });
  if (!st) throw new CliError(`--models: ${entry} not found`);
  if (st.isFile()) return [entry];
  const subdirs = readdirSync(entry).sort().map((n) => join(entry, n)).filter((p) => statSync(p).isDirectory());
  const found = [...safetensorsIn(entry), ...subdirs.flatMap(safetensorsIn)];
  if (!found.length) throw new CliError(`--models: no .safetensors files in ${entry}`);
  return found;
}

/**
 * One model per kind needed: the files given (a checkpoint beats a bundle of the same kind, since
 * it also gives the float model), random ones for the rest.
 */
export function benchModels(files: string[], kinds: readonly Kind[], data: BenchData, seed: number, log: (s: string) => void): Partial<Record<Kind, BenchModel>> {
  const given = new Map<Kind, BenchModel>();
  for (const file of files) {
    const m = modelFromFile(file, data);
    const prev = given.get(m.kind);
    if (prev && (prev.float || !m.float)) throw new CliError(`--models: two ${m.kind} models given (${prev.source}, ${m.source}); give one per kind`);
    given.set(m.kind, m);
  }
  const out: Partial<Record<Kind, BenchModel>> = {};
  for (const kind of KINDS.filter((k) => kinds.includes(k))) {
    const m = given.get(kind) ?? randomModel(kind, data, seed);
    log(`${kind}: ${m.source}`);
    out[kind] = m;
  }
  return out;
}

/** The float conv model's state dict as safetensors tensors (F32), for the peers' ONNX and tfjs models. */
export function floatTensors(model: Module): Record<string, TensorEntry> {
  const out: Record<string, TensorEntry> = {};
  for (const [name, t] of model.stateDict()) out[name] = { dtype: "F32", shape: [...t.shape], data: Float32Array.from(t.data) };
  return out;
}
