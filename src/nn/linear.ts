import { linear } from "../tensor/ops/linear.js";
import { Parameter, Tensor } from "../tensor/tensor.js";
import { defaultWeightInit, uniform_ } from "./init.js";
import { Module } from "./module.js";

export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    for (const [name, v] of [["inFeatures", inFeatures], ["outFeatures", outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Linear: ${name} must be a positive integer, got ${v}`);
    }
    this.weight = Parameter.create([outFeatures, inFeatures]);
    defaultWeightInit(this.weight);
    this.bias = opts.bias === false ? null : Parameter.create([outFeatures]);
    if (this.bias) uniform_(this.bias, -1 / Math.sqrt(inFeatures), 1 / Math.sqrt(inFeatures));
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
