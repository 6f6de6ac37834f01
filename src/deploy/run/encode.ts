// Writing a bundle: the graph in its stored form (./compact_graph.ts), the provenance, the
// tensors, and the checksums of all of them (./checksum.ts), as one safetensors file.
import { encodeSafetensors, type TensorEntry } from "../../io/safetensors.js";
import { CHECKSUM_KEY, checksumRecord } from "./checksum.js";
import { compactGraph } from "./compact_graph.js";
import { BUNDLE_FORMAT, logitFactor, REQUANT_TENSORS, type IntGraph, type LayerNode } from "./format.js";

/** The bundle of a full graph and its tensors; `source` is the provenance (model, op, data, …). */
export function encodeBundle(graph: IntGraph, tensors: Record<string, TensorEntry>, source: Record<string, unknown>): Uint8Array {
  const stored = compactGraph(graph);
  const last = stored.nodes[stored.nodes.length - 1] as Partial<LayerNode>;
  const mult = tensors[REQUANT_TENSORS.mult]?.data, shift = tensors[REQUANT_TENSORS.shift]?.data;
  const full = graph.nodes[graph.nodes.length - 1] as LayerNode;
  // the logit scales are stored as one unit when the requant slots of the logits layer give them exactly
  if (full.logitUnit !== undefined && full.logitScale && mult && shift) {
    const at = full.channelOffset;
    if (full.logitScale.every((v, c) => v === logitFactor(full.logitUnit!, Number(mult[at + c]), Number(shift[at + c])))) delete last.logitScale;
  }
  return sealBundle({ graph: JSON.stringify(stored), source: JSON.stringify(source) }, tensors);
}

/**
 * A bundle file from metadata strings as they are (the graph as written, not compacted) and
 * tensors, with the format and the checksums added: what encodeBundle ends with, and how tests
 * write bundles whose graph is edited by hand.
 */
export function sealBundle(meta: { graph: string; source?: string; format?: string }, tensors: Record<string, TensorEntry>): Uint8Array {
  const source = meta.source ?? "{}";
  const bytes: Record<string, Uint8Array> = {};
  for (const [name, t] of Object.entries(tensors)) bytes[name] = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const crc = checksumRecord({ graph: meta.graph, source, tensors: bytes });
  return encodeSafetensors(tensors, { format: meta.format ?? BUNDLE_FORMAT, graph: meta.graph, source, [CHECKSUM_KEY]: crc });
}
