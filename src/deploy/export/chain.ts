// The layer chain of a model, learned from one traced forward pass: which weight layers run in
// which order, with the BatchNorm and ReLU that fold into each, and the pools and flattens in
// between. The integer graph is a chain; anything else (a residual add, a functional op between
// modules, an unknown module) is refused with the module's name and the reason.
import { AdderLayer, AdderLinear } from "../../nn/adder.js";
import { BatchNorm1d, BatchNorm2d } from "../../nn/batchnorm.js";
import { Conv2d } from "../../nn/conv.js";
import { Dropout, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU } from "../../nn/layers.js";
import { Linear } from "../../nn/linear.js";
import type { Module } from "../../nn/module.js";
import { Conv2dShift, LinearShift, ShiftLayer } from "../../nn/shift.js";
import type { ModuleCall } from "../../nn/trace.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { Geometry, LayerKind } from "../run/format.js";

export class ExportError extends Error {}

export interface LayerStep {
  op: "layer";
  name: string;
  module: Module;
  kind: LayerKind;
  /** Geometry of one image's input ([C, H, W] after a flatten is C·H·W × 1 × 1). */
  geometry: Geometry;
  /** The layer follows a flatten of a [C, H, W] tensor: its weight columns need NHWC order. */
  flattenedFrom: [number, number, number] | null;
  bn: { name: string; module: BatchNorm1d | BatchNorm2d } | null;
  relu: boolean;
  /** Index (in the traced calls) of the call whose output is this step's quantization point. */
  outCall: number;
}

export type ChainStep =
  | LayerStep
  | { op: "maxpool"; name: string; kh: number; kw: number; stride: number }
  | { op: "avgpool"; name: string }
  | { op: "flatten" };

function sameValues(a: Tensor, b: Tensor): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  const x = a.data, y = b.data;
  if (x === y) return true;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
  return true;
}

function layerKind(m: Module): LayerKind | null {
  if (m instanceof Conv2d || m instanceof Linear) return "mul";
  if (m instanceof AdderLayer) return "adder";
  if (m instanceof ShiftLayer) return "shift";
  return null;
}

function geometryOf(name: string, m: Module, input: Tensor): Geometry {
  const isConv = m instanceof Conv2d || m instanceof Conv2dShift || (m instanceof AdderLayer && !(m instanceof AdderLinear));
  if (isConv) {
    if (input.ndim !== 4) throw new ExportError(`layer ${name}: a conv layer with a ${input.ndim}-D input`);
    const [, C, H, W] = input.shape;
    const g = (m as Conv2d).geometry;
    return [C, H, W, g.outChannels, g.kernelSize[0], g.kernelSize[1], g.stride[0], g.stride[1], g.padding[0], g.padding[1], g.dilation[0], g.dilation[1], g.groups];
  }
  const lin = m as Linear | AdderLinear | LinearShift;
  if (input.ndim !== 2) throw new ExportError(`layer ${name}: a linear layer with a ${input.ndim}-D input`);
  return [lin.inFeatures, 1, 1, lin.outFeatures, 1, 1, 1, 1, 0, 0, 1, 1, 1];
}

/** The chain of a traced forward pass; `input` is the tensor the model was called with. */
export function parseChain(calls: ModuleCall[], input: Tensor, output: Tensor): ChainStep[] {
  const steps: ChainStep[] = [];
  let prev = input;
  let pendingFlatten: [number, number, number] | null = null;
  let nonNegative = false; // the current tensor is a ReLU output (so another ReLU is the identity)
  const last = () => steps[steps.length - 1];
  calls.forEach((call, index) => {
    if (!call.leaf) return;
    const { name, module: m } = call;
    const label = `${name || "(root)"} (${m.constructor.name})`;
    // same values (a reshape such as flatten keeps them); anything else means a functional op or a branch
    if (!sameValues(call.input, prev)) {
      throw new ExportError(`${label}: its input is not the previous layer's output; only chains of layers can be exported (no residual connections or functional ops between modules)`);
    }
    if (prev.ndim === 4 && call.input.ndim === 2) {
      pendingFlatten = [prev.shape[1], prev.shape[2], prev.shape[3]];
      steps.push({ op: "flatten" });
    }
    const kind = layerKind(m);
    if (kind) {
      const geometry = geometryOf(name, m, call.input);
      steps.push({ op: "layer", name, module: m, kind, geometry, flattenedFrom: pendingFlatten, bn: null, relu: false, outCall: index });
      nonNegative = false;
    } else if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) {
      const step = last();
      if (step?.op !== "layer" || step.bn || step.relu) throw new ExportError(`${label}: BatchNorm must directly follow a weight layer to be folded`);
      step.bn = { name, module: m };
      step.outCall = index;
    } else if (m instanceof ReLU) {
      const step = last();
      if (step?.op === "layer" && !step.relu) {
        step.relu = true;
        step.outCall = index;
        nonNegative = true;
      } else if (!nonNegative) {
        throw new ExportError(`${label}: a ReLU that does not follow a weight layer (or its BatchNorm) cannot be fused`);
      }
    } else if (m instanceof MaxPool2d) {
      const o = m.opts;
      if ((o.padding ?? 0) !== 0 || o.ceilMode) throw new ExportError(`${label}: only max pooling without padding or ceil mode is supported`);
      steps.push({ op: "maxpool", name, kh: m.kernelSize, kw: m.kernelSize, stride: o.stride ?? m.kernelSize });
    } else if (m instanceof GlobalAvgPool2d) {
      steps.push({ op: "avgpool", name });
    } else if (m instanceof Flatten) {
      if (call.input.ndim === 4) {
        pendingFlatten = [call.input.shape[1], call.input.shape[2], call.input.shape[3]];
        steps.push({ op: "flatten" });
      }
    } else if (!(m instanceof Dropout)) {
      throw new ExportError(`${label}: no integer implementation for this module`);
    }
    if (kind) pendingFlatten = null; // the layer consumed it
    prev = call.output;
  });
  if (!sameValues(output, prev)) throw new ExportError("the model's output is not its last module's output (a functional op after the last layer?)");
  const end = last();
  if (end?.op !== "layer") throw new ExportError("the model must end in a weight layer (its logits)");
  if (end.relu) throw new ExportError(`${end.name}: the logits layer is followed by a ReLU; export expects raw logits`);
  return steps;
}
