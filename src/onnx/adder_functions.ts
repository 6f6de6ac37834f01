// AdderNet layers as ONNX functions in the domain ai.mulfree: y = −Σ|x − w| (+ b), built only from
// standard ops so a stock runtime runs them. Each layer gets its own body (same op type, one
// overload per layer, named after it) because the im2col below unrolls the layer's kernel taps.
//
// Adder2d's im2col never multiplies: Pad adds the zero padding (whose |0 − w| terms are part of
// the sum, as in mulfree and the official adder.py), then one strided Slice per kernel tap (a, b)
// picks x[n, c, i·s + a·d, j·s + b·d] for every output position (i, j). The taps are stacked,
// (c, tap) pairs flattened in the weight's own [C/groups, kh, kw] order, and broadcast against
// the weights per group:
//   cols [N, g, 1, C/g·kh·kw, OH·OW]  −  W [g, O/g, C/g·kh·kw, 1]  →  Abs  →  ReduceSum over taps
// The difference tensor holds N·O·(C/g·kh·kw)·OH·OW floats, like the official code's.
import { NodeBuilder } from "../io/onnx/builder.js";
import type { FunctionProto, OperatorSetIdProto } from "../io/onnx/types.js";
import { attr, int64Tensor } from "../io/onnx/values.js";
import type { ConvGeometry } from "../nn/conv.js";
import { MULFREE_DOMAIN, MULFREE_DOMAIN_VERSION, ONNX_OPSET } from "./context.js";

const OPSETS: OperatorSetIdProto[] = [
  { domain: "", version: ONNX_OPSET },
  { domain: MULFREE_DOMAIN, version: MULFREE_DOMAIN_VERSION },
];

/** Input and output names of the function bodies. */
const X = "X", W = "W", B = "B", Y = "Y";

/** Output size of one spatial dimension (PyTorch's conv formula). */
export function convOutputSize(size: number, k: number, stride: number, pad: number, dilation: number): number {
  return Math.floor((size + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

/** Adder2d of geometry `g` on [N, C, H, W] inputs; `overload` is the layer's name. */
export function adder2dFunction(overload: string, g: ConvGeometry, H: number, Wd: number, bias: boolean): FunctionProto {
  const [kh, kw] = g.kernelSize, [sh, sw] = g.stride, [ph, pw] = g.padding, [dh, dw] = g.dilation;
  const OH = convOutputSize(H, kh, sh, ph, dh), OW = convOutputSize(Wd, kw, sw, pw, dw);
  const Cg = g.inChannels / g.groups, Og = g.outChannels / g.groups, taps = kh * kw;
  const f = new NodeBuilder(true, [X, W, B, Y]);
  const ints = (name: string, v: number[]) => f.constant(name, int64Tensor([v.length], v));

  const padded = ph || pw ? f.op("Pad", [X, ints("pads", [0, 0, ph, pw, 0, 0, ph, pw])], { name: "padded" }) : X;
  const stackAxis = ints("tap_axis", [2]);
  const spatialAxes = ints("spatial_axes", [2, 3]);
  const strides = ints("strides", [sh, sw]);
  const columns: string[] = [];
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const starts = [a * dh, b * dw];
      const ends = [starts[0]! + (OH - 1) * sh + 1, starts[1]! + (OW - 1) * sw + 1];
      const tap = `tap_${a}_${b}`;
      const slice = f.op("Slice", [padded, ints(`${tap}.starts`, starts), ints(`${tap}.ends`, ends), spatialAxes, strides], { name: tap });
      columns.push(f.op("Unsqueeze", [slice, stackAxis], { name: `${tap}.column` }));
    }
  }
  const stacked = f.op("Concat", columns, { name: "im2col", attributes: [attr.int("axis", 2)] }); // [N, C, taps, OH, OW]
  const cols = f.op("Reshape", [stacked, ints("cols_shape", [-1, g.groups, 1, Cg * taps, OH * OW])], { name: "cols" });
  const weights = f.op("Reshape", [W, ints("w_shape", [g.groups, Og, Cg * taps, 1])], { name: "w_cols" });
  const distance = sumAbsDifference(f, cols, weights, 3); // [N, g, O/g, OH·OW]
  const y = f.op("Reshape", [distance, ints("y_shape", [-1, g.outChannels, OH, OW])], { name: "y" });
  finish(f, y, bias, [1, 2]);
  const doc = `AdderNet conv ${g.inChannels}→${g.outChannels}, kernel ${kh}×${kw}, stride ${sh}×${sw}, padding ${ph}×${pw}, dilation ${dh}×${dw}, groups ${g.groups}, on ${H}×${Wd} inputs (${OH}×${OW} outputs): y = −Σ|x − w|${bias ? " + b" : ""}`;
  return fn("Adder2d", overload, bias, f, doc);
}

/** AdderLinear: X [N, I], W [O, I] → −Σ_i |X[n, i] − W[o, i]|. */
export function adderLinearFunction(overload: string, inFeatures: number, outFeatures: number, bias: boolean): FunctionProto {
  const f = new NodeBuilder(true, [X, W, B, Y]);
  const rows = f.op("Unsqueeze", [X, f.constant("row_axis", int64Tensor([1], [1]))], { name: "x_rows" }); // [N, 1, I]
  const y = sumAbsDifference(f, rows, W, 2); // [N, O]
  finish(f, y, bias, []);
  const doc = `AdderNet linear ${inFeatures}→${outFeatures}: y = −Σ|x − w|${bias ? " + b" : ""}`;
  return fn("AdderLinear", overload, bias, f, doc);
}

/** −ReduceSum(|a − b|) over `axis` (dropped). */
function sumAbsDifference(f: NodeBuilder, a: string, b: string, axis: number): string {
  const diff = f.op("Sub", [a, b], { name: "diff" });
  const abs = f.op("Abs", [diff], { name: "abs_diff" });
  const sum = f.op("ReduceSum", [abs, f.constant("sum_axis", int64Tensor([1], [axis]))], { name: "l1", attributes: [attr.int("keepdims", 0)] });
  return f.op("Neg", [sum], { name: "neg_l1" });
}

/** Adds the bias (broadcast over `biasAxes` appended after the channel) and names the result Y. */
function finish(f: NodeBuilder, y: string, bias: boolean, biasAxes: number[]): void {
  if (bias) {
    const b = biasAxes.length ? f.op("Unsqueeze", [B, f.constant("bias_axes", int64Tensor([biasAxes.length], biasAxes))], { name: "bias" }) : B;
    y = f.op("Add", [y, b], { name: "plus_bias" });
  }
  f.rename(y, Y);
}

function fn(name: string, overload: string, bias: boolean, body: NodeBuilder, doc: string): FunctionProto {
  return {
    name, domain: MULFREE_DOMAIN, overload,
    input: bias ? [X, W, B] : [X, W], output: [Y],
    node: body.nodes, opset_import: OPSETS, doc_string: doc,
  };
}
