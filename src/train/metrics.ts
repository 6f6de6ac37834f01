// Accuracy of a model over a dataset, in eval mode, without gradients.
import type { Dataset } from "../data/dataset.js";
import type { Module } from "../nn/module.js";
import { noGrad } from "../tensor/autograd.js";
import { allocF32 } from "../tensor/storage.js";
import { scope } from "../tensor/storage.js";
import { Tensor } from "../tensor/tensor.js";

export interface EvalResult {
  accuracy: number;
  correct: number;
  total: number;
  imagesPerSecond: number;
}

/** Index of the largest value in each row of [n, c] logits. */
export function argmaxRows(logits: Float32Array, n: number, c: number, out: Int32Array): void {
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestV = logits[i * c];
    for (let j = 1; j < c; j++) if (logits[i * c + j] > bestV) (bestV = logits[i * c + j]), (best = j);
    out[i] = best;
  }
}

export function evaluate(model: Module, ds: Dataset, batchSize = 256): EvalResult {
  const wasTraining = model.training;
  model.eval();
  const [C, H, W] = ds.shape;
  const sample = C * H * W;
  let correct = 0;
  const pred = new Int32Array(batchSize);
  const t0 = performance.now();
  noGrad(() => {
    for (let start = 0; start < ds.n; start += batchSize) {
      const b = Math.min(batchSize, ds.n - start);
      scope(() => {
        const x = new Tensor(allocF32(b * sample).fill(0), [b, C, H, W]);
        x.data.set(ds.images.subarray(start * sample, (start + b) * sample));
        const logits = model.forward(x);
        const classes = logits.shape[1];
        argmaxRows(logits.data, b, classes, pred);
        for (let i = 0; i < b; i++) if (pred[i] === ds.labels[start + i]) correct++;
      });
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  model.train(wasTraining);
  return { accuracy: correct / ds.n, correct, total: ds.n, imagesPerSecond: ds.n / seconds };
}

/** Logits [n, classes] of n NCHW images (already normalised), in eval mode without gradients. */
export function predictLogits(model: Module, images: Float32Array, n: number, shape: readonly [number, number, number]): { logits: Float32Array; classes: number } {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() =>
      scope(() => {
        const x = new Tensor(allocF32(images.length), [n, ...shape]);
        x.data.set(images);
        const y = model.forward(x);
        return { logits: Float32Array.from(y.data), classes: y.shape[1]! };
      }),
    );
  } finally {
    model.train(wasTraining);
  }
}
