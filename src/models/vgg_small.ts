// VGG-small (LQ-Nets, used by AdderNet): conv 128-128-MP-256-256-MP-512-512-MP, each conv
// followed by BN and ReLU, then FC 8192→10. The first conv and the FC come from `edge`.
import { BatchNorm2d } from "../nn/batchnorm.js";
import { Sequential } from "../nn/container.js";
import { MaxPool2d, ReLU } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { flatten } from "../tensor/ops/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import type { LayerFactory } from "./layer_factory.js";

export class VggSmall extends Module {
  features: Sequential;
  classifier: Module;

  constructor(f: LayerFactory, edge: LayerFactory, opts: { inChannels?: number; numClasses?: number; inputSize?: number } = {}) {
    super();
    const layers: Module[] = [];
    let c = opts.inChannels ?? 3;
    const plan: Array<number | "M"> = [128, 128, "M", 256, 256, "M", 512, 512, "M"];
    for (const v of plan) {
      if (v === "M") {
        layers.push(new MaxPool2d(2));
        continue;
      }
      const make = layers.length === 0 ? edge : f;
      layers.push(make.conv(c, v, 3, { padding: 1, bias: false }), new BatchNorm2d(v), new ReLU());
      c = v;
    }
    this.features = new Sequential(...layers);
    const side = Math.floor((opts.inputSize ?? 32) / 8);
    this.classifier = edge.linear(512 * side * side, opts.numClasses ?? 10);
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(flatten(this.features.forward(x)));
  }
}
