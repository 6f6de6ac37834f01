// The op kinds 'shift-q' and 'shift-ps' (DeepShift) and what training needs for them:
// - spec.opOptions: weightBits, rounding, activationBits ([I, F] or null), activationUnsigned, and
//   convLayers, the dotted names of weight layers kept multiplicative (a converted, mixed model);
// - PS: the shift and sign parameters form their own optimizer groups with weight decay 0, and
//   the loss gains wd·½·Σ(2^P)² over the unrounded P instead (reference §5).
// (This file imports the trainer's registries: op kinds own their training rules.)
import { Conv2d } from "../nn/conv.js";
import { Linear } from "../nn/linear.js";
import { preview, printable } from "../io/json.js";
import type { Module } from "../nn/module.js";
import { Conv2dShift, LinearShift, ShiftLayer, resolveShiftOptions, type ShiftMode, type ShiftOptions } from "../nn/shift.js";
import type { OptimParam } from "../optim/index.js";
import { shiftPenalty } from "../kernels/shift_round.js";
import { registerParamGrouping, registerTrainingSetup } from "./training_hooks.js";
import { registerOpKind, type LayerFactory } from "./layer_factory.js";
import { setSubmodule } from "./set_submodule.js";

export const SHIFT_OPS: Record<string, ShiftMode> = { "shift-q": "q", "shift-ps": "ps" };
const OPTION_KEYS = ["weightBits", "rounding", "activationBits", "activationUnsigned", "init", "convLayers"];

/** The layer options and the multiplicative layers of a shift op's spec.opOptions, validated. */
export function shiftOpOptions(op: string, options: Record<string, unknown>): { layer: ShiftOptions; convLayers: string[] } {
  const mode = SHIFT_OPS[op];
  if (!mode) throw new Error(`'${op}' is not a shift op (valid: ${Object.keys(SHIFT_OPS).join(", ")})`);
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new Error(`unknown option '${printable(key)}' for op ${op} (valid: ${OPTION_KEYS.join(", ")})`);
  }
  const convLayers = options.convLayers ?? [];
  if (!Array.isArray(convLayers) || !convLayers.every((n) => typeof n === "string")) {
    throw new Error(`option convLayers of op ${op} must be a list of layer names, got ${preview(convLayers)}`);
  }
  const layer = resolveShiftOptions({
    mode,
    weightBits: options.weightBits as number | undefined,
    rounding: options.rounding as ShiftOptions["rounding"],
    activationBits: options.activationBits as ShiftOptions["activationBits"],
    activationUnsigned: options.activationUnsigned as boolean | undefined,
    init: options.init as ShiftOptions["init"],
  });
  return { layer, convLayers: convLayers as string[] };
}

/** A multiplicative layer with the shape, geometry and bias of `layer`. */
function multiplicativeTwin(layer: ShiftLayer): Module {
  const bias = layer.bias !== null;
  if (layer instanceof Conv2dShift) {
    const g = layer.geometry;
    return new Conv2d(g.inChannels, g.outChannels, g.kernelSize, { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups, bias });
  }
  if (layer instanceof LinearShift) return new Linear(layer.inFeatures, layer.outFeatures, { bias });
  throw new Error(`no multiplicative twin for ${layer.constructor.name}`);
}

/** Replace the named shift layers by ordinary Conv2d/Linear layers (the model becomes mixed). */
export function keepMultiplicative(model: Module, names: readonly string[]): void {
  const modules = new Map(model.namedModules());
  for (const name of names) {
    const layer = modules.get(name);
    if (!(layer instanceof ShiftLayer)) {
      const shiftNames = [...modules].filter(([, m]) => m instanceof ShiftLayer).map(([n]) => n);
      throw new Error(`convLayers: '${name}' is not a shift layer of this model (shift layers: ${shiftNames.join(", ")})`);
    }
    setSubmodule(model, name, multiplicativeTwin(layer));
  }
}

function shiftLayers(op: string, options: Record<string, unknown>): LayerFactory {
  const { layer, convLayers } = shiftOpOptions(op, options);
  return {
    conv: (i, o, k, cfg) => new Conv2dShift(i, o, k, { ...cfg, ...layer }),
    linear: (i, o, opts) => new LinearShift(i, o, { ...opts, ...layer }),
    ...(convLayers.length ? { afterBuild: (model: Module) => keepMultiplicative(model, convLayers) } : {}),
  };
}

for (const op of Object.keys(SHIFT_OPS)) registerOpKind(op, (options) => shiftLayers(op, options));

/** Every shift layer of a model with its dotted name. */
export function shiftLayersOf(model: Module): Array<[string, ShiftLayer]> {
  return model.namedModules().filter((e): e is [string, ShiftLayer] => e[1] instanceof ShiftLayer);
}

function psLayers(model: Module): ShiftLayer[] {
  return shiftLayersOf(model).map(([, l]) => l).filter((l) => l.mode === "ps");
}

/**
 * Gradient of wd·½·Σ(2^P)², i.e. wd·2^(2P)·ln 2, added to the raw gradient of P: on the wasm
 * kernel (2^P to about 2·10⁻⁷ relative) when the arrays live in kernel memory, else the loop below.
 */
export function shiftPenaltyHook(weightDecay: number): (grad: Float32Array, param: OptimParam) => void {
  const scale = weightDecay * Math.LN2;
  const twoLn2 = 2 * Math.LN2;
  return (grad, param) => {
    const P = param.data;
    if (shiftPenalty(grad, P, scale)) return;
    for (let i = 0; i < grad.length; i++) grad[i] += scale * Math.exp(twoLn2 * P[i]); // 2^(2P), and exp is much faster than **
  };
}

// PS: groups as the reference's cifar10.py / imagenet.py: everything else, then sign, then shift.
registerParamGrouping((model) => {
  const ps = psLayers(model);
  if (!ps.length) return null;
  const sign = ps.map((l) => l.sign!);
  const shift = ps.map((l) => l.shift!);
  const own = new Set([...sign, ...shift]);
  const other = model.parameters().filter((p) => !own.has(p));
  const groups = [
    { params: other, name: "other" },
    { params: sign, name: "sign", weightDecay: 0 },
    { params: shift, name: "shift", weightDecay: 0 },
  ];
  return groups.filter((g) => g.params.length > 0);
});

registerTrainingSetup((model, optimizer, config) => {
  if (!(config.weightDecay > 0)) return;
  const hook = shiftPenaltyHook(config.weightDecay);
  for (const layer of psLayers(model)) optimizer.registerGradHook(layer.shift!, hook);
});
