// 'mobile': a small MobileNet-style network of depthwise-separable blocks for 32×32 CIFAR inputs
// (any input size works: it ends in a global average pool, so MNIST's 1×28×28 does too).
//   stem: 3×3 conv 32 → BN → ReLU                                   (from `edge`)
//   5 blocks: depthwise 3×3 (stride 1 or 2) → BN → ReLU → pointwise 1×1 → BN → ReLU
//             channels 64, 128 (/2), 128, 256 (/2), 256             (from the op kind)
//   global average pool → FC 256 → classes                          (from `edge`)
// About 16.5M multiply-accumulates per 32×32 image, 0.14M parameters.
import { BatchNorm2d, RELU_NEXT } from "../nn/batchnorm.js";
import { Sequential } from "../nn/container.js";
import { GlobalAvgPool2d, ReLU } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { flatten } from "../tensor/ops/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import type { LayerFactory } from "./layer_factory.js";

const BLOCKS: Array<[outChannels: number, stride: number]> = [[64, 1], [128, 2], [128, 1], [256, 2], [256, 1]];
const STEM = 32;

/** Depthwise 3×3 + pointwise 1×1, each followed by BN and ReLU. */
export function separableBlock(f: LayerFactory, inChannels: number, outChannels: number, stride: number): Sequential {
  return new Sequential(
    f.conv(inChannels, inChannels, 3, { stride, padding: 1, groups: inChannels, bias: false }),
    new BatchNorm2d(inChannels),
    new ReLU(),
    f.conv(inChannels, outChannels, 1, { bias: false }),
    new BatchNorm2d(outChannels),
    new ReLU(),
  );
}

export class MobileNet extends Module {
  conv1: Module;
  bn1: BatchNorm2d;
  blocks: Sequential;
  fc: Module;
  private relu = new ReLU();
  private pool = new GlobalAvgPool2d();

  constructor(f: LayerFactory, edge: LayerFactory, opts: { inChannels?: number; numClasses?: number } = {}) {
    super();
    this.conv1 = edge.conv(opts.inChannels ?? 3, STEM, 3, { padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(STEM);
    let c = STEM;
    const blocks: Module[] = [];
    for (const [out, stride] of BLOCKS) {
      blocks.push(separableBlock(f, c, out, stride));
      c = out;
    }
    this.blocks = new Sequential(...blocks);
    this.fc = edge.linear(c, opts.numClasses ?? 10);
  }

  forward(x: Tensor): Tensor {
    x = this.relu.forward(this.bn1.forward(this.conv1.forward(x), RELU_NEXT));
    x = this.pool.forward(this.blocks.forward(x));
    return this.fc.forward(flatten(x));
  }
}
