// A bundle's tensors, read into its layers: each layer's weight tensor (unpacked) and its slice of
// the requantization tensors, every dtype, size and range checked. Nothing a runner relies on is
// left unchecked: in particular no accumulator can leave int32, which the kernels do not check.
import { quoted } from "../../io/json.js";
import type { TensorEntry } from "../../io/safetensors.js";
import { accumulatorReach } from "./accumulator_reach.js";
import type { BundleLayer, LayerWeights } from "./bundle.js";
import type { Fail } from "./check_graph.js";
import { logitFactor, MAX_REQUANT_SHIFT, REQUANT_TENSORS, weightTensorName, type IntGraph, type LayerNode } from "./format.js";
import { packedBitsBytes, unpackBits } from "./pack_bits.js";
import { packedBytes, unpackShifts } from "./pack_shift.js";
import { layerShape, nodeLabel } from "./shapes.js";

const INT32_MAX = 2 ** 31 - 1;

/** The layers of a checked graph with their tensors; refuses tensors no layer reads. */
export function decodeLayers(graph: IntGraph, tensors: Record<string, TensorEntry>, fail: Fail): BundleLayer[] {
  /** A tensor of this dtype (its shape is free: only its length counts, except where `vector`). */
  const tensor = (key: string, dtype: string, { of = "", vector = false } = {}): TensorEntry => {
    const t = tensors[key];
    if (!t) throw fail(`tensor ${quoted(key)}${of} is missing`);
    if (t.dtype !== dtype) throw fail(`tensor ${quoted(key)} has dtype ${t.dtype}, expected ${dtype}`);
    if (vector && t.shape.length !== 1) throw fail(`tensor ${quoted(key)} must be 1-D, has shape [${t.shape.join(", ")}]`);
    return t;
  };
  const bias = tensor(REQUANT_TENSORS.bias, "I32", { vector: true }).data as Int32Array;
  const mult = tensor(REQUANT_TENSORS.mult, "I16", { vector: true }).data as Int16Array;
  const rshift = tensor(REQUANT_TENSORS.shift, "U8", { vector: true }).data as Uint8Array;
  const last = graph.nodes.length - 1;
  const names = new Set<string>(Object.values(REQUANT_TENSORS));
  const layers: BundleLayer[] = [];
  let channels = 0;
  graph.nodes.forEach((node, index) => {
    if (node.op !== "layer") return;
    const named = nodeLabel(graph, index);
    const key = weightTensorName(node.name);
    if (names.has(key)) throw fail(`${named}: layer name ${quoted(node.name)} appears twice`);
    names.add(key);
    const shape = layerShape(node, 1);
    const at = node.channelOffset, K = shape.K;
    channels = at + K;
    if (bias.length < channels || mult.length < channels || rshift.length < channels) {
      throw fail(`${named}: requant.bias/.mult/.shift end before this layer's channels ${at}…${channels - 1}`);
    }
    const layer: BundleLayer = {
      index, node, shape, last: index === last,
      weights: layerWeights(node, shape.K * shape.kh * shape.kw * (shape.C / shape.groups), tensor(key, "U8", { of: ` of ${named}` }), named, fail),
      bias: bias.slice(at, at + K), mult: Int32Array.from(mult.subarray(at, at + K)), shift: rshift.slice(at, at + K),
    };
    if (layer.last) node.logitScale ??= Array.from({ length: K }, (_, c) => logitFactor(node.logitUnit!, layer.mult[c]!, layer.shift[c]!));
    else checkShifts(layer, named, fail);
    checkAccumulatorRange(layer, named, fail);
    layers.push(layer);
  });
  for (const [key, t] of [[REQUANT_TENSORS.bias, bias], [REQUANT_TENSORS.mult, mult], [REQUANT_TENSORS.shift, rshift]] as const) {
    if (t.length !== channels) throw fail(`tensor ${quoted(key)} has ${t.length} entries, but the layers have ${channels} output channels in all`);
  }
  const extra = Object.keys(tensors).find((k) => !names.has(k));
  if (extra !== undefined) throw fail(`tensor ${quoted(extra)} belongs to no layer of the graph`);
  return layers;
}

function layerWeights(node: LayerNode, count: number, t: TensorEntry, named: string, fail: Fail): LayerWeights {
  const key = quoted(weightTensorName(node.name));
  const bytes = t.data as Uint8Array;
  if (node.kind === "shift") {
    const { fieldBits } = node.shift!;
    const need = packedBytes(count, fieldBits);
    if (bytes.length !== need) throw fail(`tensor ${key} has ${bytes.length} bytes; ${count} shift weights of ${fieldBits}+1 bits pack into ${need}`);
    try {
      return { kind: "shift", ...unpackShifts(bytes, count, fieldBits) };
    } catch (e) {
      throw fail(`${named}: ${(e as Error).message}`);
    }
  }
  if (node.weightBits !== undefined) {
    const bits = node.weightBits, need = packedBitsBytes(count, bits);
    if (bytes.length !== need) throw fail(`tensor ${key} has ${bytes.length} bytes; ${count} weights of ${bits} bits pack into ${need}`);
    try {
      const w = unpackBits(bytes, count, bits, node.kind === "mul");
      return node.kind === "adder" ? { kind: "adder", w: w as Uint8Array } : { kind: "mul", w: w as Int8Array };
    } catch (e) {
      throw fail(`${named}: ${(e as Error).message}`);
    }
  }
  if (bytes.length !== count) throw fail(`tensor ${key} has ${bytes.length} bytes, expected K·kh·kw·C/groups = ${count}`);
  return node.kind === "adder" ? { kind: "adder", w: bytes } : { kind: "mul", w: new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length) };
}

function checkShifts(layer: BundleLayer, named: string, fail: Fail): void {
  for (let c = 0; c < layer.shift.length; c++) {
    const s = layer.shift[c]!;
    if (s < 1 || s > MAX_REQUANT_SHIFT) throw fail(`${named}: requant.shift of channel ${c} is ${s}, must be in [1, ${MAX_REQUANT_SHIFT}]`);
  }
}

/** The largest |accumulator·2^biasBits + bias| of each output channel must fit int32: the kernels never check. */
function checkAccumulatorRange(layer: BundleLayer, named: string, fail: Fail): void {
  const reachOf = accumulatorReach(layer.weights, layer.shape.K);
  for (let k = 0; k < layer.shape.K; k++) {
    const reach = reachOf[k]! * 2 ** (layer.node.biasBits ?? 0) + Math.abs(layer.bias[k]!);
    if (reach > INT32_MAX) throw fail(`${named}: output channel ${k} can reach |accumulator·2^biasBits + bias| = ${reach}, beyond int32`);
  }
}
