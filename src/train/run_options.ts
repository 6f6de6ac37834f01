// Everything that defines a training run, resolved once and stored in its checkpoint, so that
// `--resume` continues the same run. Options the user leaves out take the op kind's paper recipe
// (recipes.ts). On resume, an option given again must equal the stored one; only `epochs` may
// change: a larger value extends the run, and the schedule is rebuilt over the new total.
// Option names match the CLI flags (batch ↔ --batch, weightDecay ↔ --weight-decay), so errors
// can name the flag.
import type { DataRequest } from "../data/registry.js";
import { datasetInfo } from "../data/registry.js";
import { layerFactory } from "../models/layer_factory.js";
import { nodeBuiltin } from "../kernels/runtime.js";
import { defaultPreciseBnBatches } from "./precise_bn.js";
import { QAT_MAX_BITS, QAT_MIN_BITS } from "./qat.js";
import { recipeFor, type Recipe } from "./recipes.js";

export interface RunOptions extends Omit<Recipe, "source"> {
  model: string;
  op: string;
  allLayers: boolean;
  opOptions: Record<string, unknown>;
  /** A checkpoint whose weights (and model spec) the run starts from, e.g. one made by `convert`. */
  from: string | null;
  data: DataRequest;
  seed: number;
  /** PreciseBN: batches averaged before each evaluation; 0 = off. */
  preciseBn: number;
  /** Quantization-aware training at this many bits (train/qat.ts); null = float training. */
  qat: number | null;
}

export type RunOptionsInput = Partial<Omit<RunOptions, "data">> & { data?: Partial<DataRequest> };

export class RunOptionsError extends Error {}

const DATA_PATHS = ["data", "trainImages", "trainLabels", "testImages", "testLabels"] as const;

/** `weightDecay` → `--weight-decay`, the flag that sets it. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}`;
}

function absolute(p: string): string {
  const path = nodeBuiltin<typeof import("node:path")>("node:path");
  return path ? path.resolve(p) : p;
}

/** File options as absolute paths, so a run resumes from any working directory. */
function resolveData(given: Partial<DataRequest> | undefined): DataRequest {
  const data: DataRequest = { name: given?.name ?? "mnist" };
  datasetInfo(data.name);
  for (const key of DATA_PATHS) if (given?.[key] !== undefined) data[key] = absolute(given[key]!);
  if (given?.trainLimit !== undefined) data.trainLimit = given.trainLimit;
  if (given?.testLimit !== undefined) data.testLimit = given.testLimit;
  return data;
}

function check(ok: boolean, key: string, what: string, value: unknown): void {
  if (!ok) throw new RunOptionsError(`${flagOf(key)} must be ${what}, got ${JSON.stringify(value)?.slice(0, 40)}`);
}

/**
 * Fill in the recipe's defaults. `start` (a --from checkpoint's model and op) fixes the
 * architecture. `stored`: the options come from a checkpoint, not from flags.
 */
export function resolveRunOptions(given: RunOptionsInput, start?: { model: string; op: string }, stored = false): RunOptions {
  const op = start?.op ?? given.op ?? "conv";
  const model = start?.model ?? given.model ?? "lenet5";
  const data = resolveData(given.data);
  const r = recipeFor(op, data.name);
  const o: RunOptions = {
    model, op,
    allLayers: given.allLayers ?? false,
    opOptions: given.opOptions ?? {},
    from: given.from === undefined || given.from === null ? null : absolute(given.from),
    data,
    epochs: given.epochs ?? r.epochs,
    batch: given.batch ?? r.batch,
    optimizer: given.optimizer ?? r.optimizer,
    lr: given.lr ?? r.lr,
    momentum: given.momentum ?? r.momentum,
    nesterov: given.nesterov ?? r.nesterov,
    weightDecay: given.weightDecay ?? r.weightDecay,
    schedule: given.schedule ?? r.schedule,
    milestones: given.milestones ?? r.milestones,
    gamma: given.gamma ?? r.gamma,
    seed: given.seed ?? 1,
    augment: given.augment ?? r.augment,
    // on by default where BatchNorm's running statistics lag (adder and shift layers)
    preciseBn: given.preciseBn ?? (op === "conv" ? 0 : defaultPreciseBnBatches(given.batch ?? r.batch)),
    qat: given.qat ?? null,
  };
  const int = (v: number, min: number) => Number.isSafeInteger(v) && v >= min;
  check(int(o.epochs, 1), "epochs", "an integer ≥ 1", o.epochs);
  check(int(o.batch, 1), "batch", "an integer ≥ 1", o.batch);
  check(int(o.seed, 0), "seed", "an integer ≥ 0", o.seed);
  check(int(o.preciseBn, 0), "preciseBn", "an integer ≥ 0", o.preciseBn);
  check(Number.isFinite(o.lr) && o.lr > 0, "lr", "a number > 0", o.lr);
  check(o.qat === null || (int(o.qat, QAT_MIN_BITS) && o.qat <= QAT_MAX_BITS), "qat", `null or an integer from ${QAT_MIN_BITS} to ${QAT_MAX_BITS}`, o.qat);
  check(Array.isArray(o.milestones) && o.milestones.every((m, i) => int(m, 1) && (i === 0 || m > o.milestones[i - 1]!)), "milestones", "increasing positive integers", o.milestones);
  try {
    layerFactory(o.op, o.opOptions);
  } catch (e) {
    throw new RunOptionsError((e as Error).message);
  }
  if (stored) return o;
  // options that the chosen schedule or op kind would silently ignore are mistakes
  if (given.milestones?.length && o.schedule !== "multistep") throw new RunOptionsError(`--milestones applies to --schedule multistep, not ${o.schedule}`);
  if (given.gamma !== undefined && o.schedule !== "multistep" && o.schedule !== "step") throw new RunOptionsError(`--gamma applies to --schedule multistep or step, not ${o.schedule}`);
  if (start && (given.allLayers || (given.opOptions && Object.keys(given.opOptions).length))) {
    throw new RunOptionsError(`the model of --from ${given.from} fixes its layers; --all-layers and op options (--eta, --weight-bits, …) cannot change them`);
  }
  return o;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The options of a resumed run: the stored ones, with `epochs` from `given` when it is given.
 * Any other option given with a different value is refused, naming every such flag.
 */
export function continueRunOptions(stored: RunOptions, given: RunOptionsInput, where: string): RunOptions {
  const diffs: string[] = [];
  for (const [key, value] of Object.entries(given)) {
    if (key === "epochs" || key === "data" || value === undefined) continue;
    const mine = key === "from" && typeof value === "string" ? absolute(value) : value;
    if (!same(mine, stored[key as keyof RunOptions])) diffs.push(`${flagOf(key)} ${show(value)} (the run has ${show(stored[key as keyof RunOptions])})`);
  }
  const data = given.data ? resolveData({ name: given.data.name ?? stored.data.name, ...given.data }) : null;
  if (data) {
    for (const [key, value] of Object.entries(data)) {
      if (key !== "name" && given.data![key as keyof DataRequest] === undefined) continue;
      const mine = stored.data[key as keyof DataRequest];
      if (!same(value, mine)) diffs.push(`${key === "name" ? "--dataset" : flagOf(key)} ${show(value)} (the run has ${show(mine)})`);
    }
  }
  if (diffs.length) {
    throw new RunOptionsError(`${where}: --resume continues the run with its own flags; these differ: ${diffs.join("; ")} (only --epochs may change, to extend the run; or start a new run with another --out)`);
  }
  const epochs = given.epochs ?? stored.epochs;
  return { ...stored, epochs };
}

function show(v: unknown): string {
  if (v === undefined || v === null) return "none";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Stored options read back from a checkpoint: re-resolved, so a corrupt field is refused by name. */
export function parseRunOptions(raw: Record<string, unknown>, where: string): RunOptions {
  // qat is not required: runs stored before it existed are float runs
  const keys: Array<keyof RunOptions> = ["model", "op", "allLayers", "opOptions", "from", "data", "epochs", "batch", "optimizer", "lr", "momentum", "nesterov", "weightDecay", "schedule", "milestones", "gamma", "seed", "augment", "preciseBn"];
  const missing = keys.filter((k) => !(k in raw));
  if (missing.length) throw new RunOptionsError(`${where}: the stored run options lack ${missing.join(", ")}`);
  const types: Record<string, string> = { model: "string", op: "string", allLayers: "boolean", optimizer: "string", schedule: "string", nesterov: "boolean", augment: "boolean" };
  for (const [k, t] of Object.entries(types)) if (typeof raw[k] !== t) throw new RunOptionsError(`${where}: the stored option ${k} is not a ${t}`);
  try {
    return resolveRunOptions(raw as RunOptionsInput, { model: raw.model as string, op: raw.op as string }, true);
  } catch (e) {
    throw new RunOptionsError(`${where}: stored run options: ${(e as Error).message}`);
  }
}
