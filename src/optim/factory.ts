// Optimizers and schedulers by name, for the trainer and the command line. A caller may pass one
// options bag for every name: options that belong to another optimizer or schedule are ignored
// (optimizerOptionKeys / schedulerOptionKeys tell which apply, so a CLI can warn), but a key that
// no optimizer or schedule knows is a typo and is rejected. Undefined values count as not given.
// The constructors themselves are strict and reject any option they do not take.
import { ADAM_OPTION_KEYS, Adam, type AdamOptions } from "./adam.js";
import type { OptimParam, ParamGroupInput, ParamsOrGroups } from "./optimizer.js";
import { RADAM_OPTION_KEYS, RAdam, type RAdamOptions } from "./radam.js";
import { ConstantLR, CosineAnnealingLR, LinearWarmupLR, MultiStepLR, StepLR, type LRScheduler, type LrGroups } from "./schedule.js";
import { SGD, SGD_OPTION_KEYS, type SGDOptions } from "./sgd.js";
import { checkKeys, integer, show, unitInterval } from "./validate.js";

export const OPTIMIZER_NAMES = ["sgd", "adam", "adamw", "radam"] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];
export type AnyOptimizer = SGD | Adam | RAdam;
/** The union of every optimizer's options; makeOptimizer passes each optimizer only its own. */
export type OptimizerFactoryOptions = Partial<SGDOptions> & Partial<AdamOptions> & Partial<RAdamOptions>;
export type OptimizerFactoryParams = readonly OptimParam[] | readonly ParamGroupInput<OptimizerFactoryOptions>[];

const OPTIMIZER_KEYS: Record<OptimizerName, readonly string[]> = {
  sgd: SGD_OPTION_KEYS,
  adam: ADAM_OPTION_KEYS,
  adamw: ADAM_OPTION_KEYS,
  radam: RADAM_OPTION_KEYS,
};
const ALL_OPTIMIZER_KEYS = [...new Set(Object.values(OPTIMIZER_KEYS).flat())];

/** The options the named optimizer takes (throws on an unknown name). */
export function optimizerOptionKeys(name: string): readonly string[] {
  return OPTIMIZER_KEYS[optimizerName(name, "optimizerOptionKeys")];
}

/**
 * `sgd`, `adam`, `radam` as torch; `adamw` is Adam with decoupled weight decay and torch
 * AdamW's default weightDecay 1e-2. Options of other optimizers are ignored (see the file head).
 */
export function makeOptimizer(name: string, params: OptimizerFactoryParams, opts: OptimizerFactoryOptions = {}): AnyOptimizer {
  const kind = optimizerName(name, "makeOptimizer");
  checkKeys(opts, ALL_OPTIMIZER_KEYS, `makeOptimizer('${kind}')`);
  const own = pick(opts, OPTIMIZER_KEYS[kind]);
  switch (kind) {
    case "sgd":
      return new SGD(params as ParamsOrGroups<SGDOptions>, own);
    case "adam":
      return new Adam(params as ParamsOrGroups<AdamOptions>, own);
    case "adamw":
      if (own.decoupledWeightDecay === false) {
        throw new Error("makeOptimizer('adamw'): option 'decoupledWeightDecay' cannot be false (use 'adam')");
      }
      return new Adam(params as ParamsOrGroups<AdamOptions>, { weightDecay: 1e-2, ...own, decoupledWeightDecay: true });
    case "radam":
      return new RAdam(params as ParamsOrGroups<RAdamOptions>, own);
  }
}

function optimizerName(name: string, where: string): OptimizerName {
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(name)) {
    throw new Error(`${where}: unknown optimizer ${show(name)} (valid: ${OPTIMIZER_NAMES.join(", ")})`);
  }
  return name as OptimizerName;
}

/** The defined entries of `o` whose key is in `keys`. */
function pick<T extends object>(o: T, keys: readonly string[]): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && keys.includes(k))) as Partial<T>;
}

export const SCHEDULER_NAMES = ["cosine", "multistep", "step", "constant"] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

export interface SchedulerFactoryOptions {
  /** cosine: period in units (required) */
  tMax?: number;
  /** cosine: floor lr (default 0) */
  etaMin?: number;
  /** multistep: units at which lr is multiplied by gamma (required) */
  milestones?: number[];
  /** multistep, step: multiplier (default 0.1) */
  gamma?: number;
  /** step: units between drops (required) */
  stepSize?: number;
  /** constant: lr multiplier for the first totalIters units (default 1: lr stays at its base) */
  factor?: number;
  /** constant: units the factor applies (default 5, as torch) */
  totalIters?: number;
  /** any: linear warm-up units before the schedule starts (default 0: none) */
  warmupSteps?: number;
  /** any: lr multiplier at t = 0 of the warm-up (default 1/3, as torch LinearLR) */
  warmupStartFactor?: number;
}

const SCHEDULER_KEYS: Record<SchedulerName, readonly string[]> = {
  cosine: ["tMax", "etaMin"],
  multistep: ["milestones", "gamma"],
  step: ["stepSize", "gamma"],
  constant: ["factor", "totalIters"],
};
const WARMUP_KEYS = ["warmupSteps", "warmupStartFactor"];
const ALL_SCHEDULER_KEYS = [...new Set([...Object.values(SCHEDULER_KEYS).flat(), ...WARMUP_KEYS])];

/** The options the named schedule takes, warm-up included (throws on an unknown name). */
export function schedulerOptionKeys(name: string): readonly string[] {
  return [...SCHEDULER_KEYS[schedulerName(name, "schedulerOptionKeys")], ...WARMUP_KEYS];
}

function schedulerName(name: string, where: string): SchedulerName {
  if (!(SCHEDULER_NAMES as readonly string[]).includes(name)) {
    throw new Error(`${where}: unknown scheduler ${show(name)} (valid: ${SCHEDULER_NAMES.join(", ")})`);
  }
  return name as SchedulerName;
}

/**
 * Builds the named schedule, optionally behind a linear warm-up (`warmupSteps` > 0). Options of
 * other schedules are ignored (see the file head); a required option that is missing throws.
 */
export function makeScheduler(name: string, optimizer: LrGroups, opts: SchedulerFactoryOptions = {}): LRScheduler {
  const kind = schedulerName(name, "makeScheduler");
  const where = `makeScheduler('${kind}')`;
  checkKeys(opts, ALL_SCHEDULER_KEYS, where);
  const required = (key: keyof SchedulerFactoryOptions) => {
    if (opts[key] === undefined) throw new Error(`${where}: option '${key}' is required`);
    return opts[key];
  };
  // Check the warm-up first: building the inner schedule already sets the groups' lr.
  const warmup = opts.warmupSteps === undefined ? 0 : integer(opts.warmupSteps, "warmupSteps", where, 0);
  if (warmup === 0 && opts.warmupStartFactor !== undefined) {
    throw new Error(`${where}: option 'warmupStartFactor' needs 'warmupSteps' > 0`);
  }
  const startFactor = unitInterval(opts.warmupStartFactor ?? 1 / 3, "warmupStartFactor", where, true);
  let schedule: LRScheduler;
  switch (kind) {
    case "cosine":
      schedule = new CosineAnnealingLR(optimizer, required("tMax") as number, opts.etaMin ?? 0);
      break;
    case "multistep":
      schedule = new MultiStepLR(optimizer, required("milestones") as number[], opts.gamma ?? 0.1);
      break;
    case "step":
      schedule = new StepLR(optimizer, required("stepSize") as number, opts.gamma ?? 0.1);
      break;
    case "constant":
      schedule = new ConstantLR(optimizer, opts.factor ?? 1, opts.totalIters ?? 5);
      break;
  }
  return warmup === 0 ? schedule : new LinearWarmupLR(schedule, warmup, startFactor);
}
