// Parameter-free layers.
import { relu } from "../tensor/ops/activation.js";
import { dropout } from "../tensor/ops/dropout.js";
import { avgPool2d, globalAvgPool, maxPool2d, type Pool2dOptions } from "../tensor/ops/pool.js";
import { flatten } from "../tensor/ops/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: number, readonly opts: Pool2dOptions = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.opts);
  }
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: number, readonly opts: Pool2dOptions = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.opts);
  }
}

/** Mean over H and W: [N, C, H, W] → [N, C, 1, 1]. */
export class GlobalAvgPool2d extends Module {
  forward(x: Tensor): Tensor {
    return globalAvgPool(x);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return this.training && this.p > 0 ? dropout(x, this.p) : x;
  }
}

export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    return flatten(x);
  }
}
