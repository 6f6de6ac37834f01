// Batch normalisation over dim 1 of [N, C] or [N, C, H, W], PyTorch semantics.
// `reluNext` says that the caller applies a ReLU to the result. In training the ReLU then runs
// inside BatchNorm's kernels (forward: max(y, 0) as it stores y; backward: dy masked in its reads),
// with the bits of the two ops, and relu() passes the result through: two passes over the
// activation fewer per step. In eval mode the ReLU runs as usual.
import { batchNormBackward, batchNormForwardEval, batchNormForwardTrain } from "../../kernels/batchnorm.js";
import { accumulateGrad, record } from "../autograd.js";
import { markRectified } from "./activation.js";
import { allocF32 } from "../storage.js";
import { Tensor } from "../tensor.js";

export function batchNorm(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  runningMean: Tensor,
  runningVar: Tensor,
  training: boolean,
  momentum: number,
  eps: number,
  reluNext = false,
): Tensor {
  const [N, C] = x.shape;
  const HW = x.size / (N * C);
  const gamma = weight ? weight.data : allocF32(C).fill(1);
  const beta = bias ? bias.data : allocF32(C).fill(0);
  const y = Tensor.empty(x.shape);
  if (!training) {
    batchNormForwardEval(x.data, gamma, beta, runningMean.data, runningVar.data, y.data, N, C, HW, eps);
    return record(y, "batchnorm_eval", weight && bias ? [x, weight, bias] : [x], (dy) => {
      // eval-mode gradient: a fixed affine map per channel
      accumulateGrad(x, (dx) => {
        for (let c = 0; c < C; c++) {
          const k = gamma[c] / Math.sqrt(runningVar.data[c] + eps);
          for (let n = 0; n < N; n++) for (let i = (n * C + c) * HW, e = i + HW; i < e; i++) dx[i] = dy[i] * k;
        }
      });
    });
  }
  if (N * HW < 2) throw new Error(`BatchNorm: training needs more than one value per channel, got input [${x.shape.join(", ")}]`);
  const mean = allocF32(C);
  const invStd = allocF32(C);
  // with the ReLU fused, the backward recomputes its mask from x and these (see batchNormBackward)
  const affine = reluNext ? allocF32(2 * C) : null;
  batchNormForwardTrain(x.data, gamma, beta, y.data, mean, invStd, runningMean.data, runningVar.data, N, C, HW, momentum, eps, reluNext, affine);
  const inputs = weight && bias ? [x, weight, bias] : [x];
  const reluOut = reluNext ? y.data : null;
  const mask = affine ? { affine, beta } : null;
  const out = record(y, reluNext ? "batchnorm_relu" : "batchnorm", inputs, (dy) => {
    const dgamma = allocF32(C);
    const dbeta = allocF32(C);
    // dx straight into x's gradient (no serial copy of a whole activation on the main thread);
    // the kernel runs once either way, since dgamma and dbeta come out of the same pass
    let done = false;
    const backward = (dx: Float32Array) => {
      batchNormBackward(dy, x.data, gamma, mean, invStd, dx, dgamma, dbeta, N, C, HW, reluOut, mask);
      done = true;
    };
    accumulateGrad(x, backward);
    if (!done) backward(allocF32(x.size));
    if (weight) accumulateGrad(weight, (buf) => buf.set(dgamma));
    if (bias) accumulateGrad(bias, (buf) => buf.set(dbeta));
  });
  return reluNext ? markRectified(out) : out;
}
