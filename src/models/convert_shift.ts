// Conversion of a trained multiplicative model into a DeepShift model (the reference's convert.py),
// as the starting point of fine-tuning. The result is a mixed model described entirely by its
// spec: op 'shift-q' or 'shift-ps', allLayers true, and opOptions.convLayers naming the weight
// layers that stay multiplicative, so createModel(spec) rebuilds it deterministically.
//
// Depth counts from the INPUT end (pitfall 2: the reference counts from the output end while its
// README says "from the start"): --shift-depth N converts the first N weight layers in module
// order, which is input-to-output order in every zoo model (a residual block's shortcut
// projection comes after the block's second conv).
import { Conv2d } from "../nn/conv.js";
import { Linear } from "../nn/linear.js";
import type { Module } from "../nn/module.js";
import { ShiftLayer, type Rounding } from "../nn/shift.js";
import { SHIFT_OPS } from "./shift_op.js";
import { createModel, resolveSpec, type ModelSpec } from "./zoo.js";

export interface ShiftConversion {
  to: string;
  weightBits?: number;
  /** Convert the first N weight layers counted from the input (default: all). */
  shiftDepth?: number;
  /** Keep the first and the last weight layer multiplicative. */
  keepFirstLast?: boolean;
  rounding?: Rounding;
  activationBits?: [number, number] | null;
  activationUnsigned?: boolean;
}

export interface ConvertedModel {
  spec: ModelSpec;
  model: Module;
  /** Dotted names of the layers that became shift layers, from the input end. */
  shifted: string[];
  /** Dotted names of the weight layers that stayed multiplicative. */
  kept: string[];
}

/** Conv2d and Linear layers in module order, with their dotted names. */
export function multiplyLayersOf(model: Module): Array<[string, Conv2d | Linear]> {
  return model.namedModules().filter((e): e is [string, Conv2d | Linear] => e[1] instanceof Conv2d || e[1] instanceof Linear);
}

export function convertToShift(source: { spec: ModelSpec; weights: Map<string, { shape: readonly number[]; data: Float32Array }> }, o: ShiftConversion): ConvertedModel {
  if (source.spec.op !== "conv") {
    throw new Error(`this model has op ${source.spec.op}; convert takes a conv model (a checkpoint of mulfree train --op conv)`);
  }
  if (!SHIFT_OPS[o.to]) throw new Error(`cannot convert to '${o.to}'; valid: ${Object.keys(SHIFT_OPS).join(", ")}`);
  if (o.shiftDepth !== undefined && (!Number.isInteger(o.shiftDepth) || o.shiftDepth < 1)) {
    throw new Error(`shift depth must be a positive integer, got ${o.shiftDepth}`);
  }
  const original = createModel(source.spec);
  original.loadStateDict(source.weights);
  const layers = multiplyLayersOf(original);
  const candidates = o.keepFirstLast ? layers.slice(1, -1) : layers;
  if (candidates.length === 0) throw new Error(`${source.spec.model} has ${layers.length} weight layers: none is left to convert`);
  const shifted = candidates.slice(0, o.shiftDepth ?? candidates.length).map(([name]) => name);
  const kept = layers.map(([name]) => name).filter((name) => !shifted.includes(name));

  const opOptions: Record<string, unknown> = { weightBits: o.weightBits ?? 5 };
  if (o.rounding !== undefined) opOptions.rounding = o.rounding;
  if (o.activationBits !== undefined) opOptions.activationBits = o.activationBits;
  if (o.activationUnsigned) opOptions.activationUnsigned = true;
  if (kept.length) opOptions.convLayers = kept;
  const spec = resolveSpec({ ...source.spec, op: o.to, allLayers: true, opOptions });
  const model = createModel(spec);

  // Tensors that keep their names (BatchNorm, kept layers) are copied; shift layers start from the float weights.
  const own = model.stateDict();
  for (const [key, t] of original.stateDict()) {
    const target = own.get(key);
    if (target && target.shape.join(",") === t.shape.join(",")) target.data.set(t.data);
  }
  const modules = new Map(model.namedModules());
  const originals = new Map(layers);
  for (const name of shifted) {
    const layer = modules.get(name);
    const from = originals.get(name)!;
    if (!(layer instanceof ShiftLayer)) throw new Error(`internal: '${name}' did not become a shift layer`);
    layer.initFromFloat(from.weight.data, from.bias ? from.bias.data : null);
  }
  return { spec, model, shifted, kept };
}
