// Which ONNX nodes each nn module becomes. A module without a mapping is refused by name, never
// skipped: a skipped module would make a graph that computes something else. Classes match
// exactly, so a subclass with its own forward is refused rather than exported as its parent.
import { Adder2d, AdderLinear } from "../nn/adder.js";
import { BatchNorm1d, BatchNorm2d } from "../nn/batchnorm.js";
import { Conv2d } from "../nn/conv.js";
import { AvgPool2d, Dropout, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU } from "../nn/layers.js";
import { Linear } from "../nn/linear.js";
import type { Module } from "../nn/module.js";
import { Conv2dShift, LinearShift } from "../nn/shift.js";
import { adderLayerNode } from "./adder_layers.js";
import { nodeName, type EmitContext, type LayerCall } from "./context.js";
import { OnnxExportError } from "./errors.js";
import { shiftLayerNodes } from "./shift_layers.js";
import { batchNormNode, convNode, flattenNode, gemmNode, poolNode } from "./standard_layers.js";

type Emit<T> = (ctx: EmitContext, call: LayerCall, m: T) => string;
const emitters = new Map<Function, Emit<never>>();
function on<T extends Module>(cls: new (...args: never[]) => T, emit: Emit<T>): void {
  emitters.set(cls, emit as Emit<never>);
}

on(Conv2d, (ctx, call, m) => convNode(ctx, call, call.input, m.geometry, m.weight.data, m.bias?.data ?? null));
on(Linear, (ctx, call, m) => gemmNode(ctx, call, call.input, m.outFeatures, m.weight.data, m.bias?.data ?? null));
on(Adder2d, adderLayerNode);
on(AdderLinear, adderLayerNode);
on(Conv2dShift, shiftLayerNodes);
on(LinearShift, shiftLayerNodes);
on(BatchNorm1d, batchNormNode);
on(BatchNorm2d, batchNormNode);
on(ReLU, (ctx, call) => ctx.graph.op("Relu", [call.input], { name: nodeName(call) }));
on(MaxPool2d, (ctx, call, m) => poolNode(ctx, call, "MaxPool", m.kernelSize, m.opts));
on(AvgPool2d, (ctx, call, m) => poolNode(ctx, call, "AveragePool", m.kernelSize, m.opts));
on(GlobalAvgPool2d, (ctx, call) => ctx.graph.op("GlobalAveragePool", [call.input], { name: nodeName(call) }));
on(Flatten, (ctx, call) => flattenNode(ctx, nodeName(call), call.input));
// ONNX Dropout in inference mode is the identity, as the module is in eval mode
on(Dropout, (ctx, call) => ctx.graph.op("Dropout", [call.input], { name: nodeName(call) }));

/** Emits the module's nodes and returns the name of its output value. */
export function moduleNodes(ctx: EmitContext, call: LayerCall): string {
  const emit = emitters.get(call.module.constructor);
  if (!emit) throw new OnnxExportError(`${call.name || "(root)"} (${call.module.constructor.name}): no ONNX mapping for this module`);
  return (emit as Emit<Module>)(ctx, call, call.module);
}
