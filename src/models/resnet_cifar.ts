// CIFAR ResNet-20/32 in AdderNet's layout (resnet20.py): conv1 3→16 → BN → ReLU, three stages of
// basic blocks (16, 32, 64 channels; the 2nd and 3rd start with stride 2 and a 1×1 strided
// projection + BN shortcut), AvgPool(8), then a 1×1 64→10 classifier without bias followed by BN
// over the logits. `edge` builds the first conv and the classifier (kept multiplicative by default).
import { BatchNorm2d, RELU_NEXT } from "../nn/batchnorm.js";
import { Sequential } from "../nn/container.js";
import { GlobalAvgPool2d, ReLU } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { add } from "../tensor/ops/arith.js";
import { flatten } from "../tensor/ops/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import type { LayerFactory } from "./layer_factory.js";

export class BasicBlock extends Module {
  conv1: Module;
  bn1: BatchNorm2d;
  conv2: Module;
  bn2: BatchNorm2d;
  downsample: Sequential | null;
  private relu = new ReLU();

  constructor(f: LayerFactory, inPlanes: number, planes: number, stride: number) {
    super();
    this.conv1 = f.conv(inPlanes, planes, 3, { stride, padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = f.conv(planes, planes, 3, { padding: 1, bias: false });
    this.bn2 = new BatchNorm2d(planes);
    this.downsample =
      stride !== 1 || inPlanes !== planes ? new Sequential(f.conv(inPlanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes)) : null;
  }

  forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x), RELU_NEXT))));
    return this.relu.forward(add(out, this.downsample ? this.downsample.forward(x) : x));
  }
}

export class CifarResNet extends Module {
  conv1: Module;
  bn1: BatchNorm2d;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  fc: Module;
  bn2: BatchNorm2d;
  private relu = new ReLU();
  // AvgPool2d(8) in the official code: the same thing on 32×32 inputs, and it also fits 28×28 MNIST
  private pool = new GlobalAvgPool2d();

  constructor(f: LayerFactory, edge: LayerFactory, blocksPerStage: number, opts: { inChannels?: number; numClasses?: number } = {}) {
    super();
    const classes = opts.numClasses ?? 10;
    this.conv1 = edge.conv(opts.inChannels ?? 3, 16, 3, { padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(16);
    const stage = (inPlanes: number, planes: number, stride: number) =>
      new Sequential(...Array.from({ length: blocksPerStage }, (_, i) => new BasicBlock(f, i === 0 ? inPlanes : planes, planes, i === 0 ? stride : 1)));
    this.layer1 = stage(16, 16, 1);
    this.layer2 = stage(16, 32, 2);
    this.layer3 = stage(32, 64, 2);
    this.fc = edge.conv(64, classes, 1, { bias: false });
    this.bn2 = new BatchNorm2d(classes);
  }

  forward(x: Tensor): Tensor {
    x = this.relu.forward(this.bn1.forward(this.conv1.forward(x), RELU_NEXT));
    x = this.layer3.forward(this.layer2.forward(this.layer1.forward(x)));
    x = this.bn2.forward(this.fc.forward(this.pool.forward(x)));
    return flatten(x);
  }
}
