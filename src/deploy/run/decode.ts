// The runner's strict reading of a deployment bundle (layout in ./graph.ts). Everything a runner
// relies on is checked here, once, at load: the format string, the graph's JSON schema, every
// tensor's presence, dtype and size, the geometry and quantization from node to node, the
// requantization parameters, and that no accumulator can leave int32 (the kernels do not check).
// A bundle that passes runs without any further check; one that fails gets an IoError naming the
// bundle and the problem.
//
// The format itself (compacted graph fields, packed shift codes, logit scales) is read by
// ./bundle_codec.ts's decodeBundle, the one decoder. This file checks the raw bundle before that
// decoder sees it (so malformed JSON or tensors get a precise message, never a TypeError deep
// inside), and checks what it decoded afterwards (accumulator ranges of the unpacked weights).
// The result is a bundle_codec Bundle with more in it, so prepareModel (./execute.ts) runs it too.
// Pure: bytes in, typed arrays out, no Node imports.
import type { Conv2dShape } from "../../kernels/conv2d.js";
import { IoError } from "../../io/errors.js";
import { parseJsonPart, preview, quoted } from "../../io/json.js";
import { decodeSafetensors, type TensorEntry } from "../../io/safetensors.js";
import type { LayerData } from "./backend.js";
import { BundleError, decodeBundle } from "./codec.js";
import { BUNDLE_FORMAT, expandGraph, REQUANT_TENSORS, weightTensorName, type Geometry, type InputNode, type IntGraph, type LayerNode, type Quant } from "./format.js";
import { MAX_FIELD_BITS, packedBytes } from "./pack_shift.js";

/** A layer ready for a backend (./backend.ts LayerData), with its place and geometry (N = 1). */
export interface BundleLayer extends LayerData {
  /** Index in graph.nodes. */
  index: number;
  shape: Conv2dShape;
  /** The logits layer (no requantization; its accumulators become f32 logits). */
  last: boolean;
}

export interface Bundle {
  /** What error messages call it (a path, or "bundle"). */
  name: string;
  graph: IntGraph;
  input: InputNode;
  /** One per layer node, in node order. */
  layers: BundleLayer[];
  /** Provenance from metadata.source ({} when absent or not a JSON object). */
  source: Record<string, unknown>;
}

const INT32_MAX = 2 ** 31 - 1;
/** 2^base is folded into a float scale; no float32 weight needs more than this. */
const MAX_BASE = 160;

type Fail = (problem: string) => IoError;

/** Decode and fully validate bundle bytes; `name` appears in every error. */
export function readBundle(bytes: Uint8Array, name = "bundle"): Bundle {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${name}: bundle bytes must be a Uint8Array, got ${describe(bytes)}`);
  const st = decodeSafetensors(bytes, name);
  const fail: Fail = (problem) => new IoError(`${name}: ${problem}`);

  const format = st.metadata.format;
  if (format === undefined) throw fail(`not a mulfree deployment bundle: its metadata has no "format" (expected "${BUNDLE_FORMAT}"; a checkpoint? export it with mulfree export)`);
  if (format !== BUNDLE_FORMAT) throw fail(`unsupported bundle format ${quoted(format)} (this version reads "${BUNDLE_FORMAT}")`);
  if (st.metadata.graph === undefined) throw fail('the metadata has no "graph"');
  const raw = parseJsonPart(st.metadata.graph, name, "the graph metadata");
  // the stored graph leaves out derivable fields (graph.ts); fill them in, then check everything
  const graph = checkGraph(expandGraph(raw), fail);

  const requant = {
    bias: tensor(st.tensors, REQUANT_TENSORS.bias, "I32", fail).data as Int32Array,
    mult: tensor(st.tensors, REQUANT_TENSORS.mult, "I16", fail).data as Int16Array,
    shift: tensor(st.tensors, REQUANT_TENSORS.shift, "U8", fail).data as Uint8Array,
  };
  const places = checkFlow(graph, st.tensors, requant, fail);

  let decoded;
  try {
    decoded = decodeBundle(bytes, name);
  } catch (e) {
    if (e instanceof BundleError) throw new IoError(e.message);
    throw e;
  }
  if (decoded.layers.length !== places.length) throw fail(`the decoder found ${decoded.layers.length} layers, the graph has ${places.length}`);
  const layers = decoded.layers.map((data, i): BundleLayer => {
    const layer = { ...data, ...places[i]! };
    checkAccumulatorRange(layer, fail);
    return layer;
  });
  return { name, graph: decoded.graph, input: decoded.graph.nodes[0] as InputNode, layers, source: decoded.source };
}

function tensor(tensors: Record<string, TensorEntry>, key: string, dtype: string, fail: Fail): TensorEntry {
  const t = tensors[key];
  if (!t) throw fail(`tensor ${quoted(key)} is missing`);
  if (t.dtype !== dtype) throw fail(`tensor ${quoted(key)} has dtype ${t.dtype}, expected ${dtype}`);
  if (t.shape.length !== 1) throw fail(`tensor ${quoted(key)} must be 1-D, has shape ${preview(t.shape)}`);
  return t;
}

// ---- schema ----------------------------------------------------------------------------------

function checkGraph(raw: unknown, fail: Fail): IntGraph {
  if (!isObject(raw)) throw fail("the graph is not a JSON object");
  const { nodes, classes } = raw;
  if (!Array.isArray(nodes) || nodes.length < 2) throw fail("graph.nodes must be an array holding at least an input and a layer node");
  if (!isInt(classes) || classes < 1) throw fail(`graph.classes must be a positive integer, got ${show(classes)}`);
  const opOf = (n: unknown) => (isObject(n) ? n.op : undefined);
  if (opOf(nodes[0]) !== "input") throw fail(`graph.nodes[0] must be the input node, found ${show(nodes[0])}`);
  if (opOf(nodes[nodes.length - 1]) !== "layer") throw fail(`the last node must be the logits layer, found ${show(nodes[nodes.length - 1])}`);
  nodes.forEach((n, i) => checkNode(n, i, i === nodes.length - 1, fail));
  return raw as unknown as IntGraph;
}

function checkNode(n: unknown, i: number, isLast: boolean, fail: Fail): void {
  const at = `graph.nodes[${i}]`;
  if (!isObject(n)) throw fail(`${at} is not an object`);
  const field = (key: string) => `${at}.${key}`;
  switch (n.op) {
    case "input": {
      if (i !== 0) throw fail(`${at}: only nodes[0] may be the input`);
      const shape = n.shape;
      if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => isInt(d) && d >= 1 && d <= 65536)) {
        throw fail(`${field("shape")} must be [C, H, W] of positive integers, got ${show(shape)}`);
      }
      const C = shape[0] as number;
      for (const key of ["mean", "std"] as const) {
        const v = n[key];
        if (!Array.isArray(v) || v.length !== C || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
          throw fail(`${field(key)} must be ${C} finite numbers (one per channel), got ${show(v)}`);
        }
      }
      if (!(n.std as number[]).every((s) => s > 0)) throw fail(`${field("std")} must be positive, got ${show(n.std)}`);
      checkQuant(n.out, field("out"), fail);
      return;
    }
    case "layer": {
      if (typeof n.name !== "string" || n.name === "") throw fail(`${field("name")} must be a non-empty string, got ${show(n.name)}`);
      const named = `${at} (${quoted(n.name)})`;
      if (n.kind !== "mul" && n.kind !== "adder" && n.kind !== "shift") throw fail(`${named}: kind must be "mul", "adder" or "shift", got ${show(n.kind)}`);
      const g = n.geometry;
      if (!Array.isArray(g) || g.length !== 13 || !g.every((d) => isInt(d) && d >= 0 && d <= 1 << 24)) {
        throw fail(`${named}: geometry must be 13 non-negative integers [C, H, W, K, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups], got ${show(g)}`);
      }
      checkQuant(n.in, `${named}.in`, fail);
      if (!isInt(n.channelOffset) || n.channelOffset < 0) throw fail(`${named}: channelOffset must be a non-negative integer, got ${show(n.channelOffset)}`);
      if (n.kind === "shift") {
        const s = n.shift;
        if (!isObject(s) || !isInt(s.fieldBits) || !isInt(s.base)) throw fail(`${named}: a shift layer needs shift: { fieldBits, base } (integers), got ${show(s)}`);
        if (s.fieldBits < 1 || s.fieldBits > MAX_FIELD_BITS) throw fail(`${named}: shift.fieldBits must be 1…${MAX_FIELD_BITS}, got ${s.fieldBits}`);
        if (Math.abs(s.base) > MAX_BASE) throw fail(`${named}: shift.base ${s.base} is outside ±${MAX_BASE}`);
      }
      if (isLast) {
        if (n.requant !== undefined) throw fail(`${named}: the logits layer has no requant (its accumulators become f32 logits)`);
        const K = g[3] as number;
        const ls = n.logitScale, unit = n.logitUnit;
        if (unit !== undefined && (typeof unit !== "number" || !Number.isFinite(unit) || unit <= 0)) {
          throw fail(`${named}: logitUnit must be a finite positive number, got ${show(unit)}`);
        }
        if (ls === undefined && unit === undefined) throw fail(`${named}: the logits layer needs logitScale (or logitUnit)`);
        if (ls !== undefined && (!Array.isArray(ls) || ls.length !== K || !ls.every((x) => typeof x === "number" && Number.isFinite(x)))) {
          throw fail(`${named}: logitScale must be ${K} finite numbers (one per output), got ${show(ls)}`);
        }
      } else {
        const r = n.requant;
        if (!isObject(r)) throw fail(`${named}: a hidden layer needs requant: { outZp, lo, hi }`);
        const { outZp, lo, hi } = r;
        if (![outZp, lo, hi].every((v) => isInt(v) && v >= 0 && v <= 255)) {
          throw fail(`${named}: requant outZp, lo, hi must be integers in [0, 255], got ${show(r)}`);
        }
        if ((lo as number) > (hi as number)) throw fail(`${named}: requant lo ${lo} is above hi ${hi}`);
        checkQuant(n.out, `${named}.out`, fail);
        if ((n.out as Quant).zeroPoint !== outZp) throw fail(`${named}: requant.outZp ${outZp} differs from out.zeroPoint ${(n.out as Quant).zeroPoint}`);
      }
      return;
    }
    case "maxpool":
      for (const key of ["kh", "kw", "stride"]) {
        // ≤ 1023: the pool kernel packs the three into 10-bit fields
        if (!isInt(n[key]) || n[key] < 1 || n[key] > 1023) throw fail(`${field(key)} must be an integer from 1 to 1023, got ${show(n[key])}`);
      }
      return;
    case "avgpool":
    case "flatten":
      return;
    default:
      throw fail(`${field("op")} ${show(n.op)} is not one of input, layer, maxpool, avgpool, flatten`);
  }
}

function checkQuant(q: unknown, where: string, fail: Fail): void {
  if (!isObject(q)) throw fail(`${where} must be { scale, zeroPoint }, got ${show(q)}`);
  if (typeof q.scale !== "number" || !Number.isFinite(q.scale) || q.scale <= 0) throw fail(`${where}.scale must be a finite positive number, got ${show(q.scale)}`);
  if (!isInt(q.zeroPoint) || q.zeroPoint < 0 || q.zeroPoint > 255) throw fail(`${where}.zeroPoint must be an integer in [0, 255], got ${show(q.zeroPoint)}`);
}

// ---- data flow: geometry, tensors, requantization, accumulator range ---------------------------

interface Activation {
  C: number;
  H: number;
  W: number;
  quant: Quant;
}

type Requant = { bias: Int32Array; mult: Int16Array; shift: Uint8Array };

/** Where each layer sits and its geometry: what BundleLayer adds to the decoder's LayerData. */
type Place = Pick<BundleLayer, "index" | "shape" | "last">;

function checkFlow(graph: IntGraph, tensors: Record<string, TensorEntry>, requant: Requant, fail: Fail): Place[] {
  const input = graph.nodes[0] as InputNode;
  let act: Activation = { C: input.shape[0], H: input.shape[1], W: input.shape[2], quant: input.out };
  const layers: Place[] = [];
  let channels = 0;
  const names = new Set<string>();
  for (let i = 1; i < graph.nodes.length; i++) {
    const node = graph.nodes[i]!;
    const at = `graph.nodes[${i}]`;
    if (node.op === "maxpool") {
      if (node.kh > act.H || node.kw > act.W) throw fail(`${at}: a ${node.kh}×${node.kw} max pool does not fit the ${act.H}×${act.W} input`);
      act = { ...act, H: Math.floor((act.H - node.kh) / node.stride) + 1, W: Math.floor((act.W - node.kw) / node.stride) + 1 };
    } else if (node.op === "avgpool") {
      act = { ...act, H: 1, W: 1 };
    } else if (node.op === "flatten") {
      act = { ...act, C: act.C * act.H * act.W, H: 1, W: 1 };
    } else if (node.op === "layer") {
      if (names.has(node.name)) throw fail(`${at}: layer name ${quoted(node.name)} appears twice`);
      names.add(node.name);
      const layer = checkLayer(node, i, i === graph.nodes.length - 1, act, tensors, requant, channels, fail);
      channels += layer.shape.K;
      layers.push(layer);
      act = { C: layer.shape.K, H: layer.shape.OH, W: layer.shape.OW, quant: node.out ?? act.quant };
    } else {
      throw fail(`${at}: op "${node.op}" may only be nodes[0]`);
    }
  }
  const lastLayer = layers[layers.length - 1]!;
  const lastName = (graph.nodes[lastLayer.index] as LayerNode).name;
  if (lastLayer.shape.OH * lastLayer.shape.OW !== 1) {
    throw fail(`the logits layer ${quoted(lastName)} outputs ${lastLayer.shape.OH}×${lastLayer.shape.OW} positions; it must output one vector per image`);
  }
  if (lastLayer.shape.K !== graph.classes) throw fail(`graph.classes is ${graph.classes} but the logits layer ${quoted(lastName)} has ${lastLayer.shape.K} outputs`);
  for (const [key, t] of [[REQUANT_TENSORS.bias, requant.bias], [REQUANT_TENSORS.mult, requant.mult], [REQUANT_TENSORS.shift, requant.shift]] as const) {
    if (t.length !== channels) throw fail(`tensor ${quoted(key)} has ${t.length} entries, but the layers have ${channels} output channels in all`);
  }
  return layers;
}

function checkLayer(
  node: LayerNode, index: number, last: boolean, act: Activation, tensors: Record<string, TensorEntry>,
  requant: Requant, channelOffset: number, fail: Fail,
): Place {
  const named = `layer ${quoted(node.name)} (graph.nodes[${index}])`;
  const shape = geometryShape(node.geometry, named, fail);
  if (shape.C !== act.C || shape.H !== act.H || shape.W !== act.W) {
    throw fail(`${named} expects a ${shape.C}×${shape.H}×${shape.W} (C×H×W) input, but the previous node produces ${act.C}×${act.H}×${act.W}`);
  }
  if (node.in.zeroPoint !== act.quant.zeroPoint || !sameScale(node.in.scale, act.quant.scale)) {
    throw fail(`${named}: input quantization (scale ${node.in.scale}, zero point ${node.in.zeroPoint}) differs from the previous node's output (scale ${act.quant.scale}, zero point ${act.quant.zeroPoint})`);
  }
  if (node.channelOffset !== channelOffset) throw fail(`${named}: channelOffset is ${node.channelOffset}, expected ${channelOffset} (the layers' channels are concatenated in node order)`);
  const end = channelOffset + shape.K;
  if (requant.bias.length < end || requant.mult.length < end || requant.shift.length < end) {
    throw fail(`${named}: requant.bias/.mult/.shift end before this layer's channels ${channelOffset}…${end - 1}`);
  }
  if (!last) {
    for (let c = channelOffset; c < end; c++) {
      const sh = requant.shift[c]!;
      if (sh < 1 || sh > 52) throw fail(`${named}: requant.shift of channel ${c - channelOffset} is ${sh}, must be in [1, 52]`);
    }
  }
  const count = shape.K * shape.kh * shape.kw * (shape.C / shape.groups);
  const key = weightTensorName(node.name);
  const t = tensors[key];
  if (!t) throw fail(`tensor ${quoted(key)} of ${named} is missing`);
  if (t.dtype !== "U8") throw fail(`tensor ${quoted(key)} has dtype ${t.dtype}, expected U8`);
  if (node.kind === "shift") {
    const { fieldBits } = node.shift!;
    const bytes = packedBytes(count, fieldBits);
    if (t.data.length !== bytes) throw fail(`tensor ${quoted(key)} has ${t.data.length} bytes; ${count} shift weights of ${fieldBits}+1 bits pack into ${bytes}`);
  } else if (t.data.length !== count) {
    throw fail(`tensor ${quoted(key)} has ${t.data.length} bytes, expected K·kh·kw·C/groups = ${shape.K}·${shape.kh}·${shape.kw}·${shape.C / shape.groups} = ${count}`);
  }
  return { index, shape, last };
}

/** The largest |accumulator + bias| of each output channel must fit int32: the kernels never check. */
function checkAccumulatorRange(layer: BundleLayer, fail: Fail): void {
  const { shape, weights: w, bias } = layer;
  const taps = shape.kh * shape.kw * (shape.C / shape.groups);
  for (let k = 0; k < shape.K; k++) {
    let worst = 0;
    if (w.kind === "adder") worst = 255 * taps;
    else if (w.kind === "mul") for (let i = k * taps; i < (k + 1) * taps; i++) worst += 255 * Math.abs(w.w[i]!);
    else for (let i = k * taps; i < (k + 1) * taps; i++) if (w.sign[i] !== 0) worst += 255 * 2 ** w.shift[i]!;
    if (worst + Math.abs(bias[k]!) > INT32_MAX) {
      throw fail(`layer ${quoted(layer.node.name)} (graph.nodes[${layer.index}]): output channel ${k} can reach |accumulator + bias| = ${worst + Math.abs(bias[k]!)}, beyond int32`);
    }
  }
}

function geometryShape(g: Geometry, named: string, fail: Fail): Conv2dShape {
  const [C, H, W, K, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups] = g;
  const positive = { C, H, W, K, kh, kw, strideH, strideW, dilationH, dilationW, groups };
  for (const [k, v] of Object.entries(positive)) if (v < 1) throw fail(`${named}: geometry ${k} must be ≥ 1, got ${v}`);
  if (C % groups !== 0 || K % groups !== 0) throw fail(`${named}: ${C} input and ${K} output channels do not split into ${groups} groups`);
  const OH = Math.floor((H + 2 * padH - dilationH * (kh - 1) - 1) / strideH) + 1;
  const OW = Math.floor((W + 2 * padW - dilationW * (kw - 1) - 1) / strideW) + 1;
  if (OH < 1 || OW < 1) throw fail(`${named}: a ${kh}×${kw} kernel does not fit the ${H}×${W} input with padding ${padH}, ${padW}`);
  return { N: 1, C, H, W, K, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups, OH, OW };
}

/** Scales travel through JSON as shortest round-trip decimals, so equal means equal up to rounding noise. */
function sameScale(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const show = (v: unknown) => preview(v, 80);

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v !== "object") return typeof v;
  return (v as object).constructor?.name ?? "object";
}
