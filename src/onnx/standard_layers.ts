// The modules that have a standard ONNX operator: Conv2d → Conv, Linear → Gemm, BatchNorm →
// BatchNormalization (running statistics), ReLU, pools, Flatten, Dropout (identity at inference).
// Weights become initializers named like the state dict ("conv1.weight").
import { attr, floatTensor } from "../io/onnx/values.js";
import type { BatchNormBase } from "../nn/batchnorm.js";
import type { ConvGeometry } from "../nn/conv.js";
import type { Pool2dOptions } from "../tensor/ops/pool.js";
import { nodeName, type EmitContext, type LayerCall } from "./context.js";
import { OnnxExportError } from "./errors.js";

/** Conv with the layer's geometry; `weight` is OIHW like the module's. */
export function convNode(ctx: EmitContext, call: LayerCall, input: string, g: ConvGeometry, weight: Float32Array, bias: Float32Array | null): string {
  const name = nodeName(call);
  const w = ctx.graph.constant(`${name}.weight`, floatTensor([g.outChannels, g.inChannels / g.groups, ...g.kernelSize], weight));
  const inputs = [input, w];
  if (bias) inputs.push(ctx.graph.constant(`${name}.bias`, floatTensor([g.outChannels], bias)));
  return ctx.graph.op("Conv", inputs, { name, attributes: convAttributes(g) });
}

export function convAttributes(g: ConvGeometry): ReturnType<typeof attr.ints>[] {
  return [
    attr.ints("kernel_shape", g.kernelSize),
    attr.ints("strides", g.stride),
    attr.ints("pads", [...g.padding, ...g.padding]),
    attr.ints("dilations", g.dilation),
    attr.int("group", g.groups),
  ];
}

/** Gemm y = x·Wᵀ + b; `weight` is [out, in] like the module's. */
export function gemmNode(ctx: EmitContext, call: LayerCall, input: string, outFeatures: number, weight: Float32Array, bias: Float32Array | null): string {
  const name = nodeName(call);
  if (call.inputShape.length !== 2) throw new OnnxExportError(`${name}: a linear layer on a ${call.inputShape.length}-D input`);
  const w = ctx.graph.constant(`${name}.weight`, floatTensor([outFeatures, call.inputShape[1]!], weight));
  const inputs = [input, w];
  if (bias) inputs.push(ctx.graph.constant(`${name}.bias`, floatTensor([outFeatures], bias)));
  return ctx.graph.op("Gemm", inputs, { name, attributes: [attr.int("transB", 1)] });
}

export function batchNormNode(ctx: EmitContext, call: LayerCall, bn: BatchNormBase): string {
  const name = nodeName(call);
  const C = bn.numFeatures;
  const t = (key: string, values: ArrayLike<number>) => ctx.graph.constant(`${name}.${key}`, floatTensor([C], values));
  // without affine parameters BatchNorm is γ = 1, β = 0
  const scale = t("weight", bn.weight?.data ?? new Float32Array(C).fill(1));
  const shift = t("bias", bn.bias?.data ?? new Float32Array(C));
  const inputs = [call.input, scale, shift, t("running_mean", bn.runningMean.data), t("running_var", bn.runningVar.data)];
  return ctx.graph.op("BatchNormalization", inputs, { name, attributes: [attr.float("epsilon", bn.eps)] });
}

/** MaxPool / AveragePool with PyTorch's floor rounding; ceil mode is refused (ONNX rounds its last window differently). */
export function poolNode(ctx: EmitContext, call: LayerCall, op: "MaxPool" | "AveragePool", kernel: number, o: Pool2dOptions): string {
  const name = nodeName(call);
  if (o.ceilMode) throw new OnnxExportError(`${name}: pooling in ceil mode is not supported by ONNX export`);
  const p = o.padding ?? 0;
  const s = o.stride ?? kernel;
  const attributes = [attr.ints("kernel_shape", [kernel, kernel]), attr.ints("strides", [s, s]), attr.ints("pads", [p, p, p, p])];
  if (op === "AveragePool") attributes.push(attr.int("count_include_pad", (o.countIncludePad ?? true) ? 1 : 0));
  return ctx.graph.op(op, [call.input], { name, attributes });
}

/** [N, …] → [N, prod(…)], as mulfree's flatten. */
export function flattenNode(ctx: EmitContext, name: string, input: string): string {
  return ctx.graph.op("Flatten", [input], { name, attributes: [attr.int("axis", 1)] });
}
