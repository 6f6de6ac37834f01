// A PyTorch state dict onto a zoo model: find the architecture whose layers carry the file's
// layer names, the op kind (from the tensor names, or the caller's), which layers take it, and
// the sizes (input channels, image size, classes) under which every tensor has the model's
// shape; then load the tensors. Anything that does not fit is refused with the keys that are
// missing, unexpected or of the wrong shape. Layouts are read in import_layout.ts.
import { AdderLayer } from "../nn/adder.js";
import { BatchNormBase } from "../nn/batchnorm.js";
import { Conv2d } from "../nn/conv.js";
import { Linear } from "../nn/linear.js";
import { printable } from "../io/json.js";
import type { Module } from "../nn/module.js";
import { ShiftLayer } from "../nn/shift.js";
import { shiftRange } from "../tensor/ops/shift.js";
import { withRngSaved } from "../tensor/random.js";
import { isPowerOfTwoWeight, mulfreeTensorName, readLayout, someNames, type FileLayout, type StateTensor } from "./import_layout.js";
import { opKinds } from "./layer_factory.js";
import { SHIFT_OPS } from "./shift_op.js";
import { createModel, modelNames, resolveSpec, type ModelSpec } from "./zoo.js";

export interface ImportOptions {
  /** The zoo architecture; default: the one whose layer names the file has. */
  arch?: string;
  /** The op kind; default: from the tensor names (adder, shift-ps), else conv. shift-q must be given. */
  op?: string;
  /** The image side; default: the one of 28, 32 and the architecture's own that fits the tensors. */
  inputSize?: number;
  /** Shift ops: bits per weight (default 5, the reference's). */
  weightBits?: number;
  /** Shift ops: fixed-point input and bias (default [16, 16], the reference's; null: float). */
  activationBits?: readonly [number, number] | null;
}

export interface ImportedModel {
  spec: ModelSpec;
  /** The model with the file's weights, in eval mode. */
  model: Module;
  /** Weight layers of the op kind, and the ones that stay multiplicative. */
  opLayers: string[];
  multiplicativeLayers: string[];
  /** Keys read and left out (BatchNorm's num_batches_tracked). */
  dropped: string[];
  /** The wrapper prefix removed from every key ("module." or ""). */
  prefix: string;
  notes: string[];
}

const isWeightLayer = (m: Module) => m instanceof Conv2d || m instanceof Linear || m instanceof AdderLayer || m instanceof ShiftLayer;
const isOpLayer = (m: Module) => m instanceof AdderLayer || m instanceof ShiftLayer;
const build = (spec: ModelSpec) => withRngSaved(() => createModel(spec));

/** The modules of a zoo model that own tensors, by dotted name, in module order. */
function tensorModules(model: Module): Map<string, Module> {
  return new Map(model.namedModules().filter(([, m]) => isWeightLayer(m) || m instanceof BatchNormBase));
}

/** The file's layers against a zoo model's: names missing on either side, or of another kind. */
function layerDifference(layout: FileLayout, zoo: Map<string, Module>): { missing: string[]; unexpected: string[] } {
  const sameKind = (name: string) => (layout.layers.get(name)!.kind === "batchnorm") === zoo.get(name) instanceof BatchNormBase;
  return {
    missing: [...zoo.keys()].filter((n) => !layout.layers.has(n) || !sameKind(n)),
    unexpected: [...layout.layers.keys()].filter((n) => !zoo.has(n) || !sameKind(n)).concat(layout.unknown),
  };
}

/** Throws an Error whose message the caller prefixes with the file name. */
export function importStateDict(tensors: ReadonlyMap<string, StateTensor>, options: ImportOptions = {}): ImportedModel {
  if (options.arch !== undefined && !modelNames().includes(options.arch)) throw new Error(`unknown model '${options.arch}'; valid: ${modelNames().join(", ")}`);
  if (options.op !== undefined && !opKinds().includes(options.op)) throw new Error(`unknown op '${options.op}'; valid: ${opKinds().join(", ")}`);
  const layout = readLayout(tensors);
  const arch = options.arch ?? findArch(layout);
  const op = decideOp(layout, options.op);
  if (options.arch !== undefined) checkLayers(arch, op, layout);
  const notes: string[] = [];
  if (op === "conv" && options.op === undefined && looksRoundedToShifts(layout)) {
    notes.push("every weight is 0 or ±2^p, as DeepShift-Q's weights.pth stores them: give --op shift-q if this is a DeepShift-Q model");
  }
  const { allLayers, convLayers, opLayers } = chooseLayers(arch, op, layout, options, notes);
  const opOptions: Record<string, unknown> = {};
  if (SHIFT_OPS[op]) {
    if (options.weightBits !== undefined) opOptions.weightBits = options.weightBits;
    if (options.activationBits !== undefined) opOptions.activationBits = options.activationBits;
    if (convLayers.length) opOptions.convLayers = convLayers;
  } else if (options.weightBits !== undefined || options.activationBits !== undefined) {
    throw new Error(`weight and activation bits apply to shift ops, not ${op}`);
  }
  const { spec, model, weights } = fitSizes(arch, op, allLayers, opOptions, layout, options.inputSize);
  checkValues(weights);
  model.loadStateDict(weights);
  model.eval();
  if (SHIFT_OPS[op] === "ps") noteClampedShifts(layout, spec, notes);
  const weightLayers = [...tensorModules(model)].filter(([, m]) => isWeightLayer(m));
  return {
    spec, model, notes, dropped: layout.dropped, prefix: layout.prefix,
    opLayers: weightLayers.filter(([, m]) => isOpLayer(m)).map(([n]) => n),
    multiplicativeLayers: weightLayers.filter(([, m]) => !isOpLayer(m)).map(([n]) => n),
  };
}

/** The first zoo architecture with exactly the file's layers (names and BatchNorm or not). */
function findArch(layout: FileLayout): string {
  let closest: { arch: string; missing: string[]; unexpected: string[] } | null = null;
  for (const arch of modelNames()) {
    const d = layerDifference(layout, tensorModules(build(resolveSpec({ model: arch }))));
    if (!d.missing.length && !d.unexpected.length) return arch;
    if (!closest || d.missing.length + d.unexpected.length < closest.missing.length + closest.unexpected.length) closest = { arch, ...d };
  }
  const c = closest!;
  const parts = [c.missing.length ? `lacks layers ${someNames(c.missing)}` : "", c.unexpected.length ? `has no ${someNames(c.unexpected)}` : ""].filter(Boolean);
  throw new Error(`its layers match no zoo model (${modelNames().join(", ")}); the closest, ${c.arch}, ${parts.join(" and ")}`);
}

/** A named architecture must have the file's layers: else every key that differs, under its default sizes. */
function checkLayers(arch: string, op: string, layout: FileLayout): void {
  const model = build(resolveSpec({ model: arch, op }));
  const d = layerDifference(layout, tensorModules(model));
  if (d.missing.length || d.unexpected.length) throw new Error(`does not fit ${arch} (${op}): ${mapTensors(layout, model).problems.join("; ")}`);
}

function decideOp(layout: FileLayout, given: string | undefined): string {
  const kinds = new Set([...layout.layers.values()].map((l) => l.kind));
  if (kinds.has("adder") && kinds.has("shift-ps")) throw new Error("it mixes adder layers (.adder) and shift layers (.shift, .sign); no op kind has both");
  const fromKeys = kinds.has("adder") ? "adder" : kinds.has("shift-ps") ? "shift-ps" : null;
  if (given === undefined) return fromKeys ?? "conv";
  if (fromKeys && given !== fromKeys) throw new Error(`--op ${given}, but its layers are ${fromKeys} layers (${fromKeys === "adder" ? ".adder weights" : ".shift and .sign tensors"})`);
  if (!fromKeys && (given === "adder" || given === "shift-ps")) throw new Error(`--op ${given}, but it has no ${given === "adder" ? "adder weights (.adder)" : "shift and sign tensors"}`);
  return given;
}

/**
 * Which weight layers take the op kind. The zoo's default keeps the first and last layers
 * multiplicative (allLayers false); anything else is allLayers with, for shift ops, the
 * multiplicative layers named in convLayers (as a partial DeepShift conversion leaves them).
 */
function chooseLayers(arch: string, op: string, layout: FileLayout, options: ImportOptions, notes: string[]): { allLayers: boolean; convLayers: string[]; opLayers: Set<string> } {
  if (op === "conv") return { allLayers: false, convLayers: [], opLayers: new Set() };
  const zoo = tensorModules(build(resolveSpec({ model: arch, op })));
  const weightLayers = [...zoo].filter(([, m]) => isWeightLayer(m)).map(([n]) => n);
  const zooOp = new Set(weightLayers.filter((n) => isOpLayer(zoo.get(n)!)));
  const fileOp = new Set(weightLayers.filter((n) => opLayerInFile(layout, n, op, options)));
  if (op === "shift-q" && fileOp.size === 0) {
    // unrounded latent weights (a training checkpoint): nothing tells the layers apart
    weightLayers.forEach((n) => fileOp.add(n));
    notes.push("its weights are not rounded to powers of two, so every weight layer becomes a shift-q layer");
  }
  const same = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((n) => b.has(n));
  if (same(fileOp, zooOp)) return { allLayers: false, convLayers: [], opLayers: fileOp };
  const multiplicative = weightLayers.filter((n) => !fileOp.has(n));
  if (op === "adder" && multiplicative.length) {
    throw new Error(`its adder layers are ${someNames([...fileOp])}; mulfree's adder ${arch} makes either every weight layer an adder or all but ${someNames(weightLayers.filter((n) => !zooOp.has(n)))}`);
  }
  return { allLayers: true, convLayers: multiplicative, opLayers: fileOp };
}

/** Every conv/linear weight of the file is a power of two (DeepShift-Q's rounded weights, 5 bits). */
function looksRoundedToShifts(layout: FileLayout): boolean {
  const weights = [...layout.layers.values()].filter((l) => l.kind === "weight").map((l) => l.tensors.get("weight")!);
  return weights.length > 0 && weights.every((w) => isPowerOfTwoWeight(w.data, shiftRange("q", 5).min));
}

/** Whether the file's layer `name` is a layer of the op kind. */
function opLayerInFile(layout: FileLayout, name: string, op: string, options: ImportOptions): boolean {
  const layer = layout.layers.get(name);
  if (!layer) return false;
  if (op === "adder") return layer.kind === "adder";
  if (op === "shift-ps") return layer.kind === "shift-ps";
  const w = layer.tensors.get("weight");
  return layer.kind === "weight" && w !== undefined && isPowerOfTwoWeight(w.data, shiftRange("q", options.weightBits ?? 5).min);
}

interface Fitted {
  spec: ModelSpec;
  model: Module;
  weights: Map<string, StateTensor>;
}

/** The first sizes under which every tensor fits; else the differences under the most likely ones. */
function fitSizes(arch: string, op: string, allLayers: boolean, opOptions: Record<string, unknown>, layout: FileLayout, inputSize: number | undefined): Fitted {
  const base = resolveSpec({ model: arch });
  const names = [...tensorModules(build(base))].filter(([, m]) => isWeightLayer(m)).map(([n]) => n);
  // the first layer's input channels when it is a conv ([out, in, kh, kw]); the last layer's outputs are the classes
  const first = mainTensor(layout, names[0]);
  const channels = [...new Set([first?.shape.length === 4 ? first.shape[1]! : base.inChannels, base.inChannels, 1, 3])];
  const classes = mainTensor(layout, names[names.length - 1])?.shape[0] ?? base.numClasses;
  const sizes = inputSize !== undefined ? [inputSize] : [...new Set([base.inputSize, 28, 32])];
  let problem: string | null = null;
  for (const inChannels of channels) {
    for (const size of sizes) {
      const spec = resolveSpec({ model: arch, op, inChannels, inputSize: size, numClasses: classes, allLayers, opOptions });
      const model = build(spec);
      const fit = mapTensors(layout, model);
      if (!fit.problems.length) return { spec, model, weights: fit.weights };
      problem ??= `does not fit ${arch} (${op}, ${inChannels}×${size}×${size} input, ${classes} classes): ${fit.problems.join("; ")}`;
    }
  }
  const hint = inputSize === undefined ? ` (image sizes tried: ${sizes.join(", ")}; give --input-size for another)` : "";
  throw new Error(problem! + hint);
}

function mainTensor(layout: FileLayout, name: string | undefined): StateTensor | undefined {
  const t = name === undefined ? undefined : layout.layers.get(name)?.tensors;
  return t?.get("weight") ?? t?.get("adder") ?? t?.get("shift");
}

/**
 * The file's tensors under the model's state-dict keys, and what does not fit: keys the model
 * needs that the file lacks (named as the file would name them), keys it does not know, shapes.
 * A 1×1 conv weight [out, in, 1, 1] and a linear one [out, in] are taken for each other (the
 * official AdderNet code writes FC layers as 1×1 adders; ResNet classifiers are either).
 */
function mapTensors(layout: FileLayout, model: Module): { weights: Map<string, StateTensor>; problems: string[] } {
  const own = model.stateDict();
  const modules = tensorModules(model);
  const weights = new Map<string, StateTensor>();
  /** Model keys the file has, whatever their shape. */
  const found = new Set<string>();
  const unexpected = [...layout.unknown];
  const shapes: string[] = [];
  for (const [module, layer] of layout.layers) {
    for (const [name, t] of layer.tensors) {
      const key = `${module ? `${module}.` : ""}${mulfreeTensorName(layer.kind, name)}`;
      const target = own.get(key);
      const fileKey = `${layout.prefix}${module ? `${module}.` : ""}${name}`;
      if (!target || (layer.kind === "adder") !== modules.get(module) instanceof AdderLayer) {
        unexpected.push(fileKey);
        continue;
      }
      found.add(key);
      if (!sameShape(t.shape, target.shape)) shapes.push(`${printable(fileKey, 48)} has shape [${t.shape.join(", ")}], the model's is [${target.shape.join(", ")}]`);
      else weights.set(key, { shape: target.shape, data: t.data });
    }
  }
  const missing = [...own.keys()].filter((k) => !found.has(k)).map((k) => fileName(k, modules, layout.prefix));
  const problems = [];
  if (missing.length) problems.push(`missing ${someNames(missing)}`);
  if (unexpected.length) problems.push(`unexpected ${someNames(unexpected)}`);
  if (shapes.length) problems.push(shapes.slice(0, 2).join("; ") + (shapes.length > 2 ? `; ${shapes.length - 2} more shapes differ` : ""));
  return { weights, problems };
}

/** How the file would name the model's tensor `key` (adder layers: .adder and .b). */
function fileName(key: string, modules: Map<string, Module>, prefix: string): string {
  const dot = key.lastIndexOf(".");
  const module = key.slice(0, dot);
  const name = key.slice(dot + 1);
  const renamed = modules.get(module) instanceof AdderLayer ? (name === "weight" ? "adder" : name === "bias" ? "b" : name) : name;
  return `${prefix}${module}.${renamed}`;
}

function sameShape(file: readonly number[], model: readonly number[]): boolean {
  if (file.join(",") === model.join(",")) return true;
  const [longer, shorter] = file.length > model.length ? [file, model] : [model, file];
  return shorter.length === 2 && longer.length === 4 && longer[2] === 1 && longer[3] === 1 && longer[0] === shorter[0] && longer[1] === shorter[1];
}

/** NaN or infinite weights and negative variances are refused, as a checkpoint would refuse them. */
function checkValues(weights: Map<string, StateTensor>): void {
  for (const [key, t] of weights) {
    for (let i = 0; i < t.data.length; i++) {
      const v = t.data[i]!;
      if (!Number.isFinite(v)) throw new Error(`tensor ${key} holds ${v} at index ${i}`);
      if (v < 0 && key.endsWith(".running_var")) throw new Error(`tensor ${key} holds a negative variance ${v} at index ${i}`);
    }
  }
}

/** PS shifts below the range are clamped as the reference clamps them; say so, it may mean more weight bits. */
function noteClampedShifts(layout: FileLayout, spec: ModelSpec, notes: string[]): void {
  const { min } = shiftRange("ps", (spec.opOptions?.weightBits as number | undefined) ?? 5);
  let count = 0;
  for (const layer of layout.layers.values()) {
    const shift = layer.kind === "shift-ps" ? layer.tensors.get("shift") : undefined;
    if (shift) for (const p of shift.data) if (p < min - 0.5) count++;
  }
  if (count) notes.push(`${count} shift values below ${min} are clamped to ${min}, as DeepShift does at ${(spec.opOptions?.weightBits as number | undefined) ?? 5} bits (give --weight-bits if the model used more)`);
}
