// How the PyTorch code people train with names its tensors, read from a state dict:
// - nn.DataParallel / DistributedDataParallel put `module.` before every key;
// - AdderNet's adder.py stores an adder layer's weight as `<layer>.adder` and its optional bias
//   as `<layer>.b`; its FC layers are 1×1 adder2d layers with 4-D weights;
// - DeepShift-PS layers (Conv2dShift, LinearShift) store `shift`, `sign` and `bias`;
// - DeepShift-Q layers (Conv2dShiftQ, LinearShiftQ) store `weight` and `bias` exactly like
//   nn.Conv2d / nn.Linear: only their values can tell them apart, when the file holds rounded
//   weights (DeepShift's weights.pth): every one 0 or ±2^p;
// - BatchNorm stores weight, bias, running_mean, running_var and num_batches_tracked, a step
//   counter that inference never reads (mulfree's BatchNorm has none: it is dropped).
// Model knowledge, so it lives with the zoo; the zoo matching is in import_match.ts.
import { printable } from "../io/json.js";

export interface StateTensor {
  shape: readonly number[];
  data: Float32Array;
}

/** What a module of the file is, from the names of its tensors. */
export type LayerKind = "adder" | "shift-ps" | "weight" | "batchnorm";

export interface FileLayer {
  kind: LayerKind;
  /** Tensor name within the module (as in the file) → tensor. */
  tensors: Map<string, StateTensor>;
}

export interface FileLayout {
  /** Module name (dotted, prefix removed) → layer. */
  layers: Map<string, FileLayer>;
  /** Keys that belong to no known kind of layer, as in the file. */
  unknown: string[];
  /** Keys read and deliberately left out (num_batches_tracked). */
  dropped: string[];
  /** The prefix removed from every key ("module." or ""). */
  prefix: string;
}

/** Each kind's tensor names; a module with any other tensor is not of that kind. */
const KINDS: Array<[LayerKind, string[], string[]]> = [
  // [kind, names that identify it, names it may also have]
  ["batchnorm", ["running_mean", "running_var"], ["weight", "bias", "num_batches_tracked"]],
  ["adder", ["adder"], ["b"]],
  ["shift-ps", ["shift", "sign"], ["bias"]],
  ["weight", ["weight"], ["bias"]],
];

/** Prefixes that wrappers put before every key, removed when every key has one. */
const WRAPPER_PREFIXES = ["module."];

/** A file tensor name → the name mulfree's layer of that kind gives it. */
export function mulfreeTensorName(kind: LayerKind, name: string): string {
  if (kind === "adder") return name === "adder" ? "weight" : name === "b" ? "bias" : name;
  return name;
}

export function readLayout(tensors: ReadonlyMap<string, StateTensor>): FileLayout {
  const keys = [...tensors.keys()];
  const prefix = WRAPPER_PREFIXES.find((p) => keys.length > 0 && keys.every((k) => k.startsWith(p))) ?? "";
  const modules = new Map<string, Map<string, StateTensor>>();
  for (const [key, t] of tensors) {
    const name = key.slice(prefix.length);
    const dot = name.lastIndexOf(".");
    const module = dot < 0 ? "" : name.slice(0, dot);
    if (!modules.has(module)) modules.set(module, new Map());
    modules.get(module)!.set(name.slice(dot + 1), t);
  }
  const layout: FileLayout = { layers: new Map(), unknown: [], dropped: [], prefix };
  for (const [module, own] of modules) {
    const names = [...own.keys()];
    const match = KINDS.find(([, needs, may]) => needs.every((n) => own.has(n)) && names.every((n) => needs.includes(n) || may.includes(n)));
    if (!match) {
      layout.unknown.push(...names.map((n) => `${prefix}${module ? `${module}.` : ""}${n}`));
      continue;
    }
    if (own.has("num_batches_tracked")) {
      own.delete("num_batches_tracked");
      layout.dropped.push(`${prefix}${module}.num_batches_tracked`);
    }
    layout.layers.set(module, { kind: match[0], tensors: own });
  }
  return layout;
}

/**
 * True when every value is 0 or ±2^p with p in [min, 0]: a DeepShift-Q layer's weights as
 * weights.pth stores them (rounded). Trained float weights never are.
 */
export function isPowerOfTwoWeight(data: Float32Array, min: number): boolean {
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]!);
    if (a === 0) continue;
    const p = Math.round(Math.log2(a));
    if (2 ** p !== a || p > 0 || p < min) return false;
  }
  return data.length > 0;
}

/** A list of names for a one-line message: the first few, then how many more. */
export function someNames(names: readonly string[], max = 4): string {
  const shown = names.slice(0, max).map((n) => printable(n, 48)).join(", ");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}
