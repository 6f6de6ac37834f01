// The deployment bundle format, version 3: what `mulfree export` writes and the runner reads.
// A bundle is a safetensors file; docs/deploy.md describes it for people, this file for the code.
//
//   metadata  format  BUNDLE_FORMAT
//             graph   the IntGraph below as compact JSON, derivable fields left out (./defaults.ts)
//             source  JSON provenance: model, op, calibration images, test data
//             crc32   a CRC-32 of the graph, of the source and of every tensor (./checksum.ts)
//   tensors   "<layer>.weight"  U8   the layer's weights, OHWI ([K][kh][kw][C/groups]); a linear
//                                    layer after a flatten has its columns in NHWC order: i8 bytes
//                                    (mul), raw u8 (adder) or packed shift codes (./pack_shift.ts)
//             "requant.bias"    I32  one per output channel of every layer, in node order
//             "requant.mult"    I16  same order, |mult| < 2^15
//             "requant.shift"   U8   same order, a right shift in 1…MAX_REQUANT_SHIFT
//   The logits layer has requant slots too: its bias is the logit offset; its mult and shift are
//   unused (0 and 1) unless the layer stores logitUnit (see LayerNode).
//
// Between nodes every activation is u8, NHWC, with real = scale·(q − zeroPoint). The nodes form a
// DAG in topological order: each node reads earlier nodes (`from`: by default the one before it;
// an add reads two), so residual networks are graphs too.
// The exact integer arithmetic of every node is in src/kernels/reference/int8.ts.

export const BUNDLE_FORMAT = "mulfree-int8/3";
/** Formats this version reads: version 2 is version 3 without biasBits (all 0). */
const READABLE_FORMATS: readonly unknown[] = [BUNDLE_FORMAT, "mulfree-int8/2"];

/** True for the metadata format of a bundle this version reads. */
export function isBundleFormat(format: unknown): boolean {
  return READABLE_FORMATS.includes(format);
}

/** Largest right shift of a requantization (requantizeU8's contract). */
export const MAX_REQUANT_SHIFT = 52;

/** real = scale · (q − zeroPoint), q ∈ [0, 255]. */
export interface Quant {
  scale: number;
  zeroPoint: number;
}

/** The layer arithmetic: u8·i8 products, u8 absolute differences, or signed shifts. */
export type LayerKind = "mul" | "adder" | "shift";

/** Conv geometry without the batch: [C, H, W, K, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups]. */
export type Geometry = [number, number, number, number, number, number, number, number, number, number, number, number, number];

/** The output side of a requantization: q = clamp(round(·) + outZp, lo, hi); lo = outZp fuses a ReLU. */
export interface OutputRange {
  outZp: number;
  lo: number;
  hi: number;
}

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
  /** Bits of the shift code (the sign bit comes on top), 1…5. */
  fieldBits: number;
  /**
   * The kernel's shift origin b: code c ≥ 1 is the weight sign·2^(base + c − 1), computed as
   * sign·(x << (c − 1)) with 2^base folded into the requantization; code 0 is the zero weight.
   */
  base: number;
}

export interface LayerNode {
  op: "layer";
  /** The node it reads (default: the node before it). */
  from?: number;
  /** Dotted name of the float layer it comes from (conv1, fc3, layer1.0.conv1, …). */
  name: string;
  kind: LayerKind;
  geometry: Geometry;
  /** The input's quantization; its zero point is the pad value. Adder layers share it with their weights. */
  in: Quant;
  /** Shift layers only. */
  shift?: ShiftEncoding;
  /**
   * Adder and multiply layers exported with `--bits B` < 8: the weights are B-bit values packed
   * into a bit stream (./pack_bits.ts). Absent: one byte per weight.
   */
  weightBits?: number;
  /** Offset of this layer's channels in requant.bias / .mult / .shift. */
  channelOffset: number;
  /**
   * F in 0…16 (requantizeU8's MAX_BIAS_BITS): the accumulators are scaled by 2^F before the bias
   * is added, so the bias carries F fraction bits (acc·2^F + bias; mult/2^shift scales that sum).
   * Absent: 0.
   */
  biasBits?: number;
  /** Hidden layers: the rest of requantizeU8's parameters, and the output's quantization. */
  requant?: OutputRange;
  out?: Quant;
  /** The logits layer: logits[c] = logitScale[c]·(acc·2^biasBits + bias[c]) in f32. */
  logitScale?: number[];
  /**
   * Optional, logits layer: logitScale[c] = logitUnit·mult[c]/2^shift[c] exactly (logitFactor),
   * with mult and shift from the requant tensors. The bundle then stores only the unit.
   */
  logitUnit?: number;
}

/** Max pooling without padding: OH = floor((H − kh)/stride) + 1. */
export interface MaxPoolNode {
  op: "maxpool";
  from?: number;
  kh: number;
  kw: number;
  stride: number;
}

/**
 * Average pooling, the mean rounded half up; same quantization in and out. Without a window it is
 * global, over H×W (avgPoolGlobalU8); with one (kh, kw, stride, no padding) it is avgPool2dU8.
 */
export interface AvgPoolNode {
  op: "avgpool";
  from?: number;
  kh?: number;
  kw?: number;
  stride?: number;
}

/**
 * A residual add with requantization (addRequantU8): the two inputs, of one shape, are summed in
 * real terms and requantized to `out`:
 *   q = clamp(floor(((a − z_a)·mult[0] + (b − z_b)·mult[1] + 2^(shift−1)) / 2^shift) + outZp, lo, hi)
 * with z_a, z_b the zero points of the two inputs, mult[i]/2^shift ≈ s_input/s_out, |mult| < 2^15
 * and 1 ≤ shift ≤ 30. lo = outZp fuses a following ReLU.
 */
export interface AddNode {
  op: "add";
  from: [number, number];
  mult: [number, number];
  shift: number;
  requant: OutputRange;
  out: Quant;
}

/** NCHW → vector: the exporter permutes the next layer's weights to NHWC order, so this is free. */
export interface FlattenNode {
  op: "flatten";
  from?: number;
}

export type IntNode = InputNode | LayerNode | MaxPoolNode | AvgPoolNode | FlattenNode | AddNode;
export type NodeOp = IntNode["op"];
export const NODE_OPS: readonly NodeOp[] = ["input", "layer", "maxpool", "avgpool", "flatten", "add"];

export interface IntGraph {
  /** nodes[0] is the input node; the last node is the logits layer. */
  nodes: IntNode[];
  classes: number;
}

/** Name of a layer's weight tensor in the bundle. */
export const weightTensorName = (layer: string): string => `${layer}.weight`;
export const REQUANT_TENSORS = { bias: "requant.bias", mult: "requant.mult", shift: "requant.shift" } as const;

/** One logit scale from its stored form; the exporter and the bundle reader both compute it this way. */
export function logitFactor(unit: number, mult: number, shift: number): number {
  return (unit * mult) / 2 ** shift;
}
