// Export: a trained float model → its integer graph and the bundle's tensors. Calibrates the
// activations (calibrate.ts), quantizes each weight layer by kind (quantize_layers.ts) and folds
// bias, BatchNorm and the scales into the requantization (fold.ts). See docs/deploy.md.
import type { TensorEntry } from "../../io/safetensors.js";
import type { AdderLayer } from "../../nn/adder.js";
import type { Conv2d } from "../../nn/conv.js";
import type { Module } from "../../nn/module.js";
import { ShiftLayer } from "../../nn/shift.js";
import { inputQuant, sevenDigits } from "../run/defaults.js";
import { calibrate, chooseQuant, type RangeMethod } from "./calibrate.js";
import { ExportError, type LayerStep } from "./chain.js";
import { foldBatchNorm, foldRequant } from "./fold.js";
import { REQUANT_TENSORS, weightTensorName, type IntGraph, type IntNode, type LayerNode, type Quant } from "../run/format.js";
import { quantizeAdder, quantizeMul, quantizeShift, type QuantizedWeights } from "./quantize_layers.js";
import { oihwToOhwi } from "./weights_layout.js";

export interface ExportOptions {
  /** The normalisation the model was trained with; the bundle applies it to [0, 1] pixels. */
  mean: number[];
  std: number[];
  /** How calibrated ranges become scales (default: min/max). */
  range?: RangeMethod;
}

export interface ExportedLayer {
  name: string;
  kind: LayerNode["kind"];
  weights: number;
  weightBytes: number;
  fieldBits?: number;
  base?: number;
  in: Quant;
  out: Quant | null;
}

export interface ExportResult {
  graph: IntGraph;
  tensors: Record<string, TensorEntry>;
  layers: ExportedLayer[];
  warnings: string[];
  calibrationImages: number;
}

const compactQuant = (q: Quant): Quant => ({ scale: sevenDigits(q.scale), zeroPoint: q.zeroPoint });

/** The layer's float weights in OHWI order (NHWC column order after a flatten), and its bias. */
function floatWeights(step: LayerStep): { w: Float32Array | null; sign: Int8Array | null; p: Int8Array | null; bias: ArrayLike<number> | null } {
  const [C, , , K, kh, kw, , , , , , , groups] = step.geometry;
  // after a flatten, the columns are (c, h, w) of the flattened tensor: the same permutation with kh × kw = H × W
  const [Cg, KH, KW] = step.flattenedFrom ?? [C / groups, kh, kw];
  const m = step.module;
  if (m instanceof ShiftLayer) {
    const { sign, shift } = m.shiftsAndSigns();
    return {
      w: null,
      sign: oihwToOhwi(sign, new Int8Array(sign.length), K, Cg, KH, KW),
      p: oihwToOhwi(shift, new Int8Array(shift.length), K, Cg, KH, KW),
      bias: m.effectiveBias(),
    };
  }
  const layer = m as Conv2d | AdderLayer;
  const w = layer.weight.data;
  return { w: oihwToOhwi(w, new Float32Array(w.length), K, Cg, KH, KW), sign: null, p: null, bias: layer.bias?.data ?? null };
}

function quantizeWeights(step: LayerStep, input: Quant): { q: QuantizedWeights; bias: ArrayLike<number> | null } {
  const K = step.geometry[3];
  const f = floatWeights(step);
  if (step.kind === "shift") return { q: quantizeShift(f.sign!, f.p!, K, input), bias: f.bias };
  if (step.kind === "adder") return { q: quantizeAdder(f.w!, K, input), bias: f.bias };
  return { q: quantizeMul(f.w!, K, input), bias: f.bias };
}

/** images: n normalised NCHW calibration samples of `shape` (the first training images). */
export function exportModel(model: Module, images: Float32Array, n: number, shape: [number, number, number], options: ExportOptions): ExportResult {
  const range = options.range ?? { kind: "minmax" };
  const { steps, ranges, images: used } = calibrate(model, images, n, shape);
  const layerSteps = steps.filter((s): s is LayerStep => s.op === "layer");
  const lastLayer = layerSteps[layerSteps.length - 1];

  let current = inputQuant(options.mean, options.std);
  const nodes: IntNode[] = [{ op: "input", shape, mean: [...options.mean], std: [...options.std], out: current }];
  const tensors: Record<string, TensorEntry> = {};
  const biases: Int32Array[] = [], mults: Int32Array[] = [], shifts: Uint8Array[] = [];
  const layers: ExportedLayer[] = [];
  const warnings: string[] = [];
  let channels = 0;

  for (const step of steps) {
    if (step.op !== "layer") {
      nodes.push(step.op === "maxpool" ? { op: "maxpool", kh: step.kh, kw: step.kw, stride: step.stride } : { op: step.op });
      continue;
    }
    const K = step.geometry[3];
    const isLast = step === lastLayer;
    const { q, bias } = quantizeWeights(step, current);
    const bn = step.bn?.module;
    const { a, d } = foldBatchNorm(K, bn ? { weight: bn.weight?.data ?? null, bias: bn.bias?.data ?? null, runningMean: bn.runningMean.data, runningVar: bn.runningVar.data, eps: bn.eps } : null, bias);
    const out = isLast ? null : compactQuant(chooseQuant(ranges.get(step.outCall)!, step.relu, range));
    const r = foldRequant(step.name, q.acc, a, d, out, sevenDigits);
    if (r.constantChannels.length) warnings.push(`${step.name}: channel(s) ${r.constantChannels.join(", ")} have BatchNorm γ = 0 and output the zero point`);
    if (q.flushed) warnings.push(`${step.name}: ${q.flushed} weight(s) below 2^${q.shift!.base} became 0 so the shift sums fit int32`);

    const node: LayerNode = { op: "layer", name: step.name, kind: step.kind, geometry: step.geometry, in: current, channelOffset: channels };
    if (q.shift) node.shift = q.shift;
    if (out) {
      node.requant = { outZp: out.zeroPoint, lo: step.relu ? out.zeroPoint : 0, hi: 255 };
      node.out = out;
    } else {
      node.logitScale = Array.from(r.logitScale);
      node.logitUnit = r.logitUnit;
    }
    nodes.push(node);
    tensors[weightTensorName(step.name)] = { dtype: "U8", shape: [q.stored.length], data: q.stored };
    biases.push(r.bias);
    mults.push(r.mult);
    shifts.push(r.shift);
    channels += K;
    layers.push({
      name: step.name, kind: step.kind, weights: q.weights.kind === "shift" ? q.weights.sign.length : q.weights.w.length,
      weightBytes: q.stored.length, ...(q.shift ? { fieldBits: q.shift.fieldBits, base: q.shift.base } : {}), in: current, out,
    });
    if (out) current = out;
  }
  if (!lastLayer) throw new ExportError("the model has no weight layer");

  const concat = <T extends Int32Array | Uint8Array>(parts: T[], make: (n: number) => T): T => {
    const all = make(channels);
    let at = 0;
    for (const p of parts) (all.set(p as never, at), (at += p.length));
    return all;
  };
  const mult = concat(mults, (k) => new Int32Array(k));
  tensors[REQUANT_TENSORS.bias] = { dtype: "I32", shape: [channels], data: concat(biases, (k) => new Int32Array(k)) };
  tensors[REQUANT_TENSORS.mult] = { dtype: "I16", shape: [channels], data: Int16Array.from(mult) };
  tensors[REQUANT_TENSORS.shift] = { dtype: "U8", shape: [channels], data: concat(shifts, (k) => new Uint8Array(k)) };
  return { graph: { nodes, classes: lastLayer.geometry[3] }, tensors, layers, warnings, calibrationImages: used };
}
