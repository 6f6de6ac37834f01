// 2-D convolution (NCHW) with stride, padding, dilation and groups.
import { conv2dBackwardBias, conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, type Conv2dShape } from "../../kernels/conv2d.js";
import { accumulateGrad, record } from "../autograd.js";
import { allocF32 } from "../storage.js";
import { Tensor } from "../tensor.js";

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

export function pair(v: number | [number, number] | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  return typeof v === "number" ? [v, v] : v;
}

/** Resolve input and weight shapes plus options into the kernel's shape record, with clear errors. */
export function resolveConv2d(x: Tensor, weightShape: readonly number[], opts: Conv2dOptions): Conv2dShape {
  if (x.ndim !== 4) throw new Error(`conv2d: input must be NCHW, got shape [${x.shape.join(", ")}]`);
  const [N, C, H, W] = x.shape;
  const [K, Cg, kh, kw] = weightShape;
  const groups = opts.groups ?? 1;
  const [strideH, strideW] = pair(opts.stride, 1);
  const [padH, padW] = pair(opts.padding, 0);
  const [dilationH, dilationW] = pair(opts.dilation, 1);
  if (C % groups !== 0 || K % groups !== 0) throw new Error(`conv2d: channels ${C}→${K} not divisible by groups ${groups}`);
  if (Cg * groups !== C) throw new Error(`conv2d: weight expects ${Cg * groups} input channels, input has ${C}`);
  const OH = Math.floor((H + 2 * padH - dilationH * (kh - 1) - 1) / strideH) + 1;
  const OW = Math.floor((W + 2 * padW - dilationW * (kw - 1) - 1) / strideW) + 1;
  if (OH < 1 || OW < 1) throw new Error(`conv2d: ${kh}×${kw} kernel does not fit a ${H}×${W} input with padding ${padH},${padW}`);
  return { N, C, H, W, K, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups, OH, OW };
}

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const s = resolveConv2d(x, weight.shape, opts);
  const y = Tensor.empty([s.N, s.K, s.OH, s.OW]);
  conv2dForward(x.data, weight.data, bias ? bias.data : null, y.data, s);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(y, "conv2d", inputs, (dy) => {
    accumulateGrad(x, (dx) => conv2dBackwardInput(dy, weight.data, dx, s));
    // with both gradients wanted, the bias's (Σ dy per channel) rides on the weight gradient's pass
    const db = bias?.requiresGrad && weight.requiresGrad ? allocF32(s.K) : null;
    accumulateGrad(weight, (dw) => conv2dBackwardWeight(dy, x.data, dw, s, db));
    if (bias) accumulateGrad(bias, (out) => (db ? out.set(db) : conv2dBackwardBias(dy, out, s)));
  });
}
