import { conv2d, pair, type Conv2dOptions } from "../tensor/ops/conv2d.js";
import { Parameter, Tensor } from "../tensor/tensor.js";
import { defaultWeightInit, fanIn, uniform_ } from "./init.js";
import { Module } from "./module.js";

export interface Conv2dConfig extends Conv2dOptions {
  bias?: boolean;
}

/** Describes any conv-shaped layer; the model factory and the converters read it. */
export interface ConvGeometry {
  inChannels: number;
  outChannels: number;
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

export function convGeometry(inChannels: number, outChannels: number, kernelSize: number | [number, number], cfg: Conv2dOptions): ConvGeometry {
  const groups = cfg.groups ?? 1;
  for (const [name, v] of [["inChannels", inChannels], ["outChannels", outChannels], ["groups", groups]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`Conv2d: ${name} must be a positive integer, got ${v}`);
  }
  if (inChannels % groups || outChannels % groups) throw new Error(`Conv2d: channels ${inChannels}→${outChannels} not divisible by groups ${groups}`);
  return {
    inChannels,
    outChannels,
    kernelSize: pair(kernelSize, 1),
    stride: pair(cfg.stride, 1),
    padding: pair(cfg.padding, 0),
    dilation: pair(cfg.dilation, 1),
    groups,
  };
}

export function convOptions(g: ConvGeometry): Conv2dOptions {
  return { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups };
}

export function weightShape(g: ConvGeometry): number[] {
  return [g.outChannels, g.inChannels / g.groups, g.kernelSize[0], g.kernelSize[1]];
}

export class Conv2d extends Module {
  readonly geometry: ConvGeometry;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], cfg: Conv2dConfig = {}) {
    super();
    this.geometry = convGeometry(inChannels, outChannels, kernelSize, cfg);
    this.weight = Parameter.create(weightShape(this.geometry));
    defaultWeightInit(this.weight);
    this.bias = cfg.bias === false ? null : Parameter.create([outChannels]);
    if (this.bias) {
      const bound = 1 / Math.sqrt(fanIn(this.weight.shape));
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, convOptions(this.geometry));
  }
}
