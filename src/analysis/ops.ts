// Operation counts of the float graph a model really runs at inference, for one image: trace one
// eval-mode forward pass (src/nn/trace.ts) and count every leaf module call, plus the steps
// around the model (input normalisation, softmax). Counting conventions (docs/ops.md):
// - a weight layer counts every tap, padded taps included (the kernels compute them), and one
//   accumulating add per tap, as the AdderNet paper does (#Add of a CNN = #Mul);
// - an adder tap is one subtraction x − w plus its accumulation; |·| and the final minus are
//   free (a sign-bit clear and a sign flip), so #Add = 2 × the CNN's #Mul, the paper's count;
// - a shift tap is one shift plus an add or a subtract (the sign flip folds into it), on the
//   layer's fixed-point activations (DeepShift's kernel arithmetic);
// - BatchNorm as the eval kernel computes it: (x − mean)·a + b per element, and a = γ/√(var + ε)
//   per channel on every forward pass.
import type { ModelSpec } from "../models/zoo.js";
import { Adder2d, AdderLayer, AdderLinear } from "../nn/adder.js";
import { BatchNorm1d, BatchNorm2d } from "../nn/batchnorm.js";
import { Conv2d, type ConvGeometry } from "../nn/conv.js";
import { AvgPool2d, Dropout, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU } from "../nn/layers.js";
import { Linear } from "../nn/linear.js";
import type { Module } from "../nn/module.js";
import { Conv2dShift, LinearShift, ShiftLayer } from "../nn/shift.js";
import { traceModules, type ModuleCall } from "../nn/trace.js";
import { noGrad } from "../tensor/autograd.js";
import { scope } from "../tensor/storage.js";
import { Tensor } from "../tensor/tensor.js";
import type { OpType } from "./energy.js";
import { buildReport, layerRow, uniqueNamer, type LayerOps, type OpCount, type OpsReport } from "./op_counts.js";

const F = "fp32" as const;

/** Input normalisation (x − mean)/std of the data loader, as one multiply-add per pixel. */
export function inputRow(pixels: number): LayerOps {
  return layerRow("input", "normalise", `${pixels} pixels, (x − mean)·(1/std)`, [
    { kind: "add", type: F, count: pixels, what: "x − mean" },
    { kind: "mul", type: F, count: pixels, what: "× 1/std" },
  ]);
}

/** Softmax over the logits (the largest logit is also the argmax). */
export function softmaxRow(classes: number): LayerOps {
  return layerRow("softmax", "softmax", `${classes} classes; its max is the argmax`, [
    { kind: "cmp", type: F, count: classes - 1, what: "max (argmax)" },
    { kind: "add", type: F, count: classes, what: "x − max" },
    { kind: "exp", type: F, count: classes, what: "exp" },
    { kind: "add", type: F, count: classes - 1, what: "Σ exp" },
    { kind: "div", type: F, count: classes, what: "exp / Σ" },
  ]);
}

function floatBytes(m: Module): number {
  if (m instanceof ShiftLayer) return 4 * (m.effectiveWeight().length + (m.bias?.size ?? 0));
  let n = 0;
  for (const [, t] of m.stateDict()) n += t.size;
  return 4 * n;
}

/** Geometry of a conv-shaped layer, null for a linear one. */
function convGeometryOf(m: Module): ConvGeometry | null {
  if (m instanceof Conv2d || m instanceof Adder2d || m instanceof Conv2dShift) return m.geometry;
  return null;
}

/** Taps per output (padded ones included) of a conv-shaped or linear layer. */
function tapsPerOutput(m: Module): number {
  const g = convGeometryOf(m);
  if (g) return (g.inChannels / g.groups) * g.kernelSize[0] * g.kernelSize[1];
  if (m instanceof Linear || m instanceof AdderLinear || m instanceof LinearShift) return m.inFeatures;
  throw new Error(`ops: ${m.constructor.name} is not a weight layer`);
}

function describeWeightLayer(m: Module, c: ModuleCall, taps: number): string {
  const g = convGeometryOf(m);
  if (!g) return `${c.input.shape[1]}→${c.output.shape[1]}`;
  const groups = g.groups > 1 ? `, groups ${g.groups}` : "";
  return `${g.inChannels}→${g.outChannels} ${g.kernelSize.join("×")}${groups}, out ${c.output.shape.slice(1).join("×")}, ${taps} taps/out`;
}

/** The integer type that holds a shift layer's fixed-point activations. */
function fixedPointType(m: ShiftLayer): OpType {
  const bits = m.activation!.intBits + m.activation!.fracBits;
  return bits <= 8 ? "int8" : bits <= 16 ? "int16" : bits <= 32 ? "int32" : "int64";
}

function weightLayerOps(m: Module, c: ModuleCall): { op: string; ops: OpCount[]; taps: number } {
  const outputs = c.output.size;
  const taps = tapsPerOutput(m);
  const n = outputs * taps;
  const bias = (m as { bias?: { size: number } | null }).bias ? outputs : 0;
  if (m instanceof AdderLayer) {
    return {
      op: "adder",
      taps,
      ops: [
        { kind: "add", type: F, count: n, what: "x − w (|·| free)" },
        { kind: "add", type: F, count: n, what: "accumulate" },
        { kind: "add", type: F, count: bias, what: "bias" },
      ],
    };
  }
  if (m instanceof ShiftLayer) {
    if (!m.activation) {
      // float activations: scaling by 2^p adds p to the exponent
      return {
        op: "shift",
        taps,
        ops: [
          { kind: "shift", type: F, count: n, what: "x·2^p (exponent add)" },
          { kind: "add", type: F, count: n, what: "± accumulate (sign flip folded in)" },
          { kind: "add", type: F, count: bias, what: "bias" },
        ],
      };
    }
    const t = fixedPointType(m);
    return {
      op: "shift",
      taps,
      ops: [
        { kind: "shift", type: F, count: c.input.size, what: "input to fixed point (×2^F)" },
        { kind: "cmp", type: F, count: 2 * c.input.size, what: "fixed-point clamp" },
        { kind: "shift", type: t, count: n, what: "x >> −p" },
        { kind: "add", type: t, count: n, what: "± accumulate (sign flip folded in)" },
        { kind: "add", type: t, count: bias, what: "bias" },
        { kind: "shift", type: F, count: outputs, what: "fixed point to float (×2^−F)" },
      ],
    };
  }
  return {
    op: m instanceof Conv2d ? "conv" : "linear",
    taps,
    ops: [
      { kind: "mul", type: F, count: n, what: "x·w" },
      { kind: "add", type: F, count: n, what: "accumulate" },
      { kind: "add", type: F, count: bias, what: "bias" },
    ],
  };
}

function isWeightLayer(m: Module): boolean {
  return m instanceof Conv2d || m instanceof Linear || m instanceof AdderLayer || m instanceof ShiftLayer;
}

/** One row per leaf call; null for calls that do no arithmetic (dropout at eval, flatten). */
function leafRow(c: ModuleCall, name: string): LayerOps | null {
  const m = c.module;
  const out = c.output.size;
  if (isWeightLayer(m)) {
    const { op, ops, taps } = weightLayerOps(m, c);
    return layerRow(name, op, describeWeightLayer(m, c, taps), ops, floatBytes(m));
  }
  if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) {
    const C = m.numFeatures;
    return layerRow(name, "batchnorm", `${C} channels, ${out} values`, [
      { kind: "add", type: F, count: out, what: "x − mean" },
      { kind: "mul", type: F, count: out, what: "× γ/√(var+ε)" },
      { kind: "add", type: F, count: out, what: "+ β" },
      { kind: "add", type: F, count: C, what: "var + ε (per channel)" },
      { kind: "sqrt", type: F, count: C, what: "√ (per channel)" },
      { kind: "div", type: F, count: C, what: "γ / √ (per channel)" },
    ], floatBytes(m));
  }
  if (m instanceof ReLU) return layerRow(name, "relu", `${out} values`, [{ kind: "cmp", type: F, count: out, what: "max(x, 0)" }]);
  if (m instanceof MaxPool2d) {
    const k = m.kernelSize;
    return layerRow(name, "maxpool", `${k}×${k}, out ${c.output.shape.slice(1).join("×")}`, [{ kind: "cmp", type: F, count: out * (k * k - 1), what: "window max" }]);
  }
  if (m instanceof AvgPool2d) {
    const k = m.kernelSize;
    return layerRow(name, "avgpool", `${k}×${k}, out ${c.output.shape.slice(1).join("×")}`, [
      { kind: "add", type: F, count: out * (k * k - 1), what: "window sum" },
      { kind: "mul", type: F, count: out, what: "× 1/k²" },
    ]);
  }
  if (m instanceof GlobalAvgPool2d) {
    const [, C, H, W] = c.input.shape;
    return layerRow(name, "avgpool", `global ${H}×${W}, ${C} channels`, [
      { kind: "add", type: F, count: C * (H * W - 1), what: "sum over H·W" },
      { kind: "mul", type: F, count: C, what: "× 1/(H·W)" },
    ]);
  }
  if (m instanceof Dropout || m instanceof Flatten) return null;
  throw new Error(`ops: no counting rule for '${name}' (${m.constructor.name}); supported: conv, linear, adder, shift, BatchNorm, ReLU, pooling, dropout, flatten`);
}

/**
 * A tensor no module call produced was made by the model's own code between calls: a reshape
 * (same size, other shape: free) or an elementwise op on same-shaped tensors — in the zoo,
 * always a residual add. Anything else cannot be counted, so it is an error.
 */
function functionalRow(t: Tensor, previous: Tensor | undefined, where: string, name: string): LayerOps | null {
  if (!previous || previous.size !== t.size) throw new Error(`ops: cannot tell which operation produced the input of ${where}`);
  const sameShape = previous.shape.length === t.shape.length && previous.shape.every((d, i) => d === t.shape[i]);
  if (!sameShape) return null; // flatten / reshape
  return layerRow(name, "residual add", `${t.size} values`, [{ kind: "add", type: F, count: t.size, what: "x + shortcut" }]);
}

/** Count one image's float inference of `model` (eval mode is set and restored). */
export function countFloatOps(model: Module, spec: ModelSpec): OpsReport {
  const wasTraining = model.training;
  model.eval();
  try {
    return scope(() => noGrad(() => {
      const x = Tensor.zeros([1, spec.inChannels, spec.inputSize, spec.inputSize]);
      const { output, calls } = traceModules(model, x);
      const rows: LayerOps[] = [inputRow(x.size)];
      const produced = new Set<Tensor>([x]);
      const unique = uniqueNamer();
      let last: Tensor | undefined = x;
      const open: string[] = []; // open[d]: the latest non-leaf call at depth d
      for (const c of calls) {
        if (!c.leaf) {
          open[c.depth] = c.name;
          continue;
        }
        const parent = c.depth > 0 ? open[c.depth - 1] : "";
        if (!produced.has(c.input)) {
          const r = functionalRow(c.input, last, c.name || "the model", unique(parent ? `${parent}.add` : "add"));
          if (r) rows.push(r);
          produced.add(c.input);
        }
        const r = leafRow(c, unique(c.name));
        if (r) rows.push(r);
        produced.add(c.output);
        last = c.output;
      }
      if (!produced.has(output)) {
        const r = functionalRow(output, last, "the model output", unique("add"));
        if (r) rows.push(r);
      }
      rows.push(softmaxRow(output.shape[1]));
      return buildReport("float", spec.model, spec.op, rows, [
        "float graph: what the float model computes at inference (eval mode), one image",
        "weight layers count every tap (padding included) and one accumulating add per tap, as the AdderNet paper counts",
        "adder |x − w| = one subtraction (|·| free) + one accumulation; shift = one shift + one add/sub (sign folded in)",
      ]);
    }));
  } finally {
    if (wasTraining) model.train();
  }
}
