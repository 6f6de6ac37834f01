// The one reader of deployment bundles (layout in ./format.ts). `mulfree run`, `predict`, `ops`,
// `bench`, export's self-check and load() all read bundles here, so a bundle one of them refuses,
// every one refuses, with the same message. In order:
//   1. the safetensors container and the format string;
//   2. the graph: its JSON, every node's schema (./check_graph.ts), then the one walk that fills in
//      derived fields and checks that every node fits its input (./shapes.ts);
//   3. the checksums of the graph, the source and every tensor (./checksum.ts);
//   4. the tensors, layer by layer (./decode_layers.ts).
// A bundle that passes runs without any further check; one that fails gets a BundleError naming
// the bundle and the problem, in one line. Pure: bytes in, typed arrays out, no Node imports.
import { IoError } from "../../io/errors.js";
import { parseJsonPart, quoted } from "../../io/json.js";
import { decodeSafetensors, type Safetensors } from "../../io/safetensors.js";
import { BundleError, type Bundle } from "./bundle.js";
import { checkGraph } from "./check_graph.js";
import { CHECKSUM_KEY, checksumProblem } from "./checksum.js";
import { decodeLayers } from "./decode_layers.js";
import { BUNDLE_FORMAT, isBundleFormat, type InputNode } from "./format.js";
import { graphShapes } from "./shapes.js";

/** Decode and fully validate bundle bytes; `name` appears in every error. */
export function readBundle(bytes: Uint8Array, name = "bundle"): Bundle {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${name}: bundle bytes must be a Uint8Array, got ${describe(bytes)}`);
  const fail = (problem: string) => new BundleError(`${name}: ${problem}`);
  const file = asBundleError(() => decodeSafetensors(bytes, name));
  const meta = file.metadata;

  const format = meta.format;
  if (format === undefined) throw fail(`not a mulfree deployment bundle: its metadata has no "format" (expected "${BUNDLE_FORMAT}"; a checkpoint? export it with mulfree export)`);
  if (!isBundleFormat(format)) throw fail(`unsupported bundle format ${quoted(format)} (this version reads "${BUNDLE_FORMAT}"; export the model again)`);
  if (meta.graph === undefined) throw fail('the metadata has no "graph"');
  const graph = checkGraph(asBundleError(() => parseJsonPart(meta.graph!, name, "the graph metadata")), fail);
  const shapes = graphShapes(graph, fail);
  const source = meta.source === undefined ? {} : asBundleError(() => parseJsonPart(meta.source!, name, "the source metadata"));

  const problem = checksumProblem({ graph: meta.graph, source: meta.source ?? "", tensors: tensorBytesOf(file) }, meta[CHECKSUM_KEY], (s) => quoted(s));
  if (problem) throw fail(problem);

  const layers = decodeLayers(graph, file.tensors, fail);
  const tensorBytes = Object.fromEntries(Object.entries(file.tensors).map(([k, t]) => [k, t.data.byteLength]));
  return { name, graph, input: graph.nodes[0] as InputNode, shapes, layers, source: isObject(source) ? source : {}, tensorBytes };
}

function tensorBytesOf(file: Safetensors): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [k, t] of Object.entries(file.tensors)) out[k] = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return out;
}

/** Run `read`, turning the io layer's errors (the container's bytes or its JSON) into BundleErrors. */
function asBundleError<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof IoError && !(e instanceof BundleError)) throw new BundleError(e.message);
    throw e;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v !== "object") return typeof v;
  return (v as object).constructor?.name ?? "object";
}
