// Optimizer base with PyTorch `param_groups` semantics: each group carries its own options
// (writable; schedulers set `lr`), state is kept per parameter and indexed by the parameter's
// position in the flattened group order, and per-parameter gradient hooks run on the raw
// gradient at the start of step().
import { checkKeys, show } from "./validate.js";
import { newStateArray } from "./fused.js";

/** Anything with a float32 value and (after backward) a gradient of the same length. */
export interface OptimParam {
  data: Float32Array;
  grad: Float32Array | null;
  name?: string;
}

/** Rewrites `grad` in place before the optimizer reads it. */
export type GradHook = (grad: Float32Array, param: OptimParam) => void;

export interface HookHandle {
  remove(): void;
}

/** One parameter group: the optimizer's options (writable) plus its parameters (frozen list). */
export type ParamGroup<O> = O & { readonly params: readonly OptimParam[]; name?: string };

/** What the constructor accepts per group: any subset of the options overrides the defaults. */
export type ParamGroupInput<O> = Partial<O> & { params: readonly OptimParam[]; name?: string };

export type ParamsOrGroups<O> = readonly OptimParam[] | readonly ParamGroupInput<O>[];

export type JsonOption = number | boolean | string | number[];
/** A group's options without its params: plain JSON. */
export type GroupStateDict = Record<string, JsonOption>;
/** One parameter's optimizer state, e.g. `{ momentumBuffer }` or `{ step, expAvg, expAvgSq }`. */
export type StateRecord = Record<string, Float32Array | number>;

export interface OptimizerStateDict {
  groups: GroupStateDict[];
  /** Indexed by flat parameter index (group order, then order inside the group); `{}` = no state yet. */
  state: StateRecord[];
}

function paramLabel(p: OptimParam, index: number): string {
  return p.name !== undefined ? `parameter ${index} ('${p.name}')` : `parameter ${index}`;
}

function isGroupInput(x: unknown): x is { params: unknown } {
  return typeof x === "object" && x !== null && "params" in x;
}

/** Options every optimizer has. */
export interface BaseOptimOptions {
  lr: number;
}

/**
 * Base of every optimizer. `O` is the options record (all keys required once normalised),
 * `S` the per-parameter state. Subclasses implement the update of one parameter.
 * A bare `Optimizer` type means "any optimizer": groups with a writable `lr`.
 */
export abstract class Optimizer<O extends BaseOptimOptions = BaseOptimOptions, S = unknown> {
  readonly defaults: Readonly<O>;
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per flat parameter index; undefined until the parameter's first update. */
  protected readonly state: (S | undefined)[] = [];
  private readonly flat: OptimParam[] = [];
  private readonly indexOf = new Map<OptimParam, number>();
  private readonly hooks: (GradHook[] | undefined)[] = [];
  private readonly groupLabels: string[] = [];

  /**
   * @param kind      name used in error messages ("SGD")
   * @param optionKeys every option this optimizer takes
   * @param builtins  defaults used when neither `options` nor a group gives a value
   */
  protected constructor(
    readonly kind: string,
    /** Every option this optimizer takes, in stateDict order. */
    readonly optionKeys: readonly string[],
    builtins: O,
    params: ParamsOrGroups<O>,
    options: Partial<O>,
  ) {
    this.defaults = Object.freeze(this.normalize({ ...builtins, ...definedEntries(options) }, `${kind} options`));
    if (!Array.isArray(params) || params.length === 0) {
      throw new Error(`${kind}: got an empty parameter list`);
    }
    const grouped = isGroupInput(params[0]);
    for (let i = 0; i < params.length; i++) {
      if (isGroupInput(params[i]) !== grouped) {
        throw new Error(`${kind}: mix of parameters and parameter groups at index ${i}; pass one kind only`);
      }
    }
    if (grouped) for (const g of params as readonly ParamGroupInput<O>[]) this.addParamGroup(g);
    else this.addParamGroup({ params: params as readonly OptimParam[] } as ParamGroupInput<O>);
  }

  /** Checks every option's type and range without allocating; throws naming `where` and the option. */
  protected abstract check(options: O, where: string): void;
  /** Updates one parameter whose gradient (already hooked) is `grad`. */
  protected abstract update(group: ParamGroup<O>, param: OptimParam, grad: Float32Array, index: number): void;
  /** Length of the state's arrays (checked against the parameter before every step). */
  protected abstract stateSize(state: S): number;
  /** Copies one parameter's state into a record (fresh arrays). */
  protected abstract stateToRecord(state: S): StateRecord;
  /** Parses and copies a saved record; undefined for `{}`. Throws naming `where` on bad content. */
  protected abstract stateFromRecord(record: StateRecord, group: O, param: OptimParam, where: string): S | undefined;

  /** Adds a group; options it does not give come from `defaults`. */
  addParamGroup(input: ParamGroupInput<O>): void {
    const gi = this.paramGroups.length;
    const where = `${this.kind} param group ${gi}`;
    if (!isGroupInput(input) || !Array.isArray(input.params)) throw new Error(`${where}: 'params' must be an array of parameters`);
    const { params, name, ...overrides } = input;
    if (name !== undefined && typeof name !== "string") throw new Error(`${where}: 'name' must be a string, got ${show(name)}`);
    const seen = new Set<OptimParam>();
    params.forEach((p, j) => {
      if (typeof p !== "object" || p === null || !(p.data instanceof Float32Array)) {
        throw new Error(`${where}: params[${j}] is not a parameter (needs a Float32Array 'data')`);
      }
      if (p.grad !== null && p.grad !== undefined && !(p.grad instanceof Float32Array)) {
        throw new Error(`${where}: params[${j}].grad must be a Float32Array or null`);
      }
      if (seen.has(p)) throw new Error(`${where}: params[${j}] appears twice in the group`);
      const other = this.indexOf.get(p);
      if (other !== undefined) throw new Error(`${where}: params[${j}] is already in another group (flat index ${other})`);
      seen.add(p);
    });
    const options = this.normalize({ ...this.defaults, ...definedEntries(overrides) }, where);
    const group = Object.assign(options, { params: Object.freeze([...params]) }) as ParamGroup<O>;
    if (name !== undefined) group.name = name;
    for (const p of group.params) {
      this.indexOf.set(p, this.flat.length);
      this.flat.push(p);
      this.state.push(undefined);
      this.hooks.push(undefined);
    }
    this.paramGroups.push(group);
    this.groupLabels.push(name !== undefined ? `${where} ('${name}')` : where);
  }

  /** All parameters in flat-index order (the order of `stateDict().state`). */
  flatParams(): readonly OptimParam[] {
    return this.flat;
  }

  /**
   * Runs `hook(grad, param)` at the start of every step(), on the raw gradient, before weight
   * decay and momentum. Hooks of one parameter run in registration order. Hooks are code, so they
   * are not part of stateDict(): register them again after building a fresh optimizer.
   */
  registerGradHook(param: OptimParam, hook: GradHook): HookHandle {
    const i = this.indexOf.get(param);
    if (i === undefined) {
      const label = param?.name !== undefined ? ` '${param.name}'` : "";
      throw new Error(`${this.kind}.registerGradHook: parameter${label} is not managed by this optimizer`);
    }
    if (typeof hook !== "function") throw new Error(`${this.kind}.registerGradHook: hook must be a function`);
    const list = (this.hooks[i] ??= []);
    list.push(hook);
    return {
      remove: () => {
        const k = list.indexOf(hook);
        if (k >= 0) list.splice(k, 1);
      },
    };
  }

  /** Fills every existing gradient with 0 and keeps the arrays (null gradients stay null). */
  zeroGrad(): void {
    for (const p of this.flat) p.grad?.fill(0);
  }

  /** One update of every parameter that has a gradient. Parameters with `grad === null` are skipped. */
  step(): void {
    // Check everything first so a bad option or gradient cannot leave a half-applied step.
    for (let gi = 0; gi < this.paramGroups.length; gi++) this.check(this.paramGroups[gi], this.groupLabels[gi]);
    const flat = this.flat;
    for (let i = 0; i < flat.length; i++) {
      const p = flat[i], g = p.grad;
      if (g !== null && g !== undefined && g.length !== p.data.length) {
        throw new Error(`${this.kind}.step: ${paramLabel(p, i)} has ${p.data.length} values but its gradient has ${g.length}`);
      }
      const s = this.state[i];
      if (s !== undefined && this.stateSize(s) !== p.data.length) {
        throw new Error(`${this.kind}.step: ${paramLabel(p, i)} has ${p.data.length} values but its state has ${this.stateSize(s)}`);
      }
    }
    for (let i = 0; i < flat.length; i++) {
      const hooks = this.hooks[i], p = flat[i], g = p.grad;
      if (hooks === undefined || g === null || g === undefined) continue;
      for (let h = 0; h < hooks.length; h++) hooks[h](g, p);
    }
    let index = 0;
    for (let gi = 0; gi < this.paramGroups.length; gi++) {
      const group = this.paramGroups[gi], params = group.params;
      for (let j = 0; j < params.length; j++, index++) {
        const p = params[j], g = p.grad;
        if (g !== null && g !== undefined) this.update(group, p, g, index);
      }
    }
  }

  /** Options of every group (without params) and a copy of every parameter's state. */
  stateDict(): OptimizerStateDict {
    const groups = this.paramGroups.map((g) => {
      const out: GroupStateDict = {};
      for (const key of this.optionKeys) {
        const v = (g as unknown as Record<string, unknown>)[key];
        out[key] = Array.isArray(v) ? [...(v as number[])] : (v as JsonOption);
      }
      if (g.name !== undefined) out.name = g.name;
      return out;
    });
    const state = this.state.map((s) => (s === undefined ? {} : this.stateToRecord(s)));
    return { groups, state };
  }

  /**
   * Restores group options and per-parameter state saved by stateDict() of an optimizer of the
   * same kind built over parameters of the same sizes in the same order. Arrays are copied.
   * Everything is checked before anything changes.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const where = `${this.kind}.loadStateDict`;
    if (typeof dict !== "object" || dict === null || !Array.isArray(dict.groups) || !Array.isArray(dict.state)) {
      throw new Error(`${where}: expected { groups: [...], state: [...] }`);
    }
    if (dict.groups.length !== this.paramGroups.length) {
      throw new Error(`${where}: saved state has ${dict.groups.length} param groups, this optimizer has ${this.paramGroups.length}`);
    }
    if (dict.state.length !== this.flat.length) {
      throw new Error(`${where}: saved state has ${dict.state.length} parameters, this optimizer has ${this.flat.length}`);
    }
    const groups = dict.groups.map((saved, gi) => {
      const gw = `${where} groups[${gi}]`;
      if (typeof saved !== "object" || saved === null) throw new Error(`${gw}: expected an object`);
      const { name, ...options } = saved as Record<string, unknown>;
      if (name !== undefined && typeof name !== "string") throw new Error(`${gw}: 'name' must be a string`);
      return { options: this.normalize(options, gw), name };
    });
    const states: (S | undefined)[] = [];
    let index = 0;
    for (let gi = 0; gi < groups.length; gi++) {
      for (const p of this.paramGroups[gi].params) {
        const rec = dict.state[index];
        const sw = `${where} state[${index}] (${paramLabel(p, index)})`;
        if (typeof rec !== "object" || rec === null) throw new Error(`${sw}: expected an object`);
        states.push(this.stateFromRecord(rec, groups[gi].options, p, sw));
        index++;
      }
    }
    groups.forEach(({ options, name }, gi) => {
      const group = this.paramGroups[gi];
      Object.assign(group, options);
      if (name !== undefined) group.name = name as string;
    });
    for (let i = 0; i < states.length; i++) this.state[i] = states[i];
  }

  /** Rejects unknown keys, copies the known ones (arrays copied), checks them. */
  private normalize(input: Record<string, unknown>, where: string): O {
    checkKeys(input, this.optionKeys, where);
    const out: Record<string, unknown> = {};
    for (const key of this.optionKeys) {
      const v = input[key];
      out[key] = Array.isArray(v) ? [...v] : v;
    }
    this.check(out as O, where);
    return out as O;
  }
}

/** Drops keys whose value is undefined, so `{ momentum: undefined }` means "not given". */
function definedEntries(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

// ---- helpers for subclasses: reading saved state -------------------------------------------

/** Copies `record[key]`, which must be a Float32Array as long as the parameter, into a new state array. */
export function savedArray(record: StateRecord, key: string, param: OptimParam, where: string): Float32Array {
  const v = record[key];
  if (!(v instanceof Float32Array)) throw new Error(`${where}: '${key}' must be a Float32Array, got ${v === undefined ? "nothing" : typeof v}`);
  if (v.length !== param.data.length) {
    throw new Error(`${where}: '${key}' has ${v.length} values, the parameter has ${param.data.length}`);
  }
  const copy = newStateArray(v.length, param.data);
  copy.set(v);
  return copy;
}

/** `record[key]` as an integer >= min. */
export function savedCount(record: StateRecord, key: string, where: string, min: number): number {
  const v = record[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new Error(`${where}: '${key}' must be an integer >= ${min}, got ${v instanceof Float32Array ? "an array" : show(v)}`);
  }
  return v;
}

/** Rejects unknown keys in a saved state record. */
export function checkStateKeys(record: StateRecord, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) throw new Error(`${where}: unknown state entry '${key}' (valid: ${allowed.join(", ")})`);
  }
}
