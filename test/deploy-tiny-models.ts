// Small float models for the export and executor tests: every layer kind, BatchNorm with
// realistic statistics (set from one training-mode batch), and images that are random but
// MNIST-like (mostly black, some bright strokes), as pixels in [0, 1] and normalised.
import { Adder2d, AdderLinear } from "../src/nn/adder.js";
import { BatchNorm1d, BatchNorm2d } from "../src/nn/batchnorm.js";
import { Sequential } from "../src/nn/container.js";
import { Conv2d } from "../src/nn/conv.js";
import { Dropout, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU } from "../src/nn/layers.js";
import { Linear } from "../src/nn/linear.js";
import type { Module } from "../src/nn/module.js";
import { Conv2dShift, LinearShift } from "../src/nn/shift.js";
import { noGrad } from "../src/tensor/autograd.js";
import { manualSeed } from "../src/tensor/random.js";
import { scope } from "../src/tensor/storage.js";
import { Tensor } from "../src/tensor/tensor.js";
import { rng } from "./random.js";

export type TinyKind = "mul" | "adder" | "shift";
export const MEAN = [0.1307], STD = [0.3081];
export const SHAPE: [number, number, number] = [1, 12, 12];

function conv(kind: TinyKind, i: number, o: number, k: number, cfg: { padding?: number; stride?: number; groups?: number; bias?: boolean }) {
  if (kind === "adder") return new Adder2d(i, o, k, cfg);
  if (kind === "shift") return new Conv2dShift(i, o, k, { ...cfg, mode: "ps", weightBits: 5 });
  return new Conv2d(i, o, k, cfg);
}

function linear(kind: TinyKind, i: number, o: number, bias: boolean) {
  if (kind === "adder") return new AdderLinear(i, o, { bias });
  if (kind === "shift") return new LinearShift(i, o, { bias, mode: "ps", weightBits: 5 });
  return new Linear(i, o, { bias });
}

/**
 * conv 3×3 'same' → BN → ReLU → maxpool 2 → conv 3×3 stride 2 (+bias) → BN → ReLU → flatten →
 * linear → BN → ReLU → dropout → linear (+bias): every fold, a pool, a flatten permutation.
 */
export function tinyChain(kind: TinyKind, seed: number): Module {
  manualSeed(seed);
  const bn = (c: number, d: 1 | 2) => (d === 2 ? new BatchNorm2d(c, { momentum: 1 }) : new BatchNorm1d(c, { momentum: 1 }));
  return new Sequential(
    conv(kind, 1, 4, 3, { padding: 1, bias: false }), bn(4, 2), new ReLU(), new MaxPool2d(2),
    conv(kind, 4, 6, 3, { stride: 2, bias: true }), bn(6, 2), new ReLU(), new Flatten(),
    linear(kind, 24, 16, false), bn(16, 1), new ReLU(), new Dropout(0.2),
    linear(kind, 16, 10, true),
  );
}

/** Depthwise + pointwise conv, global average pool: groups and the avgpool node. */
export function tinyDepthwise(kind: TinyKind, seed: number): Module {
  manualSeed(seed);
  return new Sequential(
    new Conv2d(1, 6, 3, { padding: 1, bias: false }), new BatchNorm2d(6, { momentum: 1 }), new ReLU(),
    conv(kind, 6, 6, 3, { padding: 1, groups: 6, bias: false }), new BatchNorm2d(6, { momentum: 1 }), new ReLU(),
    conv(kind, 6, 8, 1, { bias: false }), new BatchNorm2d(8, { momentum: 1 }), new ReLU(),
    new GlobalAvgPool2d(), new Flatten(), new Linear(8, 10),
  );
}

/** n MNIST-like images: pixels in [0, 1] and normalised, NCHW. */
export function tinyImages(n: number, seed: number, shape: readonly number[] = SHAPE): { pixels: Float32Array; normalized: Float32Array } {
  const r = rng(seed);
  const size = shape[0]! * shape[1]! * shape[2]!;
  const pixels = new Float32Array(n * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = r() < 0.7 ? 0 : Math.round(r() * 255) / 255;
  const normalized = pixels.map((p) => Math.fround(Math.fround(p - Math.fround(MEAN[0])) / Math.fround(STD[0])));
  return { pixels, normalized };
}

/** BatchNorm running statistics from one training-mode batch (momentum 1), then random γ and β; eval mode. */
export function settle(model: Module, images: Float32Array, n: number, seed: number, shape: readonly number[] = SHAPE): void {
  const r = rng(seed);
  const norms = model.namedModules().map(([, m]) => m).filter((m): m is BatchNorm1d | BatchNorm2d => m instanceof BatchNorm1d || m instanceof BatchNorm2d);
  const momentum = norms.map((m) => m.momentum);
  norms.forEach((m) => (m.momentum = 1));
  model.train();
  scope(() => noGrad(() => model.forward(Tensor.from(images.subarray(0, n * shape[0]! * shape[1]! * shape[2]!), [n, ...shape]))));
  norms.forEach((m, i) => {
    m.momentum = momentum[i]!;
    m.weight!.data.forEach((_, i, a) => (a[i] = 0.5 + r()));
    m.bias!.data.forEach((_, i, a) => (a[i] = r() - 0.3));
  });
  model.eval();
}

/** The float model's logits for n normalised images. */
export function floatLogits(model: Module, images: Float32Array, n: number, shape: readonly number[] = SHAPE): Float32Array {
  return scope(() => noGrad(() => Float32Array.from(model.forward(Tensor.from(images, [n, ...shape])).data)));
}
