// Operation counts of a deployment bundle's integer graph (src/deploy/run/format.ts), for one
// image, following the exact arithmetic of src/kernels/reference/int8.ts:
// - input quantization: q = clamp(round(a·x + b)) per pixel (the normalisation folded into a, b);
// - weight layers count every tap, padded ones included (they read the pad value): an adder tap
//   is one u8 subtraction (|·| free: the kernels take sub_sat(a,b) | sub_sat(b,a)) plus an i32
//   accumulation; a multiply tap an i8×u8 product plus an i32 accumulation; a shift tap a shift
//   plus an i32 add or subtract;
// - requantization per output value: (acc·2^F + bias)·mult (F: the bias's fraction bits, a shift), + rounding, >> shift, + zero point,
//   clamp to [lo, hi] (lo fuses the ReLU) — BatchNorm, the layer scale and ReLU all live here;
// - a residual add: both inputs rescaled to the output by a 15-bit multiplier each (two
//   multiplies per value), summed, rounded, shifted, clamped (addRequantU8);
// - pooling: max is comparisons; average a window sum, a rounding add and one integer division;
// - the last layer's logits: (acc + bias) per class, × scale to f32; then softmax.
// The bundle comes from the one decoder (readBundle), so its graph is known to fit together and
// its shapes are the decoder's.
import type { Bundle, BundleLayer } from "../deploy/run/bundle.js";
import { REQUANT_TENSORS, weightTensorName, type LayerNode } from "../deploy/run/format.js";
import { softmaxRow } from "./ops.js";
import { buildReport, layerRow, uniqueNamer, type LayerOps, type OpCount, type OpsReport } from "./op_counts.js";

function tapOps(node: LayerNode, n: number): OpCount[] {
  switch (node.kind) {
    case "adder":
      return [
        { kind: "add", type: "int8", count: n, what: "x − w (u8, |·| free)" },
        { kind: "add", type: "int32", count: n, what: "accumulate" },
      ];
    case "mul":
      return [
        { kind: "mul", type: "int8", count: n, what: "x·w (u8 × i8)" },
        { kind: "add", type: "int32", count: n, what: "accumulate" },
      ];
    case "shift":
      return [
        { kind: "shift", type: "int32", count: n, what: "x << (p − base)" },
        { kind: "add", type: "int32", count: n, what: "± accumulate (sign folded in)" },
      ];
  }
}

/** acc·2^F when the layer's bias has F fraction bits. */
function biasScaleOps(values: number, node: LayerNode): OpCount[] {
  return node.biasBits ? [{ kind: "shift", type: "int32", count: values, what: `acc << ${node.biasBits} (bias fraction bits)` }] : [];
}

function requantOps(values: number, node: LayerNode): OpCount[] {
  return [
    ...biasScaleOps(values, node),
    { kind: "add", type: "int32", count: values, what: "acc + bias" },
    { kind: "mul", type: "int64", count: values, what: "× mult (i32 × i16 → i64)" },
    { kind: "add", type: "int64", count: values, what: "+ rounding" },
    { kind: "shift", type: "int64", count: values, what: ">> shift" },
    { kind: "add", type: "int32", count: values, what: "+ zero point" },
    { kind: "cmp", type: "int32", count: 2 * values, what: "clamp [lo, hi] (ReLU fused)" },
  ];
}

/** A residual add with requantization, per output value (src/kernels/reference/int8.ts addRequantU8). */
function addOps(values: number): OpCount[] {
  return [
    { kind: "add", type: "int16", count: 2 * values, what: "a − z_a, b − z_b" },
    { kind: "mul", type: "int16", count: 2 * values, what: "× mult (i16 × i16 → i32), one per input" },
    { kind: "add", type: "int32", count: values, what: "sum" },
    { kind: "add", type: "int32", count: values, what: "+ rounding" },
    { kind: "shift", type: "int32", count: values, what: ">> shift" },
    { kind: "add", type: "int32", count: values, what: "+ zero point" },
    { kind: "cmp", type: "int32", count: 2 * values, what: "clamp [lo, hi] (ReLU fused)" },
  ];
}

/** Bytes of the per-channel requantization tensors that belong to one layer's channels. */
function requantBytes(bundle: Bundle, K: number): number {
  const channels = bundle.layers.reduce((k, l) => k + l.shape.K, 0);
  return Object.values(REQUANT_TENSORS).reduce((sum, name) => sum + (bundle.tensorBytes[name]! / channels) * K, 0);
}

const kindLabel = (node: LayerNode) => (node.kind === "mul" ? "int8 mul" : node.kind === "adder" ? "int8 adder" : "shift");

function layerRows(bundle: Bundle, layer: BundleLayer): LayerOps[] {
  const { node, shape: s } = layer;
  const taps = (s.C / s.groups) * s.kh * s.kw, outputs = s.K * s.OH * s.OW;
  const detail = s.kh * s.kw === 1 && s.H * s.W === 1 ? `${s.C}→${s.K}` : `${s.C}→${s.K} ${s.kh}×${s.kw}, out ${s.K}×${s.OH}×${s.OW}, ${taps} taps/out`;
  const weights = layerRow(node.name, kindLabel(node), detail, tapOps(node, outputs * taps), bundle.tensorBytes[weightTensorName(node.name)]!);
  const qBytes = requantBytes(bundle, s.K);
  if (layer.last) {
    return [weights, layerRow(`${node.name}.logits`, "dequantize", `${s.K} logits, scale·(acc + bias) → f32`, [
      ...biasScaleOps(outputs, node),
      { kind: "add", type: "int32", count: outputs, what: "acc + bias" },
      { kind: "mul", type: "fp32", count: outputs, what: "× scale" },
    ], qBytes)];
  }
  const relu = node.requant!.lo === node.requant!.outZp ? ", ReLU fused" : "";
  return [weights, layerRow(`${node.name}.requant`, "requant", `${outputs} values${relu}; BatchNorm and scale folded in`, requantOps(outputs, node), qBytes)];
}

/** A residual add's row name: its block's, from the layer its first input comes from (layer1.0.conv2 → layer1.0.add). */
function addName(bundle: Bundle, i: number): string {
  let at = bundle.shapes[i]!.inputs[0]!;
  while (at > 0 && bundle.graph.nodes[at]!.op !== "layer") at = bundle.shapes[at]!.inputs[0]!;
  const node = bundle.graph.nodes[at]!;
  if (node.op !== "layer" || !node.name.includes(".")) return "add";
  return `${node.name.slice(0, node.name.lastIndexOf("."))}.add`;
}

export interface BundleInfo {
  model?: string;
  op?: string;
  fileBytes?: number;
}

/** Count one image through a decoded bundle (src/deploy/run/decode.ts readBundle). */
export function countIntOps(bundle: Bundle, info: BundleInfo = {}): OpsReport {
  const { graph, shapes } = bundle;
  const [C0, H0, W0] = bundle.input.shape;
  const pixels = C0 * H0 * W0;
  const rows: LayerOps[] = [layerRow("input", "quantize", `${pixels} pixels → u8, q = clamp(round(a·x + b))`, [
    { kind: "mul", type: "fp32", count: pixels, what: "a·x" },
    { kind: "add", type: "fp32", count: pixels, what: "+ b (+ ½)" },
    { kind: "cmp", type: "fp32", count: 2 * pixels, what: "clamp to [0, 255]" },
  ])];
  const layers = new Map(bundle.layers.map((l) => [l.index, l]));
  const unique = uniqueNamer();
  graph.nodes.forEach((node, i) => {
    const out = shapes[i]!;
    const src = shapes[out.inputs[0] ?? 0]!;
    const values = out.C * out.H * out.W;
    if (node.op === "layer") rows.push(...layerRows(bundle, layers.get(i)!));
    else if (node.op === "maxpool") {
      rows.push(layerRow(unique("pool"), "maxpool", `${node.kh}×${node.kw}, out ${out.C}×${out.H}×${out.W}`, [
        { kind: "cmp", type: "int8", count: values * (node.kh * node.kw - 1), what: "window max (u8)" },
      ]));
    } else if (node.op === "avgpool") {
      const k = node.kh === undefined ? src.H * src.W : node.kh * node.kw!;
      const what = node.kh === undefined ? `global ${src.H}×${src.W}, ${src.C} channels` : `${node.kh}×${node.kw} stride ${node.stride}, out ${out.C}×${out.H}×${out.W}`;
      rows.push(layerRow(unique("avgpool"), "avgpool", what, [
        { kind: "add", type: "int32", count: values * (k - 1), what: "window sum" },
        { kind: "add", type: "int32", count: values, what: "+ k/2 (rounding)" },
        { kind: "div", type: "int32", count: values, what: "/ k" },
      ]));
    } else if (node.op === "add") {
      rows.push(layerRow(unique(addName(bundle, i)), "residual add", `${values} values, requantized${node.requant.lo === node.requant.outZp ? ", ReLU fused" : ""}`, addOps(values)));
    }
  });
  rows.push(softmaxRow(graph.classes));
  const notes = [
    "integer graph: the deployment bundle's arithmetic (src/kernels/reference/int8.ts), one image",
    "weight layers count every tap (padding included) and one accumulating add per tap, as the AdderNet paper counts",
    "requant rows hold BatchNorm, the layer scale and ReLU: one i32 × i16 multiply per output value",
  ];
  if (info.fileBytes !== undefined) notes.push(`bundle file: ${info.fileBytes} bytes (weight bytes are tensor data; the rest is the header)`);
  return buildReport("integer", info.model ?? "?", info.op ?? "?", rows, notes);
}
