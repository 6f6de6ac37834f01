// LeNet-5 with BatchNorm (AdderNet's MNIST model): conv 6@5×5 'same' → BN → ReLU → maxpool 2 →
// conv 16@5×5 → BN → ReLU → maxpool 2 → FC 120 → BN → ReLU → FC 84 → BN → ReLU → FC 10.
// 416.5k multiply-accumulates per 28×28 image. Weight layers before BN carry no bias.
import { BatchNorm1d, BatchNorm2d, RELU_NEXT } from "../nn/batchnorm.js";
import { MaxPool2d, ReLU } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { flatten } from "../tensor/ops/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import type { LayerFactory } from "./layer_factory.js";

export class LeNet5 extends Module {
  conv1: Module;
  bn1: BatchNorm2d;
  conv2: Module;
  bn2: BatchNorm2d;
  fc1: Module;
  bn3: BatchNorm1d;
  fc2: Module;
  bn4: BatchNorm1d;
  fc3: Module;
  private relu = new ReLU();
  private pool = new MaxPool2d(2);

  constructor(f: LayerFactory, opts: { inChannels?: number; numClasses?: number; inputSize?: number } = {}) {
    super();
    const inC = opts.inChannels ?? 1;
    const classes = opts.numClasses ?? 10;
    const size = opts.inputSize ?? 28;
    // 'same' first conv keeps size; valid second conv removes 4; two 2× pools
    const flat = 16 * Math.floor((Math.floor(size / 2) - 4) / 2) ** 2;
    this.conv1 = f.conv(inC, 6, 5, { padding: 2, bias: false });
    this.bn1 = new BatchNorm2d(6);
    this.conv2 = f.conv(6, 16, 5, { bias: false });
    this.bn2 = new BatchNorm2d(16);
    this.fc1 = f.linear(flat, 120, { bias: false });
    this.bn3 = new BatchNorm1d(120);
    this.fc2 = f.linear(120, 84, { bias: false });
    this.bn4 = new BatchNorm1d(84);
    this.fc3 = f.linear(84, classes);
  }

  forward(x: Tensor): Tensor {
    x = this.pool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x), RELU_NEXT)));
    x = this.pool.forward(this.relu.forward(this.bn2.forward(this.conv2.forward(x), RELU_NEXT)));
    x = flatten(x);
    x = this.relu.forward(this.bn3.forward(this.fc1.forward(x), RELU_NEXT));
    x = this.relu.forward(this.bn4.forward(this.fc2.forward(x), RELU_NEXT));
    return this.fc3.forward(x);
  }
}
