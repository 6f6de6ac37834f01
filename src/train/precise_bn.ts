// PreciseBN (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021; pycls and detectron2): replace
// every BatchNorm layer's running statistics by their plain average over k training batches, computed
// with the final weights.
//
// Why: the running statistics are an exponential average (momentum 0.1) of batch statistics taken
// while the weights moved. AdderNet layers output large negative values whose offset moves with
// every step (the adaptive learning rate gives every step the same size), so the average lags the
// network and eval-mode accuracy is badly under-reported early in training (43 % shown where the
// same weights score 93 % after recalibration).
//
// How: in train mode without gradients, batch i (counted from 1) updates the running statistics
// with momentum 1/i: r_i = (1 − 1/i)·r_{i−1} + (1/i)·s_i = (s_1 + … + s_i)/i. Only BatchNorm layers
// run in train mode (dropout stays off, as at evaluation). The batches are a seeded sample of the
// training set, so the result is deterministic and independent of the data loader's state.
import type { Dataset } from "../data/dataset.js";
import { BatchNormBase } from "../nn/batchnorm.js";
import type { Module } from "../nn/module.js";
import { noGrad } from "../tensor/autograd.js";
import { permutation, Rng } from "../tensor/random.js";
import { allocF32, scope } from "../tensor/storage.js";
import { Tensor } from "../tensor/tensor.js";

/** pycls' default sample: 8192 images. */
export const PRECISE_BN_IMAGES = 8192;

export interface PreciseBnOptions {
  /** Number of batches to average. */
  batches: number;
  batchSize: number;
  /** Seed of the sample of training images. */
  seed: number;
}

/** Batches that make up about PRECISE_BN_IMAGES images. */
export function defaultPreciseBnBatches(batchSize: number): number {
  return Math.max(1, Math.ceil(PRECISE_BN_IMAGES / batchSize));
}

/** Recompute the running statistics of every BatchNorm layer of `model`; returns how many images were used. */
export function preciseBatchNorm(model: Module, ds: Dataset, o: PreciseBnOptions): number {
  const layers = model.namedModules().map(([, m]) => m).filter((m): m is BatchNormBase => m instanceof BatchNormBase);
  if (!layers.length || o.batches < 1) return 0;
  // full batches only, and at least two images per batch (a batch of one has no variance)
  const batchSize = Math.min(o.batchSize, ds.n);
  if (batchSize < 2) return 0;
  const batches = Math.min(o.batches, Math.floor(ds.n / batchSize));
  const order = new Int32Array(ds.n);
  permutation(Rng.fromSeed(o.seed), order);
  const [C, H, W] = ds.shape;
  const sample = C * H * W;
  const modes = model.namedModules().map(([, m]) => [m, m.training] as const);
  const momenta = layers.map((l) => l.momentum);
  model.eval();
  for (const l of layers) l.training = true;
  try {
    noGrad(() => {
      for (let b = 0; b < batches; b++) {
        for (const l of layers) l.momentum = 1 / (b + 1);
        scope(() => {
          const x = new Tensor(allocF32(batchSize * sample), [batchSize, C, H, W]);
          for (let i = 0; i < batchSize; i++) {
            const k = order[b * batchSize + i]!;
            x.data.set(ds.images.subarray(k * sample, (k + 1) * sample), i * sample);
          }
          model.forward(x);
        });
      }
    });
  } finally {
    layers.forEach((l, i) => (l.momentum = momenta[i]!));
    for (const [m, training] of modes) m.training = training;
  }
  return batches * batchSize;
}
