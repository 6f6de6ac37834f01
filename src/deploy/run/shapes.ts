// The one walk over a bundle's graph. Node by node, in order, it resolves what each node reads,
// fills in the derivable fields the stored graph leaves out (./defaults.ts), checks that the node
// fits what flows into it (geometry, windows, quantization, channel offsets), and records the
// shape and quantization of its output. The decoder validates with it, the encoder compacts with
// it, the engines size their buffers and the operation counter counts from its result.
import type { Conv2dShape } from "../../kernels/conv2d.js";
import { quoted } from "../../io/json.js";
import type { Fail } from "./check_graph.js";
import { defaultOutputRange, fullGeometry, inputQuant } from "./defaults.js";
import type { IntGraph, IntNode, LayerNode, Quant } from "./format.js";

export interface NodeShape {
  /** The nodes it reads (indices into graph.nodes). */
  inputs: number[];
  /** One image's output, C×H×W (a vector is C×1×1). */
  C: number;
  H: number;
  W: number;
  /** The output's quantization; null for the logits layer, whose output is i32 accumulators. */
  quant: Quant | null;
}

/** The Conv2dShape of a layer node for a batch of N. */
export function layerShape(node: LayerNode, N: number): Conv2dShape {
  const [C, H, W, K, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups] = node.geometry;
  const OH = Math.floor((H + 2 * padH - dilationH * (kh - 1) - 1) / strideH) + 1;
  const OW = Math.floor((W + 2 * padW - dilationW * (kw - 1) - 1) / strideW) + 1;
  return { N, C, H, W, K, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups, OH, OW };
}

/** The nodes a node reads: `from`, or the node before it. */
export function inputsOf(node: IntNode, index: number): number[] {
  if (node.op === "input") return [];
  if (node.op === "add") return [...node.from];
  return [node.from ?? index - 1];
}

/** Output side of a kh×kw window with a stride and no padding. */
const windowOut = (size: number, k: number, stride: number) => Math.floor((size - k) / stride) + 1;

/** A node as error messages name it. */
export function nodeLabel(graph: IntGraph, i: number): string {
  const node = graph.nodes[i]!;
  return node.op === "layer" ? `layer ${quoted(node.name)} (graph.nodes[${i}])` : `graph.nodes[${i}] (${node.op})`;
}

/**
 * Shapes of every node's output. Fills in the graph's derivable fields (in place) and throws
 * `fail(problem)` where a node does not fit its input. Run checkGraph (./check_graph.ts) first.
 */
export function graphShapes(graph: IntGraph, fail: Fail): NodeShape[] {
  const shapes: NodeShape[] = [];
  const used = new Set<number>();
  let channels = 0;
  graph.nodes.forEach((node, i) => {
    const named = nodeLabel(graph, i);
    const inputs = inputsOf(node, i);
    inputs.forEach((j) => used.add(j));
    const src = shapes[inputs[0]!]!; // (undefined for the input node, which reads nothing)
    switch (node.op) {
      case "input": {
        node.out ??= inputQuant(node.mean, node.std);
        const [C, H, W] = node.shape;
        shapes.push({ inputs, C, H, W, quant: node.out });
        return;
      }
      case "layer": {
        const shape = layerFits(node, named, src, channels, fail);
        channels += shape.K;
        shapes.push({ inputs, C: shape.K, H: shape.OH, W: shape.OW, quant: node.out ?? null });
        return;
      }
      case "maxpool":
      case "avgpool": {
        if (node.op === "avgpool" && node.kh === undefined) {
          shapes.push({ ...src, inputs, H: 1, W: 1 });
          return;
        }
        const { kh, kw, stride } = node as { kh: number; kw: number; stride: number };
        if (kh > src.H || kw > src.W) throw fail(`${named}: a ${kh}×${kw} ${node.op === "maxpool" ? "max" : "average"} pool does not fit the ${src.H}×${src.W} input`);
        shapes.push({ ...src, inputs, H: windowOut(src.H, kh, stride), W: windowOut(src.W, kw, stride) });
        return;
      }
      case "flatten":
        shapes.push({ ...src, inputs, C: src.C * src.H * src.W, H: 1, W: 1 });
        return;
      case "add": {
        const other = shapes[inputs[1]!]!;
        if (other.C !== src.C || other.H !== src.H || other.W !== src.W) {
          throw fail(`${named} adds a ${src.C}×${src.H}×${src.W} and a ${other.C}×${other.H}×${other.W} (C×H×W) input; they must have one shape`);
        }
        node.requant ??= defaultOutputRange(node.out);
        shapes.push({ inputs, C: src.C, H: src.H, W: src.W, quant: node.out });
        return;
      }
    }
  });
  const last = graph.nodes.length - 1;
  const logits = shapes[last]!;
  const lastName = quoted((graph.nodes[last] as LayerNode).name);
  if (logits.H * logits.W !== 1) throw fail(`the logits layer ${lastName} outputs ${logits.H}×${logits.W} positions; it must output one vector per image`);
  graph.classes ??= logits.C;
  if (graph.classes !== logits.C) throw fail(`graph.classes is ${graph.classes} but the logits layer ${lastName} has ${logits.C} outputs`);
  const unused = graph.nodes.findIndex((_, i) => i < last && !used.has(i));
  if (unused >= 0) throw fail(`${nodeLabel(graph, unused)} is read by no later node`);
  return shapes;
}

/** Fills in a layer's derivable fields and checks it against its input; returns its shape for one image. */
function layerFits(node: LayerNode, named: string, src: NodeShape, channelOffset: number, fail: Fail): Conv2dShape {
  node.geometry = fullGeometry(node.geometry);
  const s = layerShape(node, 1);
  const positive = { C: s.C, H: s.H, W: s.W, K: s.K, kh: s.kh, kw: s.kw, strideH: s.strideH, strideW: s.strideW, dilationH: s.dilationH, dilationW: s.dilationW, groups: s.groups };
  for (const [k, v] of Object.entries(positive)) if (v < 1) throw fail(`${named}: geometry ${k} must be ≥ 1, got ${v}`);
  if (s.C % s.groups !== 0 || s.K % s.groups !== 0) throw fail(`${named}: ${s.C} input and ${s.K} output channels do not split into ${s.groups} groups`);
  if (s.OH < 1 || s.OW < 1) throw fail(`${named}: a ${s.kh}×${s.kw} kernel does not fit the ${s.H}×${s.W} input with padding ${s.padH}, ${s.padW}`);
  if (s.C !== src.C || s.H !== src.H || s.W !== src.W) {
    throw fail(`${named} expects a ${s.C}×${s.H}×${s.W} (C×H×W) input, but its input node produces ${src.C}×${src.H}×${src.W}`);
  }
  const q = src.quant!;
  node.in ??= { ...q };
  if (node.in.zeroPoint !== q.zeroPoint || !sameScale(node.in.scale, q.scale)) {
    throw fail(`${named}: input quantization (scale ${node.in.scale}, zero point ${node.in.zeroPoint}) differs from its input node's output (scale ${q.scale}, zero point ${q.zeroPoint})`);
  }
  node.channelOffset ??= channelOffset;
  if (node.channelOffset !== channelOffset) throw fail(`${named}: channelOffset is ${node.channelOffset}, expected ${channelOffset} (the layers' channels are concatenated in node order)`);
  if (node.out) node.requant ??= defaultOutputRange(node.out);
  return s;
}

/** Scales travel through JSON as shortest round-trip decimals, so equal means equal up to rounding noise. */
function sameScale(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
}
