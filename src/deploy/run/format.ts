// The integer graph of a deployment bundle: what `mulfree export` writes into the bundle's
// safetensors metadata (key "graph", compact JSON) and what the runner executes. Everything is
// NHWC u8 between nodes; see src/kernels/reference/int8.ts for the exact arithmetic of each node
// and docs/deploy.md for the whole scheme.
//
// Bundle layout (a safetensors file; src/deploy/bundle.ts reads and writes it):
//   metadata  format = BUNDLE_FORMAT, graph = JSON of IntGraph, source = JSON (model spec, float
//             checkpoint, calibration images)
//   tensors   "<layer>.weight"   U8   the layer's weights in OHWI order (a linear layer after a
//             flatten already permuted to NHWC order): raw u8 (adder), i8 bytes (mul), or the
//             packed shift codes (shift; bit layout in src/deploy/pack_shift.ts and docs/deploy.md)
//             "requant.bias"     I32  per output channel of every layer, concatenated in node order
//             "requant.mult"     I16  per output channel, same order (|mult| < 2^15)
//             "requant.shift"    U8   per output channel, same order (right shift, 1…52)
//   The three requant tensors have one entry per output channel of every layer, the last layer
//   included: its bias is the logit offset, and its mult and shift are unused (stored as 0 and 1).
// Keeping the per-channel numbers in three shared tensors keeps the header small, which matters
// for a 60 k-weight model whose whole int8 bundle must stay under a quarter of its fp32 size.

export const BUNDLE_FORMAT = "mulfree-int8/1";

/** Largest right shift of a requantization (requantizeU8's contract). */
export const MAX_REQUANT_SHIFT = 52;

/** One logit scale from its stored form; the exporter and the bundle reader both compute it this way. */
export function logitFactor(unit: number, mult: number, shift: number): number {
  return (unit * mult) / 2 ** shift;
}

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
  /** Dotted name of the float layer it comes from (conv1, fc3, layer1.0.conv1, …). */
  name: string;
  kind: LayerKind;
  geometry: Geometry;
  /** The input's quantization; its zero point is the pad value. Adder layers share it with their weights. */
  in: Quant;
  /** Shift layers only. */
  shift?: ShiftEncoding;
  /** Offset of this layer's channels in requant.bias / .mult / .shift. */
  channelOffset: number;
  /**
   * Hidden layers: the rest of requantizeU8's parameters (output zero point, clamp; lo = outZp
   * fuses a ReLU), and the output's quantization.
   * The last layer has none: its accumulators become f32 logits = logitScale[c]·(acc + bias[c]).
   */
  requant?: { outZp: number; lo: number; hi: number };
  out?: Quant;
  logitScale?: number[];
  /**
   * Optional, last layer: logitScale[c] = logitUnit·mult[c]/2^shift[c] exactly (fold.ts
   * logitFactor), with mult and shift from the requant tensors. The bundle then stores only the unit.
   */
  logitUnit?: number;
}

/** Max pooling without padding: OH = floor((H − kh)/stride) + 1. */
export interface MaxPoolNode {
  op: "maxpool";
  kh: number;
  kw: number;
  stride: number;
}

/** Mean over H×W, rounded half up (avgPoolGlobalU8); same quantization in and out. */
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

/** Name of a layer's weight tensor in the bundle. */
export const weightTensorName = (layer: string): string => `${layer}.weight`;
export const REQUANT_TENSORS = { bias: "requant.bias", mult: "requant.mult", shift: "requant.shift" } as const;

// The stored form of the graph leaves out every field that equals the value it can be derived
// from, which keeps the header of a small model's bundle compact:
//   layer.in             the quantization flowing in: the input node's out, then each hidden layer's out
//   layer.channelOffset  the channels of the layers before it
//   layer.requant        { outZp: out.zeroPoint, lo: 0, hi: 255 } (a ReLU output has zero point 0,
//                        so its clamp at 0 is this default too)
//   last layer's logitScale  when logitUnit is set: logitUnit·mult[c]/2^shift[c] (bundle_codec.ts
//                        checks and restores this one, as it needs the requant tensors)
// A field that differs from its default is stored, so compactGraph/expandGraph round-trip any graph.

const sameQuant = (a: Quant | undefined, b: Quant | undefined) => !!a && !!b && a.scale === b.scale && a.zeroPoint === b.zeroPoint;
const defaultRequant = (out: Quant | undefined) => ({ outZp: out?.zeroPoint ?? 0, lo: 0, hi: 255 });

function walkLayers(nodes: IntNode[], visit: (node: LayerNode, input: Quant | undefined, offset: number) => void): void {
  let current = nodes[0]?.op === "input" ? nodes[0].out : undefined;
  let offset = 0;
  for (const node of nodes) {
    if (node?.op !== "layer") continue;
    visit(node, current, offset);
    current = node.out;
    offset += Array.isArray(node.geometry) ? node.geometry[3] : 0;
  }
}

/** The graph as stored in the bundle: derivable fields left out. */
export function compactGraph(graph: IntGraph): unknown {
  const nodes = graph.nodes.map((n) => ({ ...n })) as IntNode[];
  walkLayers(nodes, (node, input, offset) => {
    const n = node as Partial<LayerNode>;
    if (sameQuant(node.in, input)) delete n.in;
    if (node.channelOffset === offset) delete n.channelOffset;
    const d = defaultRequant(node.out);
    if (node.requant && node.requant.outZp === d.outZp && node.requant.lo === d.lo && node.requant.hi === d.hi) delete n.requant;
  });
  return { nodes, classes: graph.classes };
}

/** The full graph from its stored form (validate it afterwards: this only fills in defaults). */
export function expandGraph(stored: unknown): IntGraph {
  const g = stored as IntGraph;
  if (typeof g !== "object" || g === null || !Array.isArray(g.nodes)) return g;
  const nodes = g.nodes.map((n) => (typeof n === "object" && n !== null ? { ...n } : n)) as IntNode[];
  const last = nodes.map((n) => n?.op).lastIndexOf("layer");
  walkLayers(nodes, (node, input, offset) => {
    if (node.in === undefined && input) node.in = { ...input };
    if (node.channelOffset === undefined) node.channelOffset = offset;
    if (node.requant === undefined && node !== nodes[last]) node.requant = defaultRequant(node.out);
  });
  return { nodes, classes: g.classes };
}
