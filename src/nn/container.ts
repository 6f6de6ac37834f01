import { add } from "../tensor/ops/arith.js";
import { BatchNormBase, RELU_NEXT } from "./batchnorm.js";
import { ReLU } from "./layers.js";
import type { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

/** Runs its children in order; they are named "0", "1", … like torch.nn.Sequential. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
  }
  override namedChildren(): Array<[string, Module]> {
    return this.layers.map((m, i): [string, Module] => [String(i), m]);
  }
  forward(x: Tensor): Tensor {
    const layers = this.layers;
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i];
      // a BatchNorm right before a ReLU applies it in the same pass when training (nn/batchnorm.ts)
      x = layer instanceof BatchNormBase && layers[i + 1] instanceof ReLU ? layer.forward(x, RELU_NEXT) : layer.forward(x);
    }
    return x;
  }
}

/** y = body(x) + shortcut(x); the shortcut is the identity when absent. */
export class Residual extends Module {
  constructor(readonly body: Module, readonly shortcut: Module | null = null) {
    super();
  }
  forward(x: Tensor): Tensor {
    return add(this.body.forward(x), this.shortcut ? this.shortcut.forward(x) : x);
  }
}
