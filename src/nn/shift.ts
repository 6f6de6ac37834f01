// DeepShift layers. Every weight is 0 or ±2^p with p ∈ [min, 0], so a multiplication becomes a
// shift and a sign flip. Two ways to train them (docs/deepshift.md, "DeepShift-Q" and "DeepShift-PS"):
//   mode 'q':  a latent float `weight`, rounded to ±2^p in every forward pass;
//   mode 'ps': a trainable `shift` P and `sign` S; W = sign(round(S))·2^round(P).
// Training is fake quantisation: the rounded float weights go through the ordinary conv/linear
// ops. The input and the bias of every shift layer are fixed-point quantised (16.16 by default).
import { preview } from "../io/json.js";
import { conv2d } from "../tensor/ops/conv2d.js";
import { allNonNegative, checkFixedPointFormat, quantizeFixedPoint, type FixedPointFormat } from "../tensor/ops/fixed_point.js";
import { linear } from "../tensor/ops/linear.js";
import {
  ROUNDINGS,
  roundLog2,
  roundShifts,
  roundToPowerOfTwo,
  shiftPS,
  shiftQ,
  shiftFixedPoint,
  shiftRange,
  shiftSignToWeight,
  ternarySign,
  type Rounding,
  type ShiftMode,
  type ShiftRange,
} from "../tensor/ops/shift.js";
import { Parameter, Tensor } from "../tensor/tensor.js";
import { convGeometry, convOptions, weightShape, type Conv2dConfig, type ConvGeometry } from "./conv.js";
import { defaultWeightInit, fanIn, uniform_ } from "./init.js";
import { Module } from "./module.js";

export type { Rounding, ShiftMode, ShiftRange };

export const DEFAULT_WEIGHT_BITS = 5;
/** The reference's default: 16 integer and 16 fraction bits (about ±2^15 in steps of 2^−16). */
export const DEFAULT_ACTIVATION_BITS: readonly [number, number] = [16, 16];

export interface ShiftOptions {
  mode: ShiftMode;
  /** 2..8; default 5. */
  weightBits?: number;
  /** Rounding of the log-domain weight while training; inference always rounds deterministically. */
  rounding?: Rounding;
  /** [integer bits, fraction bits] of the input and bias; null keeps them float32. Default [16, 16]. */
  activationBits?: readonly [number, number] | null;
  /** Quantise a non-negative input (a ReLU output) to the unsigned range [0, 2^I − 1]: one more bit. */
  activationUnsigned?: boolean;
  /**
   * PS's initial P and S: 'random' (default) draws them from the reference's ranges; 'float' rounds
   * PyTorch's default float initialisation (P = round(log2|w|), S = sign(w)), which is what the
   * reference's mnist.py and cifar10.py actually train from. Q always starts from the float init.
   */
  init?: ShiftInit;
}

export type ShiftInit = "random" | "float";
export const SHIFT_INITS: readonly ShiftInit[] = ["random", "float"];

/** The options with defaults filled in; throws a clear error for impossible values. */
export function resolveShiftOptions(o: ShiftOptions): Required<ShiftOptions> {
  if (o.mode !== "q" && o.mode !== "ps") throw new Error(`shift mode must be 'q' or 'ps', got ${preview(o.mode)}`);
  const weightBits = o.weightBits ?? DEFAULT_WEIGHT_BITS;
  shiftRange(o.mode, weightBits); // validates
  const rounding = o.rounding ?? "deterministic";
  if (!ROUNDINGS.includes(rounding)) throw new Error(`shift rounding must be ${ROUNDINGS.join(" or ")}, got ${preview(rounding)}`);
  const activationBits = o.activationBits === undefined ? DEFAULT_ACTIVATION_BITS : o.activationBits;
  if (activationBits !== null) {
    if (!Array.isArray(activationBits) || activationBits.length !== 2) throw new Error(`activation bits must be [integer bits, fraction bits] or null, got ${preview(activationBits)}`);
    checkFixedPointFormat({ intBits: activationBits[0], fracBits: activationBits[1] }, "activation bits");
  }
  const init = o.init ?? "random";
  if (!SHIFT_INITS.includes(init)) throw new Error(`shift init must be ${SHIFT_INITS.join(" or ")}, got ${preview(init)}`);
  return { mode: o.mode, weightBits, rounding, activationBits, activationUnsigned: o.activationUnsigned === true, init };
}

/** The sign and shift of each effective weight: weight = sign·2^shift, and sign 0 means weight 0. */
export interface ShiftsAndSigns {
  shift: Int8Array;
  sign: Int8Array;
}

/** What Conv2dShift and LinearShift share: the parameters, the rounding and the quantisation. */
export abstract class ShiftLayer extends Module {
  /** Q: the latent float weight. */
  weight: Parameter | null = null;
  /** PS: the latent shift P, shaped like the weight. */
  shift: Parameter | null = null;
  /** PS: the latent sign S, shaped like the weight (clamped to [−1, 1] while training). */
  sign: Parameter | null = null;
  bias: Parameter | null = null;
  readonly mode: ShiftMode;
  readonly weightBits: number;
  readonly range: ShiftRange;
  readonly rounding: Rounding;
  /** Format of the input and the bias, or null for float32. */
  readonly activation: FixedPointFormat | null;
  readonly activationUnsigned: boolean;
  readonly weightShape: readonly number[];

  /** `randomShift`: the interval of PS's random P initialisation (default: the shift range). */
  protected constructor(shape: number[], hasBias: boolean, options: ShiftOptions, randomShift?: [number, number]) {
    super();
    const o = resolveShiftOptions(options);
    this.mode = o.mode;
    this.weightBits = o.weightBits;
    this.range = shiftRange(o.mode, o.weightBits);
    this.rounding = o.rounding;
    this.activation = o.activationBits && { intBits: o.activationBits[0], fracBits: o.activationBits[1] };
    this.activationUnsigned = o.activationUnsigned;
    this.weightShape = Object.freeze([...shape]);
    // Random initialisation in the reference's order: Q like nn.Conv2d (kaiming-uniform, a = √5),
    // PS with P ~ U(randomShift) and S ~ U(−1, 1) (about half the initial weights are 0), or
    // PS rounded from the kaiming-uniform weight (init 'float': same draws as Q and Conv2d).
    if (o.mode === "q") {
      this.weight = Parameter.create(shape);
      defaultWeightInit(this.weight);
    } else {
      this.shift = Parameter.create(shape);
      this.sign = Parameter.create(shape);
      if (o.init === "float") {
        defaultWeightInit(this.sign);
        this.setFromFloat(this.sign.data);
      } else {
        const [lo, hi] = randomShift ?? [this.range.min, this.range.max];
        uniform_(this.shift, lo, hi);
        uniform_(this.sign, -1, 1);
      }
    }
    if (hasBias) {
      this.bias = Parameter.create([shape[0]]);
      const bound = 1 / Math.sqrt(fanIn(shape));
      uniform_(this.bias, -bound, bound);
    }
  }

  /**
   * Start from trained float weights (conversion): Q keeps w as its latent weight; PS takes
   * P = round(log2|w|) clamped to the range and S = sign(w), exactly ±1 (0 for w = 0).
   */
  initFromFloat(weight: ArrayLike<number>, bias: ArrayLike<number> | null = null): void {
    const n = this.weightShape.reduce((a, b) => a * b, 1);
    if (weight.length !== n) throw new Error(`initFromFloat: ${weight.length} weights for a [${this.weightShape.join(", ")}] layer`);
    this.setFromFloat(weight);
    if (!!bias !== !!this.bias) throw new Error(`initFromFloat: the layer ${this.bias ? "has" : "has no"} bias`);
    if (bias && this.bias) {
      if (bias.length !== this.bias.size) throw new Error(`initFromFloat: ${bias.length} biases for ${this.bias.size} outputs`);
      this.bias.data.set(bias);
    }
  }

  /** The latent parameters for float weights `w` (may alias the sign parameter's data). */
  private setFromFloat(weight: ArrayLike<number>): void {
    if (this.weight) {
      this.weight.data.set(weight);
      return;
    }
    const P = this.shift!.data, S = this.sign!.data;
    for (let i = 0; i < P.length; i++) {
      const w = weight[i];
      P[i] = w === 0 ? this.range.min : Math.min(this.range.max, Math.max(this.range.min, roundLog2(Math.abs(w))));
      S[i] = Math.sign(w);
    }
  }

  /**
   * The weight tensor the forward pass uses (autograd op over the latent parameters). While
   * training, the op first keeps the latent parameters where they mean something, in place
   * (fused into the rounding kernel):
   * - PS: P to the shift range (as the reference) and S to [−1, 1] (pitfall 5: an unclamped S
   *   drifts far past ±0.5 and its sign freezes).
   * - Q: |W| ≤ 1 only (pitfall 6). Every value above 1 is the weight 1, so clipping there loses
   *   nothing and stops a drift into a dead zone; small weights are NOT pushed up to 2^min as the
   *   reference does, which would keep a weight from crossing zero unless one step exceeds 2^min.
   */
  protected weightTensor(): Tensor {
    const stochastic = this.training && this.rounding === "stochastic";
    const options = { min: this.range.min, stochastic, project: this.training };
    if (this.weight) return shiftQ(this.weight, options);
    return shiftPS(this.shift!, this.sign!, options);
  }

  protected inputTensor(x: Tensor): Tensor {
    if (!this.activation) return x;
    const unsigned = this.activationUnsigned && allNonNegative(x.data);
    return shiftFixedPoint(x, { ...this.activation, unsigned });
  }

  protected biasTensor(): Tensor | null {
    return this.bias && this.activation ? shiftFixedPoint(this.bias, this.activation) : this.bias;
  }

  /** The weights the layer computes with at inference: every value exactly 0 or ±2^p, p ∈ range. */
  effectiveWeight(): Float32Array {
    const out = new Float32Array(this.weightShape.reduce((a, b) => a * b, 1));
    if (this.weight) roundToPowerOfTwo(this.weight.data, out, this.range.min);
    else shiftSignToWeight(this.shift!.data, this.sign!.data, out, this.range.min);
    return out;
  }

  /** The effective weights as integer planes, for packing and integer export. */
  shiftsAndSigns(): ShiftsAndSigns {
    const w = this.effectiveWeight();
    const shift = new Int8Array(w.length), sign = new Int8Array(w.length);
    for (let i = 0; i < w.length; i++) {
      if (w[i] === 0) continue;
      sign[i] = w[i] > 0 ? 1 : -1;
      shift[i] = Math.round(Math.log2(Math.abs(w[i])));
    }
    return { shift, sign };
  }

  /** The bias the layer adds at inference (fixed-point quantised when activations are). */
  effectiveBias(): Float32Array | null {
    if (!this.bias) return null;
    const out = Float32Array.from(this.bias.data);
    if (this.activation) quantizeFixedPoint(out, out, this.activation);
    return out;
  }

  /** Checkpoints store rounded values: `weight` (Q) or integer `shift` and ternary `sign` (PS). */
  override savedTensors(): Map<string, Float32Array> {
    const saved = new Map<string, Float32Array>();
    if (this.weight) saved.set("weight", this.effectiveWeight());
    else {
      const shift = new Float32Array(this.shift!.size);
      roundShifts(this.shift!.data, shift, this.range.min);
      saved.set("shift", shift);
      saved.set("sign", this.sign!.data.map(ternarySign));
    }
    const bias = this.effectiveBias();
    if (bias) saved.set("bias", bias);
    return saved;
  }
}

/** DeepShift's Conv2dShift (PS) and Conv2dShiftQ (Q): stride, padding, dilation and groups. */
export class Conv2dShift extends ShiftLayer {
  readonly geometry: ConvGeometry;

  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], cfg: Conv2dConfig & ShiftOptions) {
    const geometry = convGeometry(inChannels, outChannels, kernelSize, cfg);
    // the reference hard-codes P ~ U(−10, −1) for conv layers
    super(weightShape(geometry), cfg.bias !== false, cfg, [-10, -1]);
    this.geometry = geometry;
  }

  forward(x: Tensor): Tensor {
    return conv2d(this.inputTensor(x), this.weightTensor(), this.biasTensor(), convOptions(this.geometry));
  }
}

/** DeepShift's LinearShift (PS) and LinearShiftQ (Q); unlike the reference, PS quantises input and bias too. */
export class LinearShift extends ShiftLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts: { bias?: boolean } & ShiftOptions) {
    for (const [name, v] of [["inFeatures", inFeatures], ["outFeatures", outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`LinearShift: ${name} must be a positive integer, got ${v}`);
    }
    super([outFeatures, inFeatures], opts.bias !== false, opts);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
  }

  forward(x: Tensor): Tensor {
    return linear(this.inputTensor(x), this.weightTensor(), this.biasTensor());
  }
}
