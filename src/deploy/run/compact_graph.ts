// The stored form of a graph: every field equal to its derived value (./defaults.ts) left out.
// The reader's one walk (./shapes.ts graphShapes) fills them back in, so any graph round-trips.
import { inputQuant, sameQuant, sameRange, shortGeometry, defaultOutputRange } from "./defaults.js";
import type { IntGraph, IntNode, LayerNode } from "./format.js";
import { graphShapes } from "./shapes.js";

/** `graph` (full form) as stored; throws if the graph does not fit together (an exporter bug). */
export function compactGraph(graph: IntGraph): { nodes: unknown[]; classes?: number } {
  const full = structuredClone(graph);
  const shapes = graphShapes(full, (problem) => new Error(`compactGraph: ${problem}`));
  let channels = 0;
  const nodes = full.nodes.map((node, i): unknown => {
    const n = { ...node } as Partial<IntNode> & Record<string, unknown>;
    if ("from" in n && n.from === i - 1) delete n.from;
    if (node.op === "input" && sameQuant(node.out, inputQuant(node.mean, node.std))) delete n.out;
    if (node.op === "add" && sameRange(node.requant, defaultOutputRange(node.out))) delete n.requant;
    if (node.op === "layer") {
      const l = n as Partial<LayerNode>;
      if (sameQuant(node.in, shapes[shapes[i]!.inputs[0]!]!.quant!)) delete l.in;
      if (node.channelOffset === channels) delete l.channelOffset;
      if (node.requant && node.out && sameRange(node.requant, defaultOutputRange(node.out))) delete l.requant;
      n.geometry = shortGeometry(node.geometry);
      channels += node.geometry[3];
    }
    return n;
  });
  return full.classes === shapes[shapes.length - 1]!.C ? { nodes } : { nodes, classes: full.classes };
}
