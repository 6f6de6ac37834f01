// The integer graph of a deployment bundle: what `mulfree export` writes into the bundle's
// safetensors metadata (key "graph", compact JSON) and what the runner executes. Everything is
// NHWC u8 between nodes; see src/kernels/reference/int8.ts for the exact arithmetic of each node.
//
// Bundle layout (a safetensors file):
//   metadata  format = BUNDLE_FORMAT, graph = JSON of IntGraph, source = JSON (model spec, float
//             checkpoint, calibration images, float accuracy if known)
//   tensors   "<layer>.weight"   U8   the layer's weights: raw u8 (adder), i8 bytes (mul), or the
//             packed shift codes (shift; bit layout in src/deploy/pack_shift.ts and docs)
//             "requant.bias"     I32  per output channel of every layer, concatenated in node order
//             "requant.mult"     I16  per output channel, same order (|mult| < 2^15)
//             "requant.shift"    U8   per output channel, same order (right shift, 1…52)
// Keeping the per-channel numbers in two shared tensors keeps the header small, which matters for
// a 60 k-weight model whose whole int8 bundle must stay under a quarter of its fp32 size.

export const BUNDLE_FORMAT = "mulfree-int8/1";

/** real = scale · (q − zeroPoint), q ∈ [0, 255]. */
export interface Quant {
  scale: number;
  zeroPoint: number;
}

/** The layer arithmetic: u8·i8 products, u8 absolute differences, or signed shifts. */
export type LayerKind = "mul" | "adder" | "shift";

/** Conv geometry without the batch: [C, H, W, K, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups]. */
export type Geometry = [number, number, number, number, number, number, number, number, number, number, number, number, number];

export interface InputNode {
  op: "input";
  /** [C, H, W] of one image, NCHW as the float model takes it. */
  shape: [number, number, number];
  /** Per-channel normalisation the float model was trained with: x = (pixel − mean) / std. */
  mean: number[];
  std: number[];
  out: Quant;
}

export interface ShiftEncoding {
  /** Bits of the shift field (the sign bit comes on top). */
  fieldBits: number;
  /** p of the smallest stored shift: weight = sign · 2^(base + code − 1) for codes ≥ 1, code 0 = zero weight. */
  base: number;
}

export interface LayerNode {
  op: "layer";
  /** Dotted name of the float layer it comes from (conv1, fc3, layer1.0.conv1, …). */
  name: string;
  kind: LayerKind;
  geometry: Geometry;
  /** The input's quantization; its zero point is the pad value. */
  in: Quant;
  /** Shift layers only. */
  shift?: ShiftEncoding;
  /** Offset of this layer's channels in requant.bias / .mult / .shift. */
  channelOffset: number;
  /**
   * Hidden layers: the rest of requantizeU8's parameters (output zero point, clamp; lo = outZp
   * fuses a ReLU).
   * The last layer has none: its accumulators become f32 logits = logitScale[c]·(acc + bias[c]).
   */
  requant?: { outZp: number; lo: number; hi: number };
  out?: Quant;
  logitScale?: number[];
}

export interface MaxPoolNode {
  op: "maxpool";
  kh: number;
  kw: number;
  stride: number;
}

export interface GlobalAvgPoolNode {
  op: "avgpool";
}

/** NCHW → vector: the exporter permutes the next layer's weights to NHWC order, so this is free. */
export interface FlattenNode {
  op: "flatten";
}

export type IntNode = InputNode | LayerNode | MaxPoolNode | GlobalAvgPoolNode | FlattenNode;

export interface IntGraph {
  /** nodes[0] is the input node; the last node is the logits layer. */
  nodes: IntNode[];
  classes: number;
}
