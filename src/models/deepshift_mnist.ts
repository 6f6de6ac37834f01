// DeepShift's MNIST models (mnist.py): "Simple FC" and "Simple Conv". Layers keep PyTorch's
// default biases, as in the reference.
import { Dropout, MaxPool2d, ReLU } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { flatten } from "../tensor/ops/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import type { LayerFactory } from "./layer_factory.js";

/** 784 → 512 → 512 → 10, ReLU and Dropout 0.2 after each hidden layer. */
export class DeepShiftFC extends Module {
  fc1: Module;
  fc2: Module;
  fc3: Module;
  private relu = new ReLU();
  private drop = new Dropout(0.2);

  constructor(f: LayerFactory, opts: { inFeatures?: number; numClasses?: number } = {}) {
    super();
    this.fc1 = f.linear(opts.inFeatures ?? 784, 512);
    this.fc2 = f.linear(512, 512);
    this.fc3 = f.linear(512, opts.numClasses ?? 10);
  }

  forward(x: Tensor): Tensor {
    x = flatten(x);
    x = this.drop.forward(this.relu.forward(this.fc1.forward(x)));
    x = this.drop.forward(this.relu.forward(this.fc2.forward(x)));
    return this.fc3.forward(x);
  }
}

/** conv 20@5×5 → ReLU → pool → conv 50@5×5 → ReLU → pool → FC 500 → ReLU → FC 10. */
export class DeepShiftConv extends Module {
  conv1: Module;
  conv2: Module;
  fc1: Module;
  fc2: Module;
  private relu = new ReLU();
  private pool = new MaxPool2d(2);

  constructor(f: LayerFactory, opts: { inChannels?: number; numClasses?: number; inputSize?: number } = {}) {
    super();
    // two valid 5×5 convs, each followed by a 2× pool: 28 → 24 → 12 → 8 → 4, so 50·4·4 = 800 on MNIST
    const side = Math.floor((Math.floor(((opts.inputSize ?? 28) - 4) / 2) - 4) / 2);
    this.conv1 = f.conv(opts.inChannels ?? 1, 20, 5);
    this.conv2 = f.conv(20, 50, 5);
    this.fc1 = f.linear(50 * side * side, 500);
    this.fc2 = f.linear(500, opts.numClasses ?? 10);
  }

  forward(x: Tensor): Tensor {
    x = this.pool.forward(this.relu.forward(this.conv1.forward(x)));
    x = this.pool.forward(this.relu.forward(this.conv2.forward(x)));
    x = this.relu.forward(this.fc1.forward(flatten(x)));
    return this.fc2.forward(x);
  }
}
