// AdderNet layers (Chen et al., CVPR 2020): the dot product of Conv2d/Linear replaced by a negative
// L1 distance, y = −Σ|x − w|. As the official adder.py: weights N(0, 1), no bias by default, an
// optional bias drawn from U(0, 1). Follow each one with BatchNorm: the raw outputs are large
// negative numbers (docs/addernet.md, "Layers").
import { adder2d, adderLinear, type AdderForm, type AdderGrad } from "../tensor/ops/adder.js";
import type { Conv2dOptions } from "../tensor/ops/conv2d.js";
import { Parameter, Tensor } from "../tensor/tensor.js";
import { convGeometry, convOptions, weightShape, type ConvGeometry } from "./conv.js";
import { normal_, uniform_ } from "./init.js";
import { Module } from "./module.js";

export type { AdderForm, AdderGrad };

export interface AdderOptions {
  /** Learnable bias, initialised U(0, 1). Default false. */
  bias?: boolean;
  /** Gradient rule: "paper" (x − w and HardTanh, default) or "sign" (true derivative, for ablations). */
  grad?: AdderGrad;
  /** How the forward sum is computed: "min" (default, fast) or "direct" (docs/addernet.md, "Two forms of the sum"). */
  form?: AdderForm;
}

/** `value` if it is one of `choices` (the first is the default when undefined), else a clear error. */
function checkChoice<T extends string>(layer: string, option: string, value: unknown, choices: readonly [T, T]): T {
  if (value === undefined) return choices[0];
  if (!choices.includes(value as T)) throw new Error(`${layer}: ${option} must be '${choices[0]}' or '${choices[1]}', got ${JSON.stringify(value)}`);
  return value as T;
}

/** Shared by both layers so training code can find every adder weight (the adaptive LR). */
export abstract class AdderLayer extends Module {
  weight!: Parameter;
  bias: Parameter | null = null;
  readonly grad: AdderGrad;
  readonly form: AdderForm;

  protected constructor(layer: string, opts: AdderOptions) {
    super();
    this.grad = checkChoice<AdderGrad>(layer, "grad", opts.grad, ["paper", "sign"]);
    this.form = checkChoice<AdderForm>(layer, "form", opts.form, ["min", "direct"]);
  }

  protected initParameters(shape: number[], outputs: number, bias: boolean | undefined): void {
    this.weight = Parameter.create(shape);
    normal_(this.weight, 0, 1);
    if (bias) {
      this.bias = Parameter.create([outputs]);
      uniform_(this.bias, 0, 1);
    }
  }
}

export class Adder2d extends AdderLayer {
  readonly geometry: ConvGeometry;

  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], cfg: Conv2dOptions & AdderOptions = {}) {
    super("Adder2d", cfg);
    this.geometry = convGeometry(inChannels, outChannels, kernelSize, cfg);
    this.initParameters(weightShape(this.geometry), outChannels, cfg.bias);
  }

  forward(x: Tensor): Tensor {
    return adder2d(x, this.weight, this.bias, { ...convOptions(this.geometry), grad: this.grad, form: this.form });
  }
}

export class AdderLinear extends AdderLayer {
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: AdderOptions = {}) {
    super("AdderLinear", opts);
    for (const [name, v] of [["inFeatures", inFeatures], ["outFeatures", outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`AdderLinear: ${name} must be a positive integer, got ${v}`);
    }
    this.initParameters([outFeatures, inFeatures], outFeatures, opts.bias);
  }

  forward(x: Tensor): Tensor {
    return adderLinear(x, this.weight, this.bias, this.grad, this.form);
  }
}
