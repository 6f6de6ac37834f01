// Learning-rate schedules with PyTorch semantics. A scheduler records each group's lr at
// construction as its base lr and from then on sets `group.lr = lrAt(base, t)` in closed form, t
// being the number of step() calls (a unit is an epoch or an iteration: the trainer decides).
// Constructing a scheduler applies t = 0, as torch does. Each group keeps its own base, so
// groups with different lrs keep their ratio (DeepShift's per-group sign lr is not lost).
import { integer, nonNegative, positive, show, unitInterval } from "./validate.js";

/** What a scheduler needs from an optimizer: writable per-group learning rates. */
export interface LrGroups {
  readonly paramGroups: readonly { lr: number }[];
}

export type JsonValue = number | string | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface SchedulerStateDict {
  kind: string;
  lastEpoch: number;
  baseLrs: number[];
  lastLr: number[];
  /** The schedule's hyperparameters (restored on load, as torch does). */
  config: { [key: string]: JsonValue };
}

export abstract class LRScheduler {
  /** Base (initial) lr of each group. */
  baseLrs: number[];
  private epoch = -1;
  private last: number[] = [];
  /** Set when a wrapper (LinearWarmupLR) drives this schedule; then only the wrapper steps. */
  private owner: string | null = null;

  protected constructor(readonly kind: string, readonly optimizer: LrGroups, baseLrs?: readonly number[]) {
    if (typeof optimizer !== "object" || optimizer === null || !Array.isArray(optimizer.paramGroups)) {
      throw new Error(`${kind}: expected an optimizer with paramGroups`);
    }
    const bases = baseLrs ?? optimizer.paramGroups.map((g) => g.lr);
    this.baseLrs = bases.map((lr, i) => nonNegative(lr, "lr", `${kind}: param group ${i}`));
  }

  /** The closed-form lr of a group with base lr `baseLr` after `t` steps. */
  abstract lrAt(baseLr: number, t: number, groupIndex: number): number;
  protected abstract config(): { [key: string]: JsonValue };
  /** Checks and applies a saved config (throws naming the option on bad values). */
  protected abstract loadConfig(config: { [key: string]: JsonValue }, where: string): void;

  /** Number of step() calls since construction (0 right after construction). */
  get lastEpoch(): number {
    return this.epoch;
  }

  /** The lr last set on each group. */
  lastLr(): number[] {
    return [...this.last];
  }

  /** Advances one unit and sets every group's lr. */
  step(): void {
    if (this.owner !== null) throw new Error(`${this.kind}.step: this schedule is driven by ${this.owner}; step that instead`);
    this.epoch++;
    this.apply();
  }

  stateDict(): SchedulerStateDict {
    return { kind: this.kind, lastEpoch: this.epoch, baseLrs: [...this.baseLrs], lastLr: [...this.last], config: this.config() };
  }

  /**
   * Restores a state saved by a scheduler of the same kind over the same number of groups. Also
   * writes the saved lrs into the optimizer's groups, so the two cannot disagree after a resume.
   */
  loadStateDict(dict: SchedulerStateDict): void {
    const where = `${this.kind}.loadStateDict`;
    if (typeof dict !== "object" || dict === null) throw new Error(`${where}: expected an object`);
    if (dict.kind !== this.kind) throw new Error(`${where}: saved state is for ${show(dict.kind)}, not ${this.kind}`);
    const groups = this.optimizer.paramGroups.length;
    const lastEpoch = integer(dict.lastEpoch, "lastEpoch", where, 0);
    const baseLrs = lrList(dict.baseLrs, "baseLrs", groups, where);
    const lastLr = lrList(dict.lastLr, "lastLr", groups, where);
    if (typeof dict.config !== "object" || dict.config === null || Array.isArray(dict.config)) {
      throw new Error(`${where}: 'config' must be an object`);
    }
    this.loadConfig(dict.config, `${where} config`);
    this.epoch = lastEpoch;
    this.baseLrs = baseLrs;
    this.last = lastLr;
    lastLr.forEach((lr, i) => (this.optimizer.paramGroups[i].lr = lr));
  }

  /**
   * Jump to t steps and set every group's lr in closed form. A run extended to more epochs uses
   * this: the schedule is rebuilt over the new total and continues at the step it had reached.
   */
  seek(t: number): void {
    if (this.owner !== null) throw new Error(`${this.kind}.seek: this schedule is driven by ${this.owner}; seek that instead`);
    this.epoch = integer(t, "t", `${this.kind}.seek`, 0);
    this.apply();
  }

  /** Called at the end of a concrete constructor: applies t = 0. */
  protected start(): void {
    this.epoch = 0;
    this.apply();
  }

  /** Marks this schedule as driven by a wrapper. */
  adoptBy(owner: string): void {
    if (this.owner !== null) throw new Error(`${this.kind}: already driven by ${this.owner}`);
    this.owner = owner;
  }

  private apply(): void {
    const groups = this.optimizer.paramGroups;
    if (groups.length !== this.baseLrs.length) {
      throw new Error(`${this.kind}.step: the optimizer has ${groups.length} param groups, the scheduler was built for ${this.baseLrs.length}`);
    }
    this.last = this.baseLrs.map((base, i) => this.lrAt(base, this.epoch, i));
    this.last.forEach((lr, i) => (groups[i].lr = lr));
  }
}

function lrList(value: unknown, key: string, length: number, where: string): number[] {
  if (!Array.isArray(value) || value.length !== length) {
    throw new Error(`${where}: '${key}' must be an array of ${length} learning rates, got ${show(value)}`);
  }
  return value.map((v, i) => nonNegative(v, `${key}[${i}]`, where));
}

/** lr = etaMin + (base − etaMin)·(1 + cos(π·t/tMax))/2 (torch's closed form; periodic past tMax). */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;

  constructor(optimizer: LrGroups, tMax: number, etaMin = 0) {
    super("CosineAnnealingLR", optimizer);
    this.tMax = integer(tMax, "tMax", this.kind, 1);
    this.etaMin = nonNegative(etaMin, "etaMin", this.kind);
    this.start();
  }

  lrAt(baseLr: number, t: number): number {
    return this.etaMin + ((baseLr - this.etaMin) * (1 + Math.cos((Math.PI * t) / this.tMax))) / 2;
  }

  protected config() {
    return { tMax: this.tMax, etaMin: this.etaMin };
  }

  protected loadConfig(c: { [key: string]: JsonValue }, where: string): void {
    const tMax = integer(c.tMax, "tMax", where, 1);
    this.etaMin = nonNegative(c.etaMin, "etaMin", where);
    this.tMax = tMax;
  }
}

/** lr = base·gamma^(number of milestones <= t); a repeated milestone applies gamma twice. */
export class MultiStepLR extends LRScheduler {
  milestones: number[];
  gamma: number;

  constructor(optimizer: LrGroups, milestones: readonly number[], gamma = 0.1) {
    super("MultiStepLR", optimizer);
    this.milestones = checkMilestones(milestones, this.kind);
    this.gamma = positive(gamma, "gamma", this.kind);
    this.start();
  }

  lrAt(baseLr: number, t: number): number {
    let passed = 0;
    for (const m of this.milestones) if (m <= t) passed++;
    return baseLr * this.gamma ** passed;
  }

  protected config() {
    return { milestones: [...this.milestones], gamma: this.gamma };
  }

  protected loadConfig(c: { [key: string]: JsonValue }, where: string): void {
    const milestones = checkMilestones(c.milestones, where);
    this.gamma = positive(c.gamma, "gamma", where);
    this.milestones = milestones;
  }
}

function checkMilestones(value: unknown, where: string): number[] {
  if (!Array.isArray(value)) throw new Error(`${where}: option 'milestones' must be an array of integers >= 0, got ${show(value)}`);
  return value.map((m, i) => integer(m, `milestones[${i}]`, where, 0)).sort((a, b) => a - b);
}

/** lr = base·gamma^floor(t / stepSize). */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: LrGroups, stepSize: number, gamma = 0.1) {
    super("StepLR", optimizer);
    this.stepSize = integer(stepSize, "stepSize", this.kind, 1);
    this.gamma = positive(gamma, "gamma", this.kind);
    this.start();
  }

  lrAt(baseLr: number, t: number): number {
    return baseLr * this.gamma ** Math.floor(t / this.stepSize);
  }

  protected config() {
    return { stepSize: this.stepSize, gamma: this.gamma };
  }

  protected loadConfig(c: { [key: string]: JsonValue }, where: string): void {
    const stepSize = integer(c.stepSize, "stepSize", where, 1);
    this.gamma = positive(c.gamma, "gamma", where);
    this.stepSize = stepSize;
  }
}

/**
 * torch.optim.lr_scheduler.ConstantLR: lr = base·factor while t < totalIters, then base.
 * Defaults are torch's (factor 1/3, 5 iterations); `makeScheduler("constant")` uses factor 1.
 */
export class ConstantLR extends LRScheduler {
  factor: number;
  totalIters: number;

  constructor(optimizer: LrGroups, factor = 1 / 3, totalIters = 5) {
    super("ConstantLR", optimizer);
    this.factor = unitInterval(factor, "factor", this.kind, true);
    this.totalIters = integer(totalIters, "totalIters", this.kind, 0);
    this.start();
  }

  lrAt(baseLr: number, t: number): number {
    return t < this.totalIters ? baseLr * this.factor : baseLr;
  }

  protected config() {
    return { factor: this.factor, totalIters: this.totalIters };
  }

  protected loadConfig(c: { [key: string]: JsonValue }, where: string): void {
    const factor = unitInterval(c.factor, "factor", where, true);
    this.totalIters = integer(c.totalIters, "totalIters", where, 0);
    this.factor = factor;
  }
}

/**
 * Linear warm-up, then another schedule (torch's SequentialLR of LinearLR and `inner`):
 *   t < warmupSteps:  lr = base·(startFactor + (1 − startFactor)·t/warmupSteps)
 *   t >= warmupSteps: lr = inner.lrAt(base, t − warmupSteps)
 * The inner schedule starts counting after the warm-up (so a cosine's tMax excludes it). Build
 * the inner scheduler first, then wrap it, and step only the wrapper.
 */
export class LinearWarmupLR extends LRScheduler {
  readonly inner: LRScheduler;
  warmupSteps: number;
  startFactor: number;

  constructor(inner: LRScheduler, warmupSteps: number, startFactor = 1 / 3) {
    if (!(inner instanceof LRScheduler)) throw new Error("LinearWarmupLR: 'inner' must be a scheduler");
    super("LinearWarmupLR", inner.optimizer, inner.baseLrs);
    this.warmupSteps = integer(warmupSteps, "warmupSteps", this.kind, 1);
    this.startFactor = unitInterval(startFactor, "startFactor", this.kind, true);
    inner.adoptBy(this.kind);
    this.inner = inner;
    this.start();
  }

  lrAt(baseLr: number, t: number, groupIndex: number): number {
    if (t < this.warmupSteps) return baseLr * (this.startFactor + ((1 - this.startFactor) * t) / this.warmupSteps);
    return this.inner.lrAt(baseLr, t - this.warmupSteps, groupIndex);
  }

  protected config() {
    const inner = this.inner.stateDict();
    return { warmupSteps: this.warmupSteps, startFactor: this.startFactor, inner: inner as unknown as JsonValue };
  }

  protected loadConfig(c: { [key: string]: JsonValue }, where: string): void {
    const warmupSteps = integer(c.warmupSteps, "warmupSteps", where, 1);
    const startFactor = unitInterval(c.startFactor, "startFactor", where, true);
    this.inner.loadStateDict(c.inner as unknown as SchedulerStateDict);
    this.warmupSteps = warmupSteps;
    this.startFactor = startFactor;
  }
}
