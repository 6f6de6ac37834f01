// DeepShift layers (Conv2dShift, LinearShift; modes q and ps) as Conv / Gemm with their effective
// weights: every value exactly 0 or ±2^p, the ones the eval forward computes with. Their eval
// forward also quantises the input to fixed point (16.16 by default), and so must the graph:
// floor(x·2^F)/2^F clamped to the format's range. In float32 that is exact (scaling by 2^F and
// flooring are exact), so the ONNX values equal mulfree's bit for bit before the Conv. The bias is
// stored already quantised (effectiveBias()).
import { attr, floatTensor } from "../io/onnx/values.js";
import { Conv2dShift, type ShiftLayer } from "../nn/shift.js";
import { fixedPointRange } from "../tensor/ops/fixed_point.js";
import { nodeName, type EmitContext, type LayerCall } from "./context.js";
import { convNode, gemmNode } from "./standard_layers.js";

export function shiftLayerNodes(ctx: EmitContext, call: LayerCall, layer: ShiftLayer): string {
  const input = layer.activation ? fixedPointNodes(ctx, call, layer) : call.input;
  const weight = layer.effectiveWeight();
  const bias = layer.effectiveBias();
  if (layer instanceof Conv2dShift) return convNode(ctx, call, input, layer.geometry, weight, bias);
  return gemmNode(ctx, call, input, layer.weightShape[0]!, weight, bias);
}

/**
 * clamp(floor(x·2^F)/2^F, lo, hi). With activationUnsigned the layer picks the unsigned range
 * [0, 2^I − 1] when its whole input tensor is non-negative (a ReLU output), else the signed one;
 * the graph makes the same choice at run time (ReduceMin ≥ 0). Only the upper bound differs: an
 * all-non-negative input never reaches the signed lower bound.
 */
function fixedPointNodes(ctx: EmitContext, call: LayerCall, layer: ShiftLayer): string {
  const g = ctx.graph;
  const base = `${nodeName(call)}.input_fixed_point`;
  const f = layer.activation!;
  const scalar = (what: string, v: number) => g.constant(`${base}.${what}`, floatTensor([], [v]));
  const scale = scalar("scale", 2 ** f.fracBits);
  const scaled = g.op("Mul", [call.input, scale], { name: `${base}.scaled` });
  const floored = g.op("Floor", [scaled], { name: `${base}.floor` });
  const onGrid = g.op("Div", [floored, scale], { name: `${base}.on_grid` });
  const signed = fixedPointRange({ ...f, unsigned: false });
  const lo = scalar("lo", signed.lo);
  let hi = scalar("hi", signed.hi);
  if (layer.activationUnsigned) {
    const min = g.op("ReduceMin", [call.input], { name: `${base}.min`, attributes: [attr.int("keepdims", 0)] });
    const nonNegative = g.op("GreaterOrEqual", [min, scalar("zero", 0)], { name: `${base}.non_negative` });
    hi = g.op("Where", [nonNegative, scalar("hi_unsigned", fixedPointRange({ ...f, unsigned: true }).hi), hi], { name: `${base}.hi_chosen` });
  }
  return g.op("Clip", [onGrid, lo, hi], { name: base });
}
