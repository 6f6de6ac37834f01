// Reading and writing deployment bundles (layout in graph.ts and docs/deploy.md). decodeBundle
// checks everything a runner relies on (format, graph structure and shapes, tensor dtypes and
// sizes, packed codes, requantization ranges) and names the problem: a bundle that decodes
// runs without out-of-range reads or int32 surprises.
import { IoError } from "../../io/errors.js";
import { parseJsonPart, preview, printable } from "../../io/json.js";
import { decodeSafetensors, encodeSafetensors, type TensorEntry } from "../../io/safetensors.js";
import { layerShape, type LayerData, type LayerWeights } from "./backend.js";
import { BUNDLE_FORMAT, compactGraph, logitFactor, MAX_REQUANT_SHIFT, expandGraph, REQUANT_TENSORS, weightTensorName, type IntGraph, type IntNode, type LayerNode, type Quant } from "./format.js";
import { MAX_FIELD_BITS, unpackShifts } from "./pack_shift.js";

export class BundleError extends Error {
  override readonly name = "BundleError";
}

export interface Bundle {
  graph: IntGraph;
  /** One entry per layer node, in node order. */
  layers: LayerData[];
  /** What the bundle was exported from (model spec, checkpoint, calibration), as stored ({} when absent or not a JSON object). */
  source: Record<string, unknown>;
}

export function encodeBundle(graph: IntGraph, tensors: Record<string, TensorEntry>, source: Record<string, unknown>): Uint8Array {
  const stored = compactGraph(graph) as IntGraph;
  const last = stored.nodes[stored.nodes.length - 1];
  const mult = tensors[REQUANT_TENSORS.mult]?.data, shift = tensors[REQUANT_TENSORS.shift]?.data;
  if (last?.op === "layer" && last.logitUnit !== undefined && last.logitScale && mult && shift) {
    const at = last.channelOffset ?? graph.nodes.filter((n): n is LayerNode => n.op === "layer").slice(0, -1).reduce((s, l) => s + l.geometry[3], 0);
    const derivable = last.logitScale.every((v, c) => v === logitFactor(last.logitUnit!, Number(mult[at + c]), Number(shift[at + c])));
    if (derivable) delete (last as Partial<LayerNode>).logitScale;
  }
  return encodeSafetensors(tensors, { format: BUNDLE_FORMAT, graph: JSON.stringify(stored), source: JSON.stringify(source) });
}

const isInt = (v: unknown, lo: number, hi: number): v is number => typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;

export function decodeBundle(bytes: Uint8Array, name = "bundle"): Bundle {
  const fail = (problem: string) => new BundleError(`${name}: ${problem}`);
  const { file, graph, source } = asBundleError(() => {
    const file = decodeSafetensors(bytes, name);
    const meta = file.metadata;
    if (meta.format !== BUNDLE_FORMAT) {
      throw fail(meta.format ? `format '${printable(meta.format)}' is not '${BUNDLE_FORMAT}'` : `not a mulfree deployment bundle (no '${BUNDLE_FORMAT}' metadata; a checkpoint? export it with mulfree export)`);
    }
    const graph = expandGraph(parseJsonPart(meta.graph ?? "", name, "the graph metadata"));
    const source = meta.source ? parseJsonPart(meta.source, name, "the source metadata") : {};
    return { file, graph, source: isObject(source) ? source : {} };
  });
  const tensor = (key: string, dtype: string): TensorEntry => {
    const t = file.tensors[key];
    if (!t) throw fail(`tensor '${printable(key)}' is missing`);
    if (t.dtype !== dtype) throw fail(`tensor '${printable(key)}' is ${t.dtype}, expected ${dtype}`);
    return t;
  };
  const bias = tensor(REQUANT_TENSORS.bias, "I32").data as Int32Array;
  const mult = tensor(REQUANT_TENSORS.mult, "I16").data as Int16Array;
  const rshift = tensor(REQUANT_TENSORS.shift, "U8").data as Uint8Array;
  if (mult.length !== bias.length || rshift.length !== bias.length) throw fail("the requant tensors differ in length");
  const end = graph?.nodes?.[graph.nodes.length - 1];
  if (end?.op === "layer" && end.logitScale === undefined && typeof end.logitUnit === "number" && isInt(end.channelOffset, 0, bias.length - 1)) {
    const K = end.geometry?.[3];
    if (isInt(K, 1, bias.length - end.channelOffset)) end.logitScale = Array.from({ length: K }, (_, c) => logitFactor(end.logitUnit!, mult[end.channelOffset + c], rshift[end.channelOffset + c]));
  }
  const layers = checkGraph(graph, fail).map((node, i, all) => {
    const K = node.geometry[3];
    const at = node.channelOffset;
    if (!isInt(at, 0, bias.length - K)) throw fail(`${layerLabel(node)}: ${K} channels from offset ${preview(at, 20)} are outside the requant tensors (${bias.length} channels)`);
    const data: LayerData = {
      node,
      weights: layerWeights(node, tensor(weightTensorName(node.name), "U8").data as Uint8Array, fail),
      bias: bias.slice(at, at + K),
      mult: Int32Array.from(mult.subarray(at, at + K)),
      shift: rshift.slice(at, at + K),
    };
    if (i < all.length - 1) {
      for (let c = 0; c < K; c++) {
        if (!isInt(data.shift[c], 1, MAX_REQUANT_SHIFT)) throw fail(`${layerLabel(node)}: requant shift ${data.shift[c]} of channel ${c} is outside 1…${MAX_REQUANT_SHIFT}`);
      }
    }
    return data;
  });
  return { graph, layers, source };
}

/** Run `read`, turning the io layer's errors (the file's bytes or its JSON) into BundleErrors. */
function asBundleError<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof IoError) throw new BundleError(e.message);
    throw e;
  }
}

const layerLabel = (node: LayerNode) => `layer ${printable(node.name)}`;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function layerWeights(node: LayerNode, bytes: Uint8Array, fail: (p: string) => BundleError): LayerWeights {
  const [C, , , K, kh, kw, , , , , , , groups] = node.geometry;
  const count = K * kh * kw * (C / groups);
  if (node.kind === "shift") {
    try {
      return { kind: "shift", ...unpackShifts(bytes, count, node.shift!.fieldBits) };
    } catch (e) {
      throw fail(`${layerLabel(node)}: ${(e as Error).message}`);
    }
  }
  if (bytes.length !== count) throw fail(`${layerLabel(node)}: ${bytes.length} weight bytes, the geometry needs ${count}`);
  return node.kind === "adder" ? { kind: "adder", w: bytes } : { kind: "mul", w: new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length) };
}

function checkQuant(q: unknown, where: string, fail: (p: string) => BundleError): void {
  const v = q as Quant | undefined;
  if (!v || !(typeof v.scale === "number" && v.scale > 0 && Number.isFinite(v.scale)) || !isInt(v.zeroPoint, 0, 255)) {
    throw fail(`${where}: invalid quantization ${preview(q)}`);
  }
}

/** Validates the node list and its shapes; returns the layer nodes. */
function checkGraph(graph: IntGraph, fail: (p: string) => BundleError): LayerNode[] {
  if (typeof graph !== "object" || graph === null || !Array.isArray(graph.nodes) || graph.nodes.length < 2) throw fail("the graph has no node list");
  const bad = graph.nodes.findIndex((n) => !isObject(n));
  if (bad >= 0) throw fail(`node ${bad} is ${preview(graph.nodes[bad])}, not an object`);
  const input = graph.nodes[0] as IntNode;
  if (input.op !== "input") throw fail("the graph does not start with an input node");
  const [C0, H0, W0] = Array.isArray(input.shape) ? input.shape : [];
  if (!isInt(C0, 1, 4096) || !isInt(H0, 1, 65536) || !isInt(W0, 1, 65536)) throw fail(`invalid input shape ${preview(input.shape)}`);
  if (!Array.isArray(input.mean) || !Array.isArray(input.std) || input.mean.length !== C0 || input.std.length !== C0 || !input.std.every((s) => s > 0)) {
    throw fail("the input node needs one mean and one positive std per channel");
  }
  checkQuant(input.out, "input", fail);
  let [C, H, W] = [C0, H0, W0];
  const layers: LayerNode[] = [];
  graph.nodes.slice(1).forEach((node, i) => {
    const last = i === graph.nodes.length - 2;
    const op: unknown = node.op;
    const where = `node ${i + 1} (${typeof op === "string" ? printable(op, 20) : preview(op, 20)})`;
    if (node.op === "layer") {
      if (typeof node.name !== "string" || node.name === "") throw fail(`${where}: the layer name must be a non-empty string, got ${preview(node.name)}`);
      const g = node.geometry;
      if (!Array.isArray(g) || g.length !== 13 || !g.every((v) => isInt(v, 0, 1 << 24))) throw fail(`${layerLabel(node)}: invalid geometry ${preview(g)}`);
      if (g[0] !== C || g[1] !== H || g[2] !== W) throw fail(`${layerLabel(node)}: expects a ${g[0]}×${g[1]}×${g[2]} input but gets ${C}×${H}×${W}`);
      const s = layerShape(node, 1);
      if (s.K < 1 || s.kh < 1 || s.kw < 1 || s.strideH < 1 || s.strideW < 1 || s.dilationH < 1 || s.dilationW < 1 || s.groups < 1 || s.C % s.groups || s.K % s.groups || s.OH < 1 || s.OW < 1) {
        throw fail(`${layerLabel(node)}: impossible geometry ${preview(g)}`);
      }
      if (!["mul", "adder", "shift"].includes(node.kind)) throw fail(`${layerLabel(node)}: unknown kind ${preview(node.kind, 20)}`);
      if (node.kind === "shift" && !(node.shift && isInt(node.shift.fieldBits, 1, MAX_FIELD_BITS) && Number.isInteger(node.shift.base))) {
        throw fail(`${layerLabel(node)}: invalid shift encoding ${preview(node.shift)}`);
      }
      checkQuant(node.in, `${layerLabel(node)} input`, fail);
      if (last) {
        if (!Array.isArray(node.logitScale) || node.logitScale.length !== s.K || !node.logitScale.every(Number.isFinite)) throw fail(`${layerLabel(node)}: the logits layer needs ${s.K} logit scales`);
      } else {
        const r = node.requant;
        if (!r || !isInt(r.outZp, 0, 255) || !isInt(r.lo, 0, 255) || !isInt(r.hi, r.lo, 255)) throw fail(`${layerLabel(node)}: invalid requantization ${preview(r)}`);
        checkQuant(node.out, `${layerLabel(node)} output`, fail);
      }
      [C, H, W] = [s.K, s.OH, s.OW];
      layers.push(node);
    } else if (node.op === "maxpool") {
      if (!isInt(node.kh, 1, H) || !isInt(node.kw, 1, W) || !isInt(node.stride, 1, 1 << 16)) throw fail(`${where}: a ${preview(node.kh, 20)}×${preview(node.kw, 20)} (stride ${preview(node.stride, 20)}) window does not fit ${H}×${W}`);
      [H, W] = [Math.floor((H - node.kh) / node.stride) + 1, Math.floor((W - node.kw) / node.stride) + 1];
    } else if (node.op === "avgpool") {
      [H, W] = [1, 1];
    } else if (node.op === "flatten") {
      [C, H, W] = [C * H * W, 1, 1];
    } else {
      throw fail(`${where}: unknown node`);
    }
    if (last && node.op !== "layer") throw fail("the graph must end in the logits layer");
  });
  const end = layers[layers.length - 1];
  if (!end || H !== 1 || W !== 1 || graph.classes !== end.geometry[3]) throw fail(`the logits layer must give ${preview(graph.classes, 20)} classes on a 1×1 output`);
  if (layers.some((l, i) => i < layers.length - 1 && !l.requant)) throw fail("a hidden layer has no requantization");
  return layers;
}
