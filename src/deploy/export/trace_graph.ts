// The integer graph of a float model, learned from one traced forward pass. Models are plain code,
// so the graph comes from what actually runs: every leaf module call (src/nn/trace.ts), and the
// functional steps between them, which autograd records on the tensors they make (the pass runs
// with gradients on): a reshape is a flatten, an add is a residual add. From these it builds steps
// in the order they run, each reading earlier steps (a DAG, so ResNets are graphs too):
//   - a weight layer (conv, linear, adder, shift) takes the BatchNorm and the ReLU that directly
//     follow it, folded into its requantization;
//   - a residual add takes the ReLU that directly follows it;
//   - pools and flattens stay steps of their own; dropout and a ReLU of a value that is never
//     negative are the identity;
//   - a flatten of a C×1×1 tensor moves nothing (NCHW and NHWC agree), so it is no step: the
//     classifier after a global pool, or the .view() after a 1×1 conv classifier, reads its input.
// Anything else (an unknown module, another functional op, a value used both before and after the
// BatchNorm that would fold into its layer) is refused with the module's name and the reason.
// Each step that quantizes its output records where the calibration pass can observe that output
// (a probe: a module call's input or output, the same in every pass).
import { AdderLayer, AdderLinear } from "../../nn/adder.js";
import { BatchNorm1d, BatchNorm2d } from "../../nn/batchnorm.js";
import { Conv2d } from "../../nn/conv.js";
import { AvgPool2d, Dropout, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU } from "../../nn/layers.js";
import { Linear } from "../../nn/linear.js";
import type { Module } from "../../nn/module.js";
import { Conv2dShift, LinearShift, ShiftLayer } from "../../nn/shift.js";
import { traceModules, type ModuleCall } from "../../nn/trace.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { Geometry, LayerKind } from "../run/format.js";
import { ExportError } from "./errors.js";

/** Where a value can be observed in a traced pass: the input or the output of module call `call`. */
export interface Probe {
  call: number;
  side: "input" | "output";
}

/** The network's input, as a `from`. */
export const NETWORK_INPUT = -1;

export interface LayerStep {
  op: "layer";
  /** The step it reads (NETWORK_INPUT for the network's input). */
  from: number;
  name: string;
  module: Module;
  kind: LayerKind;
  /** Geometry of one image's input (after a flatten, a C·H·W × 1 × 1 input). */
  geometry: Geometry;
  /** It reads a flatten of a [C, H, W] tensor: its weight columns need NHWC order. */
  flattenedFrom: [number, number, number] | null;
  bn: { name: string; module: BatchNorm1d | BatchNorm2d } | null;
  relu: boolean;
  /** Where its output (after BatchNorm and ReLU) shows. */
  probe: Probe;
}

export interface AddStep {
  op: "add";
  from: [number, number];
  relu: boolean;
  probe: Probe;
}

export type GraphStep =
  | LayerStep
  | AddStep
  | { op: "maxpool"; from: number; kh: number; kw: number; stride: number }
  | { op: "avgpool"; from: number; window: { kh: number; kw: number; stride: number } | null; name: string }
  | { op: "flatten"; from: number; shape: [number, number, number] };

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
    const [, C, H, W] = input.shape as [number, number, number, number];
    const g = (m as Conv2d).geometry;
    return [C, H, W, g.outChannels, g.kernelSize[0], g.kernelSize[1], g.stride[0], g.stride[1], g.padding[0], g.padding[1], g.dilation[0], g.dilation[1], g.groups];
  }
  const lin = m as Linear | AdderLinear | LinearShift;
  if (input.ndim !== 2) throw new ExportError(`layer ${name}: a linear layer with a ${input.ndim}-D input`);
  return [lin.inFeatures, 1, 1, lin.outFeatures, 1, 1, 1, 1, 0, 0, 1, 1, 1];
}

/**
 * The steps of `model` on `x` (one batch, eval mode, gradients recorded: x.requiresGrad). The
 * last step is the logits layer.
 */
export function traceGraph(model: Module, x: Tensor): GraphStep[] {
  const { output, calls } = traceModules(model, x);
  const builder = new GraphBuilder(x);
  calls.forEach((call, index) => {
    if (call.leaf) builder.call(call, index);
  });
  return builder.finish(output);
}

class GraphBuilder {
  readonly steps: GraphStep[] = [];
  /** The step whose output each tensor is (a tensor a fold made obsolete is in `folded` instead). */
  private readonly producer = new Map<Tensor, number>();
  private readonly folded = new Map<Tensor, string>();
  /** How many steps read each step. */
  private readonly readers = new Map<number, number>();

  constructor(input: Tensor) {
    this.producer.set(input, NETWORK_INPUT);
  }

  call(call: ModuleCall, index: number): void {
    const { name, module: m } = call;
    const label = `${name || "(root)"} (${m.constructor.name})`;
    const src = this.resolve(call.input, label, { call: index, side: "input" });
    const kind = layerKind(m);
    const output: Probe = { call: index, side: "output" };
    if (kind) {
      const from = this.steps[src];
      const flattenedFrom = from?.op === "flatten" && from.shape[1] * from.shape[2] > 1 ? from.shape : null;
      this.produce(call.output, { op: "layer", from: src, name, module: m, kind, geometry: geometryOf(name, m, call.input), flattenedFrom, bn: null, relu: false, probe: output });
    } else if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) {
      const step = this.steps[src];
      if (step?.op !== "layer" || step.bn || step.relu || this.readers.has(src)) throw new ExportError(`${label}: BatchNorm must directly follow a weight layer whose output nothing else reads, to be folded into it`);
      step.bn = { name, module: m };
      this.fold(call, src, `the output of ${step.name} before its BatchNorm`, output);
    } else if (m instanceof ReLU) {
      const step = this.steps[src];
      if ((step?.op === "layer" || step?.op === "add") && !step.relu && !this.readers.has(src)) {
        step.relu = true;
        this.fold(call, src, `the value before ${label}`, output);
      } else if (this.nonNegative(src)) {
        this.producer.set(call.output, src);
      } else {
        throw new ExportError(`${label}: a ReLU that does not follow a weight layer (or its BatchNorm) or a residual add cannot be fused`);
      }
    } else if (m instanceof MaxPool2d || m instanceof AvgPool2d) {
      const o = m.opts;
      if ((o.padding ?? 0) !== 0 || o.ceilMode) throw new ExportError(`${label}: only pooling without padding or ceil mode is supported`);
      const window = { kh: m.kernelSize, kw: m.kernelSize, stride: o.stride ?? m.kernelSize };
      const [, , H, W] = call.input.shape as number[];
      if (m instanceof MaxPool2d) this.produce(call.output, { op: "maxpool", from: src, ...window });
      else this.produce(call.output, { op: "avgpool", from: src, window: window.kh === H && window.kw === W ? null : window, name });
    } else if (m instanceof GlobalAvgPool2d) {
      this.produce(call.output, { op: "avgpool", from: src, window: null, name });
    } else if (m instanceof Flatten) {
      this.producer.set(call.output, this.flatten(src, call.input, label));
    } else if (m instanceof Dropout) {
      this.producer.set(call.output, src);
    } else {
      throw new ExportError(`${label}: no integer implementation for this module`);
    }
  }

  /** The steps, checked: they end in the logits layer, which is the model's output, and every other step is read. */
  finish(output: Tensor): GraphStep[] {
    const end = this.resolve(output, "the model's output", { call: -1, side: "output" });
    const last = this.steps[end];
    if (last?.op !== "layer" || end !== this.steps.length - 1) throw new ExportError("the model must end in a weight layer (its logits)");
    if (last.relu) throw new ExportError(`${last.name}: the logits layer is followed by a ReLU; export expects raw logits`);
    const unread = this.steps.findIndex((_, i) => i !== end && !this.readers.has(i));
    if (unread >= 0) throw new ExportError(`${this.describe(unread)}: its output is never used`);
    return this.steps;
  }

  /** The step whose output `t` is; functional steps (reshape, add) become steps here. */
  private resolve(t: Tensor, where: string, probe: Probe): number {
    const known = this.producer.get(t);
    if (known !== undefined) return known;
    const gone = this.folded.get(t);
    if (gone) throw new ExportError(`${where}: reads ${gone}, which export folds away`);
    const node = t.node;
    if (node?.name === "reshape") {
      const src = this.resolve(node.inputs[0]!, where, probe);
      const step = this.flatten(src, node.inputs[0]!, where);
      this.producer.set(t, step);
      return step;
    }
    if (node?.name === "add") {
      const a = this.resolve(node.inputs[0]!, where, probe), b = this.resolve(node.inputs[1]!, where, probe);
      return this.produce(t, { op: "add", from: [a, b], relu: false, probe });
    }
    const what = node ? `a functional '${node.name}' between modules` : "no module of the model";
    throw new ExportError(`${where}: its input comes from ${what}, which has no integer implementation (export supports modules, reshapes and residual adds)`);
  }

  /** A flatten of `input` (the output of step src): a step if it reorders values, else src itself. */
  private flatten(src: number, input: Tensor, where: string): number {
    if (input.ndim === 2) return src;
    if (input.ndim !== 4) throw new ExportError(`${where}: a reshape of a ${input.ndim}-D tensor`);
    const [, C, H, W] = input.shape as [number, number, number, number];
    if (H * W === 1) return src;
    return this.addStep({ op: "flatten", from: src, shape: [C, H, W] });
  }

  private produce(t: Tensor, step: GraphStep): number {
    const index = this.addStep(step);
    this.producer.set(t, index);
    return index;
  }

  private addStep(step: GraphStep): number {
    for (const f of typeof step.from === "number" ? [step.from] : step.from) this.readers.set(f, (this.readers.get(f) ?? 0) + 1);
    this.steps.push(step);
    return this.steps.length - 1;
  }

  /** A BatchNorm or ReLU call folded into step src: its input is gone, its output is the step's. */
  private fold(call: ModuleCall, src: number, what: string, probe: Probe): void {
    this.producer.delete(call.input);
    this.folded.set(call.input, what);
    this.producer.set(call.output, src);
    (this.steps[src] as LayerStep | AddStep).probe = probe;
  }

  private nonNegative(i: number): boolean {
    if (i === NETWORK_INPUT) return false;
    const step = this.steps[i]!;
    if (step.op === "layer" || step.op === "add") return step.relu;
    return this.nonNegative(step.from);
  }

  private describe(i: number): string {
    const step = this.steps[i]!;
    return step.op === "layer" ? `layer ${step.name}` : `a ${step.op} step`;
  }
}
