// Operation counts of a deployment bundle's integer graph (src/deploy/graph.ts), for one image,
// following the exact arithmetic of src/kernels/reference/int8.ts:
// - input quantization: q = clamp(round(a·x + b)) per pixel (the normalisation folded into a, b);
// - weight layers count every tap, padded ones included (they read the pad value): an adder tap
//   is one u8 subtraction (|·| free: the kernels take sub_sat(a,b) | sub_sat(b,a)) plus an i32
//   accumulation; a multiply tap an i8×u8 product plus an i32 accumulation; a shift tap a shift
//   plus an i32 add or subtract;
// - requantization per output value: (acc + bias)·mult, + rounding, >> shift, + zero point,
//   clamp to [lo, hi] (lo fuses the ReLU) — BatchNorm, the layer scale and ReLU all live here;
// - the last layer's logits: (acc + bias) per class, × scale to f32; then softmax.
import type { Dtype } from "../io/safetensors.js";
import { REQUANT_TENSORS, weightTensorName, type IntGraph, type LayerNode } from "../deploy/run/format.js";
import { softmaxRow } from "./ops.js";
import { buildReport, layerRow, outSize, uniqueNamer, type LayerOps, type OpCount, type OpsReport } from "./op_counts.js";

/** What the counter needs of each bundle tensor (the safetensors header has it). */
export interface TensorInfo {
  dtype: Dtype;
  elements: number;
  bytes: number;
}


/** Shape [C, H, W] of one image between nodes. */
type Shape = [number, number, number];

/** A bundle whose graph does not fit together; the message names the file and the node. */
export class BundleGraphError extends Error {}

function tapOps(node: LayerNode, n: number): OpCount[] {
  switch (node.kind) {
    case "adder":
      return [
        { kind: "add", type: "int8", count: n, what: "x − w (u8, |·| free)" },
        { kind: "add", type: "int32", count: n, what: "accumulate" },
      ];
    case "mul":
      return [
        { kind: "mul", type: "int8", count: n, what: "x·w (u8 × i8)" },
        { kind: "add", type: "int32", count: n, what: "accumulate" },
      ];
    case "shift":
      return [
        { kind: "shift", type: "int32", count: n, what: "x << (p − base)" },
        { kind: "add", type: "int32", count: n, what: "± accumulate (sign folded in)" },
      ];
    default:
      throw new BundleGraphError(`layer '${node.name}' has unknown kind '${String((node as { kind: unknown }).kind)}'`);
  }
}

function requantOps(values: number): OpCount[] {
  return [
    { kind: "add", type: "int32", count: values, what: "acc + bias" },
    { kind: "mul", type: "int64", count: values, what: "× mult (i32 × i16 → i64)" },
    { kind: "add", type: "int64", count: values, what: "+ rounding" },
    { kind: "shift", type: "int64", count: values, what: ">> shift" },
    { kind: "add", type: "int32", count: values, what: "+ zero point" },
    { kind: "cmp", type: "int32", count: 2 * values, what: "clamp [lo, hi] (ReLU fused)" },
  ];
}

/** Bytes of the per-channel requantization tensors that belong to channels [offset, offset + K). */
function requantBytes(tensors: Record<string, TensorInfo>, offset: number, K: number, used: Map<string, number>): number {
  let bytes = 0;
  for (const name of Object.values(REQUANT_TENSORS)) {
    const t = tensors[name];
    if (!t || offset + K > t.elements) continue;
    const b = K * (t.bytes / t.elements);
    bytes += b;
    used.set(name, (used.get(name) ?? 0) + b);
  }
  return bytes;
}

function kindLabel(node: LayerNode): string {
  return node.kind === "mul" ? "int8 mul" : node.kind === "adder" ? "int8 adder" : "shift";
}

export interface BundleInfo {
  /** Named in errors (usually the path). */
  source?: string;
  model?: string;
  op?: string;
  fileBytes?: number;
}

/**
 * Count one image through `graph` (the full graph, as decodeBundle or expandGraph return it);
 * `tensors` are the bundle's, for the weight bytes.
 */
export function countIntOps(graph: IntGraph, tensors: Record<string, TensorInfo>, info: BundleInfo = {}): OpsReport {
  const { source = "bundle", fileBytes } = info;
  const fail = (m: string) => new BundleGraphError(`${source}: ${m}`);
  if (!graph || !Array.isArray(graph.nodes) || graph.nodes.length < 2) throw fail("the graph has no nodes");
  const first = graph.nodes[0];
  if (first.op !== "input") throw fail(`the first node is '${first.op}', expected 'input'`);
  let shape: Shape = [...first.shape];
  const rows: LayerOps[] = [];
  const pixels = shape[0] * shape[1] * shape[2];
  rows.push(layerRow("input", "quantize", `${pixels} pixels → u8, q = clamp(round(a·x + b))`, [
    { kind: "mul", type: "fp32", count: pixels, what: "a·x" },
    { kind: "add", type: "fp32", count: pixels, what: "+ b (+ ½)" },
    { kind: "cmp", type: "fp32", count: 2 * pixels, what: "clamp to [0, 255]" },
  ]));
  const used = new Map<string, number>();
  const unique = uniqueNamer();
  for (let i = 1; i < graph.nodes.length; i++) {
    const node = graph.nodes[i];
    const last = i === graph.nodes.length - 1;
    switch (node.op) {
      case "layer": {
        const g = node.geometry;
        if (!Array.isArray(g) || g.length !== 13 || !g.every((v) => Number.isInteger(v) && v >= 0)) throw fail(`layer '${node.name}' has a bad geometry ${JSON.stringify(g)}`);
        const [C, H, W, K, kh, kw, sh, sw, ph, pw, dh, dw, groups] = g;
        if (C * H * W !== shape[0] * shape[1] * shape[2]) {
          throw fail(`layer '${node.name}' takes ${C}×${H}×${W} values but the node before gives ${shape.join("×")}`);
        }
        const OH = outSize(H, kh, sh, ph, dh), OW = outSize(W, kw, sw, pw, dw);
        if (OH < 1 || OW < 1 || groups < 1 || C % groups || K % groups) throw fail(`layer '${node.name}' has an impossible geometry ${JSON.stringify(g)}`);
        const taps = (C / groups) * kh * kw, outputs = K * OH * OW;
        const w = tensors[weightTensorName(node.name)];
        if (!w) throw fail(`tensor '${weightTensorName(node.name)}' is missing`);
        used.set(weightTensorName(node.name), w.bytes);
        const detail = kh * kw === 1 && H * W === 1 ? `${C}→${K}` : `${C}→${K} ${kh}×${kw}, out ${K}×${OH}×${OW}, ${taps} taps/out`;
        rows.push(layerRow(node.name, kindLabel(node), detail, tapOps(node, outputs * taps), w.bytes));
        const qBytes = requantBytes(tensors, node.channelOffset, K, used);
        if (last) {
          rows.push(layerRow(`${node.name}.logits`, "dequantize", `${K} logits, scale·(acc + bias) → f32`, [
            { kind: "add", type: "int32", count: outputs, what: "acc + bias" },
            { kind: "mul", type: "fp32", count: outputs, what: "× scale" },
          ], qBytes));
        } else {
          if (!node.requant) throw fail(`hidden layer '${node.name}' has no requantization`);
          const relu = node.requant.lo === node.requant.outZp ? ", ReLU fused" : "";
          rows.push(layerRow(`${node.name}.requant`, "requant", `${outputs} values${relu}; BatchNorm and scale folded in`, requantOps(outputs), qBytes));
        }
        shape = [K, OH, OW];
        break;
      }
      case "maxpool": {
        const [C, H, W] = shape;
        const OH = Math.floor((H - node.kh) / node.stride) + 1, OW = Math.floor((W - node.kw) / node.stride) + 1;
        if (!(OH >= 1 && OW >= 1)) throw fail(`maxpool ${node.kh}×${node.kw} does not fit ${H}×${W}`);
        shape = [C, OH, OW];
        rows.push(layerRow(unique("pool"), "maxpool", `${node.kh}×${node.kw}, out ${shape.join("×")}`, [
          { kind: "cmp", type: "int8", count: C * OH * OW * (node.kh * node.kw - 1), what: "window max (u8)" },
        ]));
        break;
      }
      case "avgpool": {
        const [C, H, W] = shape;
        shape = [C, 1, 1];
        rows.push(layerRow(unique("avgpool"), "avgpool", `global ${H}×${W}, ${C} channels`, [
          { kind: "add", type: "int32", count: C * (H * W - 1), what: "sum over H·W" },
          { kind: "add", type: "int32", count: C, what: "+ H·W/2 (rounding)" },
          { kind: "div", type: "int32", count: C, what: "/ H·W" },
        ]));
        break;
      }
      case "flatten":
        shape = [shape[0] * shape[1] * shape[2], 1, 1];
        break;
      default:
        throw fail(`unknown node '${String((node as { op: unknown }).op)}' at position ${i}`);
    }
    if (last && node.op !== "layer") throw fail(`the last node is '${node.op}', expected the logits layer`);
  }
  rows.push(softmaxRow(graph.classes));

  const unattributed = Object.entries(tensors).reduce((a, [name, t]) => a + t.bytes - (used.get(name) ?? 0), 0);
  if (unattributed > 0) rows.push(layerRow("other tensors", "data", "bundle tensors no layer claims", [], unattributed));
  const notes = [
    "integer graph: the deployment bundle's arithmetic (src/kernels/reference/int8.ts), one image",
    "weight layers count every tap (padding included) and one accumulating add per tap, as the AdderNet paper counts",
    "requant rows hold BatchNorm, the layer scale and ReLU: one i32 × i16 multiply per output value",
  ];
  if (fileBytes !== undefined) notes.push(`bundle file: ${fileBytes} bytes (weight bytes are tensor data; the rest is the header)`);
  return buildReport("integer", info.model ?? "?", info.op ?? "?", rows, notes);
}
