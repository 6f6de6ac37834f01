// Checkpoints: one safetensors file holding the model's state dict (PyTorch dotted keys), the
// optimizer's tensors under `optimizer.state.<i>.<key>`, and everything else (model spec, epoch,
// RNG, loader, scheduler, metrics) as JSON in `__metadata__`. One file, so one atomic rename
// commits a whole epoch. A weights-only `model.safetensors` beside it is for sharing and eval.
// Model tensors are what inference uses: a module's savedTensors() (shift layers' rounded
// weights) replace its live values, and a training checkpoint keeps those live (latent) values
// under `latent.<key>` so that resuming and fine-tuning continue from them exactly.
import { decodeSafetensors, encodeSafetensors, type TensorEntry } from "../io/safetensors.js";
import { readFileChecked, writeFileAtomic } from "../io/files.js";
import type { Module } from "../nn/module.js";
import { parseSpec, type ModelSpec } from "../models/zoo.js";
import { parseDataSource, type DataSource } from "../data/registry.js";
import { parseJsonPart } from "../io/json.js";
import type { QatRanges } from "./qat.js";

export const CHECKPOINT_FORMAT = "mulfree-checkpoint/1";

export interface TrainingState {
  epoch: number;
  step: number;
  config: Record<string, unknown>;
  optimizer: { groups: unknown; scalars: Array<Record<string, number>> } | null;
  scheduler: unknown;
  loader: unknown;
  history: unknown[];
  /** The run's resolved options (what `train --resume` continues with). */
  options?: Record<string, unknown>;
}

/**
 * What quantization-aware training learned (train/qat.ts): its width and the input range of each
 * weight layer, by layer name. Stored in every file a QAT run writes, so that resume continues
 * with the ranges and `export --bits` at the same width quantizes on the grids the weights learned.
 */
export interface QatRecord {
  bits: number;
  ranges: QatRanges;
}

export const LATENT_PREFIX = "latent.";

export interface Checkpoint {
  spec: ModelSpec;
  weights: Map<string, { shape: number[]; data: Float32Array }>;
  /** Live training values of tensors whose stored weights are rounded (key without the prefix). */
  latent?: Map<string, { shape: number[]; data: Float32Array }>;
  optimizerTensors: Map<number, Record<string, Float32Array>>;
  training: TrainingState | null;
  /** The data the model was trained and tested on (absent in checkpoints of mulfree before 0.2 and in imports). */
  dataset?: DataSource;
  /** Present when the model was trained with --qat. */
  qat?: QatRecord;
}

export class CheckpointError extends Error {}

/** The state dict as stored: saved values replace live ones; `latent` receives the replaced live values. */
export function modelTensors(model: Module, latent?: Record<string, TensorEntry>): Record<string, TensorEntry> {
  const out: Record<string, TensorEntry> = {};
  for (const [k, t] of model.stateDict()) out[k] = { dtype: "F32", shape: [...t.shape], data: t.data };
  for (const [name, m] of model.namedModules()) {
    for (const [key, data] of m.savedTensors() ?? []) {
      const full = name ? `${name}.${key}` : key;
      const live = out[full];
      if (!live || live.data.length !== data.length) throw new Error(`savedTensors of '${name}' does not match its state dict entry '${key}'`);
      if (sameValues(live.data as Float32Array, data)) continue;
      if (latent) latent[LATENT_PREFIX + full] = live;
      out[full] = { ...live, data };
    }
  }
  return out;
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** `latent`: also store the live values of rounded tensors (default: for training checkpoints). */
export function encodeCheckpoint(
  spec: ModelSpec,
  model: Module,
  training: TrainingState | null,
  optimizerTensors?: Array<Record<string, Float32Array | number>>,
  options: { latent?: boolean; dataset?: DataSource; qat?: QatRecord } = {},
): Uint8Array {
  const latent: Record<string, TensorEntry> = {};
  const tensors = { ...modelTensors(model, latent), ...((options.latent ?? training !== null) ? latent : {}) };
  const scalars: Array<Record<string, number>> = [];
  optimizerTensors?.forEach((state, i) => {
    const s: Record<string, number> = {};
    for (const [key, v] of Object.entries(state)) {
      if (typeof v === "number") s[key] = v;
      else tensors[`optimizer.state.${i}.${key}`] = { dtype: "F32", shape: [v.length], data: v };
    }
    scalars.push(s);
  });
  const meta: Record<string, string> = { format: CHECKPOINT_FORMAT, spec: JSON.stringify(spec) };
  if (training) meta.training = JSON.stringify({ ...training, optimizer: training.optimizer ? { ...training.optimizer, scalars } : null });
  if (options.dataset) meta.dataset = JSON.stringify(options.dataset);
  if (options.qat) meta.qat = JSON.stringify(options.qat);
  return encodeSafetensors(tensors, meta);
}

export function decodeCheckpoint(bytes: Uint8Array, path: string): Checkpoint {
  const file = decodeSafetensors(bytes, path);
  const meta = file.metadata ?? {};
  const fail = (problem: string) => new CheckpointError(`${path}: ${problem}`);
  if (meta.format !== CHECKPOINT_FORMAT || meta.spec === undefined) {
    throw fail(`not a mulfree checkpoint (no '${CHECKPOINT_FORMAT}' metadata)`);
  }
  let spec: ModelSpec;
  const rawSpec = parseMetadata(meta.spec, path, "spec");
  try {
    spec = parseSpec(rawSpec);
  } catch (e) {
    throw fail((e as Error).message);
  }
  const training = meta.training === undefined ? null : parseTrainingState(parseMetadata(meta.training, path, "training"), fail);
  let dataset: DataSource | undefined;
  if (meta.dataset !== undefined) {
    const raw = parseMetadata(meta.dataset, path, "dataset");
    try {
      dataset = parseDataSource(raw, path);
    } catch (e) {
      throw new CheckpointError((e as Error).message);
    }
  }
  const qat = meta.qat === undefined ? undefined : parseQat(parseMetadata(meta.qat, path, "qat"), fail);
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  const optimizerTensors = new Map<number, Record<string, Float32Array>>();
  const latent = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of Object.entries(file.tensors)) {
    if (!(t.data instanceof Float32Array)) throw fail(`tensor ${name} is ${t.dtype}, expected F32`);
    checkFinite(t.data, name, fail);
    const m = /^optimizer\.state\.(\d{1,6})\.(.+)$/.exec(name);
    if (m) {
      const i = Number(m[1]);
      const entry = optimizerTensors.get(i) ?? {};
      entry[m[2]!] = t.data;
      optimizerTensors.set(i, entry);
    } else if (name.startsWith(LATENT_PREFIX)) latent.set(name.slice(LATENT_PREFIX.length), { shape: [...t.shape], data: t.data });
    else {
      if (name.endsWith(".running_var")) checkVariance(t.data, name, fail);
      weights.set(name, { shape: [...t.shape], data: t.data });
    }
  }
  return { spec, weights, optimizerTensors, training, latent, ...(dataset ? { dataset } : {}), ...(qat ? { qat } : {}) };
}

/** Metadata values are JSON strings (read strictly: no duplicate keys, bounded depth); a broken one names its field. */
function parseMetadata(text: string, path: string, field: string): unknown {
  try {
    return parseJsonPart(text, path, `metadata '${field}'`);
  } catch (e) {
    throw new CheckpointError((e as Error).message);
  }
}

function checkFinite(data: Float32Array, name: string, fail: (p: string) => CheckpointError): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw fail(`tensor ${name} holds ${data[i]} at index ${i}: the weights are not finite (a diverged run?)`);
  }
}

function checkVariance(data: Float32Array, name: string, fail: (p: string) => CheckpointError): void {
  for (let i = 0; i < data.length; i++) {
    if (data[i]! < 0) throw fail(`tensor ${name} holds a negative variance ${data[i]} at index ${i}`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** The training metadata, checked before anything runs (a resume must not fail an epoch later). */
function parseTrainingState(raw: unknown, fail: (p: string) => CheckpointError): TrainingState {
  const bad = (what: string) => fail(`corrupt training state: ${what}`);
  if (!isRecord(raw)) throw bad("not an object");
  if (!isCount(raw.epoch)) throw bad(`epoch must be a non-negative integer, got ${JSON.stringify(raw.epoch)?.slice(0, 20)}`);
  if (!isCount(raw.step)) throw bad(`step must be a non-negative integer, got ${JSON.stringify(raw.step)?.slice(0, 20)}`);
  if (!isRecord(raw.config)) throw bad("config must be an object");
  if (raw.optimizer !== null) {
    const o = raw.optimizer;
    if (!isRecord(o) || !Array.isArray(o.groups) || !Array.isArray(o.scalars)) throw bad("optimizer must hold groups and scalars lists");
    for (const s of o.scalars) {
      if (!isRecord(s) || !Object.values(s).every((v) => typeof v === "number" && Number.isFinite(v))) throw bad("optimizer scalars must be objects of finite numbers");
    }
  }
  if (!isRecord(raw.scheduler)) throw bad("scheduler must be an object");
  if (!isRecord(raw.loader)) throw bad("loader must be an object");
  if (!Array.isArray(raw.history) || raw.history.length !== raw.epoch) throw bad(`history must list one record per finished epoch (${raw.epoch})`);
  raw.history.forEach((h, i) => {
    if (!isRecord(h) || h.epoch !== i + 1) throw bad(`history record ${i} is not the record of epoch ${i + 1}`);
    for (const key of ["trainLoss", "testAccuracy", "lr"]) {
      if (typeof h[key] !== "number" || !Number.isFinite(h[key])) throw bad(`history record ${i} has no finite ${key}`);
    }
  });
  if (raw.options !== undefined && !isRecord(raw.options)) throw bad("options must be an object");
  return raw as unknown as TrainingState;
}

function parseQat(raw: unknown, fail: (p: string) => CheckpointError): QatRecord {
  const range = (v: unknown) => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number" && Number.isFinite(x)) && v[0] <= v[1];
  if (!isRecord(raw) || !Number.isInteger(raw.bits) || !isRecord(raw.ranges) || !Object.values(raw.ranges).every(range)) {
    throw fail("corrupt qat record: it must hold integer bits and ranges mapping layer names to finite [min, max] pairs");
  }
  return raw as unknown as QatRecord;
}

export function saveCheckpoint(path: string, bytes: Uint8Array): void {
  writeFileAtomic(path, bytes);
}

export function loadCheckpoint(path: string): Checkpoint {
  return decodeCheckpoint(readFileChecked(path, "checkpoint"), path);
}

/**
 * Load weights into a model built from the same spec, with a clear error when they differ.
 * `latent`: then overwrite rounded tensors with their stored training values (resume, fine-tune).
 */
export function loadWeights(model: Module, ckpt: Checkpoint, path: string, options: { latent?: boolean } = {}): void {
  try {
    model.loadStateDict(ckpt.weights);
    if (options.latent && ckpt.latent?.size) {
      const own = model.stateDict();
      const unknown = [...ckpt.latent.keys()].filter((k) => !own.has(k));
      if (unknown.length) throw new Error(`latent values for unknown tensors ${unknown.slice(0, 5).join(", ")}`);
      model.loadStateDict(ckpt.latent, false);
    }
  } catch (e) {
    throw new CheckpointError(`${path}: ${(e as Error).message}`);
  }
}
