// Export: a trained float model → its integer graph and the bundle's tensors. Calibrates the
// activations (./calibrate.ts, which learns the graph: ./trace_graph.ts), quantizes each weight
// layer by kind (./quantize_layers.ts), folds bias, BatchNorm and the scales into the
// requantization (./fold.ts), and gives each residual add its multipliers (./requant_add.ts).
// Step k of the traced graph is node k + 1 of the integer graph (node 0 is the input). See
// docs/deploy.md.
import type { TensorEntry } from "../../io/safetensors.js";
import type { AdderLayer } from "../../nn/adder.js";
import type { Conv2d } from "../../nn/conv.js";
import type { Module } from "../../nn/module.js";
import { ShiftLayer } from "../../nn/shift.js";
import { inputQuant, quantFromRange, sevenDigits } from "../run/defaults.js";
import { packBits } from "../run/pack_bits.js";
import { REQUANT_TENSORS, weightTensorName, type IntGraph, type IntNode, type LayerNode, type Quant } from "../run/format.js";
import { calibrate, chooseQuant, type RangeMethod, type RangeStats } from "./calibrate.js";
import { ExportError } from "./errors.js";
import { foldBatchNorm, foldRequant, type Requant } from "./fold.js";
import { quantizeAdder, quantizeMul, quantizeShift, type QuantizedWeights } from "./quantize_layers.js";
import { addMultipliers } from "./requant_add.js";
import type { AddStep, GraphStep, LayerStep } from "./trace_graph.js";
import { oihwToOhwi } from "./weights_layout.js";

export interface ExportOptions {
  /** The normalisation the model was trained with; the bundle applies it to [0, 1] pixels. */
  mean: number[];
  std: number[];
  /** How calibrated ranges become scales (default: min/max). */
  range?: RangeMethod;
  /**
   * Bits of the activations and multiply weights inside the network (4–8, default 8): codes
   * 0 .. 2^B − 1 and ±(2^(B−1) − 1), stored in bytes. The input stays 8-bit; shift weights keep
   * their own sign and shift fields.
   */
  bits?: number;
  /**
   * Input ranges learned by quantization-aware training (`train --qat`), by weight layer name: the
   * value feeding such a layer is quantized over its range instead of the calibrated one, so the
   * layer sees the grid its weights were trained on (an adder layer's weights lie on that grid).
   */
  learnedRanges?: Record<string, [number, number]>;
}

export const MIN_BITS = 4, MAX_BITS = 8;

export interface ExportedLayer {
  name: string;
  kind: LayerNode["kind"];
  weights: number;
  weightBytes: number;
  /** Bits per packed weight (B-bit export of adder and multiply layers). */
  weightBits?: number;
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

const storedQuant = (q: Quant): Quant => ({ scale: sevenDigits(q.scale), zeroPoint: q.zeroPoint });

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

function quantizeWeights(step: LayerStep, input: Quant, inLevels: number, bits: number): { q: QuantizedWeights; bias: ArrayLike<number> | null } {
  const K = step.geometry[3];
  const f = floatWeights(step);
  if (step.kind === "shift") return { q: quantizeShift(f.sign!, f.p!, K, input), bias: f.bias };
  if (step.kind === "adder") return { q: quantizeAdder(f.w!, K, input, inLevels), bias: f.bias };
  return { q: quantizeMul(f.w!, K, input, 2 ** (bits - 1) - 1), bias: f.bias };
}

/** The integer graph and tensors of one model, built step by step. */
class GraphExport {
  readonly nodes: IntNode[];
  /** The quantization of every node's output (the logits layer: none). */
  private readonly quants: Array<Quant | null>;
  readonly tensors: Record<string, TensorEntry> = {};
  readonly layers: ExportedLayer[] = [];
  readonly warnings: string[] = [];
  private readonly requant: Requant[] = [];
  private channels = 0;

  /** The largest code of every node's output: 255 for the input, 2^bits − 1 after a layer or add. */
  private readonly levelsOf: number[];
  private readonly levels: number;

  constructor(
    shape: [number, number, number],
    options: ExportOptions,
    private readonly ranges: Map<GraphStep, RangeStats>,
    private readonly method: RangeMethod,
    private readonly bits: number,
    private readonly learned: Map<GraphStep, [number, number]>,
  ) {
    const out = inputQuant(options.mean, options.std);
    this.nodes = [{ op: "input", shape, mean: [...options.mean], std: [...options.std], out }];
    this.quants = [out];
    this.levelsOf = [255];
    this.levels = 2 ** bits - 1;
  }

  /** Step k of the traced graph as node k + 1. */
  add(step: GraphStep, last: boolean): void {
    const index = this.nodes.length;
    const node = (from: number) => (from + 1 === index - 1 ? {} : { from: from + 1 });
    const quantOf = (from: number) => this.quants[from + 1]!;
    const levelsOf = (from: number) => this.levelsOf[from + 1]!;
    switch (step.op) {
      case "layer":
        return this.layer(step, last, node(step.from), quantOf(step.from), levelsOf(step.from));
      case "add": {
        const [a, b] = step.from;
        const out = this.outputQuant(step);
        const { mult, shift } = addMultipliers(quantOf(a), quantOf(b), out, `the residual add at node ${index}`);
        this.push({ op: "add", from: [a + 1, b + 1], mult, shift, requant: { outZp: out.zeroPoint, lo: step.relu ? out.zeroPoint : 0, hi: this.levels }, out }, out, this.levels);
        return;
      }
      case "maxpool":
        return this.push({ op: "maxpool", ...node(step.from), kh: step.kh, kw: step.kw, stride: step.stride }, quantOf(step.from), levelsOf(step.from));
      case "avgpool":
        return this.push({ op: "avgpool", ...node(step.from), ...(step.window ?? {}) }, quantOf(step.from), levelsOf(step.from));
      case "flatten":
        return this.push({ op: "flatten", ...node(step.from) }, quantOf(step.from), levelsOf(step.from));
    }
  }

  /** A step's output quantization: over the range QAT learned for its readers, else the calibrated one. */
  private outputQuant(step: LayerStep | AddStep): Quant {
    const learned = this.learned.get(step);
    if (learned) return storedQuant(quantFromRange(step.relu ? 0 : learned[0], learned[1], this.levels));
    return storedQuant(chooseQuant(this.ranges.get(step)!, step.relu, this.method, this.levels));
  }

  private push(node: IntNode, quant: Quant | null, levels: number): void {
    this.nodes.push(node);
    this.quants.push(quant);
    this.levelsOf.push(levels);
  }

  private layer(step: LayerStep, last: boolean, from: { from?: number }, input: Quant, inLevels: number): void {
    const K = step.geometry[3];
    const { q, bias } = quantizeWeights(step, input, inLevels, this.bits);
    const bn = step.bn?.module;
    const { a, d } = foldBatchNorm(K, bn ? { weight: bn.weight?.data ?? null, bias: bn.bias?.data ?? null, runningMean: bn.runningMean.data, runningVar: bn.runningVar.data, eps: bn.eps } : null, bias);
    const out = last ? null : this.outputQuant(step);
    const r = foldRequant(step.name, q.acc, a, d, out, sevenDigits);
    if (r.constantChannels.length) this.warnings.push(`${step.name}: channel(s) ${r.constantChannels.join(", ")} are switched off (BatchNorm γ ≈ 0: no input moves them by half a step) and output the zero point`);
    if (q.flushed) this.warnings.push(`${step.name}: ${q.flushed} weight(s) below 2^${q.shift!.base} became 0 so the shift sums fit int32`);

    const node: LayerNode = { op: "layer", ...from, name: step.name, kind: step.kind, geometry: step.geometry, in: input, channelOffset: this.channels };
    if (q.shift) node.shift = q.shift;
    if (r.biasBits) node.biasBits = r.biasBits;
    // B-bit weights are packed B to the bit; a first adder layer shares the 8-bit input's grid
    let stored = q.stored;
    if (this.bits < 8 && q.weights.kind !== "shift" && (q.weights.kind === "mul" || inLevels < 255)) {
      node.weightBits = this.bits;
      stored = packBits(q.weights.w, this.bits);
    }
    if (out) {
      node.requant = { outZp: out.zeroPoint, lo: step.relu ? out.zeroPoint : 0, hi: this.levels };
      node.out = out;
    } else {
      node.logitScale = Array.from(r.logitScale);
      node.logitUnit = r.logitUnit;
    }
    this.push(node, out, this.levels);
    this.tensors[weightTensorName(step.name)] = { dtype: "U8", shape: [stored.length], data: stored };
    this.requant.push(r);
    this.channels += K;
    this.layers.push({
      name: step.name, kind: step.kind, weights: q.weights.kind === "shift" ? q.weights.sign.length : q.weights.w.length,
      weightBytes: stored.length, ...(node.weightBits ? { weightBits: node.weightBits } : {}), ...(q.shift ? { fieldBits: q.shift.fieldBits, base: q.shift.base } : {}), in: input, out,
    });
  }

  /** The three requant tensors: every layer's channels, in node order. */
  requantTensors(): void {
    const concat = <T extends Int32Array | Uint8Array>(part: (r: Requant) => T, make: (n: number) => T): T => {
      const all = make(this.channels);
      let at = 0;
      for (const r of this.requant) {
        const p = part(r);
        all.set(p as never, at);
        at += p.length;
      }
      return all;
    };
    const n = [this.channels];
    this.tensors[REQUANT_TENSORS.bias] = { dtype: "I32", shape: n, data: concat((r) => r.bias, (k) => new Int32Array(k)) };
    this.tensors[REQUANT_TENSORS.mult] = { dtype: "I16", shape: n, data: Int16Array.from(concat((r) => r.mult, (k) => new Int32Array(k))) };
    this.tensors[REQUANT_TENSORS.shift] = { dtype: "U8", shape: n, data: concat((r) => r.shift, (k) => new Uint8Array(k)) };
  }
}

/**
 * QAT's input ranges, recorded by name for weight layers and average pools (train/qat.ts), as
 * ranges of the steps that produce those inputs: through max pools and flattens, which keep a
 * range, but not through average pools, which narrow it (a layer after one reads the pool's grid,
 * and the pool records the range before). Two readers of one output share the union of their
 * ranges; the image keeps its 8-bit grid.
 */
function learnedOutputRanges(steps: GraphStep[], inputRanges: Record<string, [number, number]> | undefined): Map<GraphStep, [number, number]> {
  const out = new Map<GraphStep, [number, number]>();
  for (const step of steps) {
    if (step.op !== "layer" && step.op !== "avgpool") continue;
    const range = inputRanges?.[step.name];
    if (!range) continue;
    let from = step.from;
    for (let s = steps[from]; s && (s.op === "maxpool" || s.op === "flatten"); s = steps[from]) from = s.from;
    const producer = steps[from];
    if (!producer || (producer.op !== "layer" && producer.op !== "add")) continue;
    const seen = out.get(producer);
    out.set(producer, seen ? [Math.min(seen[0], range[0]), Math.max(seen[1], range[1])] : [range[0], range[1]]);
  }
  return out;
}

/** images: n normalised NCHW calibration samples of `shape` (the first training images). */
export function exportModel(model: Module, images: Float32Array, n: number, shape: [number, number, number], options: ExportOptions): ExportResult {
  const method = options.range ?? { kind: "minmax" };
  const bits = options.bits ?? MAX_BITS;
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) throw new ExportError(`bits must be an integer from ${MIN_BITS} to ${MAX_BITS}, got ${bits}`);
  const { steps, ranges, images: used } = calibrate(model, images, n, shape, method.kind === "percentile");
  if (!steps.some((s) => s.op === "layer")) throw new ExportError("the model has no weight layer");
  const g = new GraphExport(shape, options, ranges, method, bits, learnedOutputRanges(steps, options.learnedRanges));
  steps.forEach((step, k) => g.add(step, k === steps.length - 1));
  g.requantTensors();
  const last = steps[steps.length - 1] as LayerStep;
  return { graph: { nodes: g.nodes, classes: last.geometry[3] }, tensors: g.tensors, layers: g.layers, warnings: g.warnings, calibrationImages: used };
}
