// Batch normalization over NCHW f32 tensors (HW = 1 for BatchNorm1d). Threads split over
// channels, so each channel's statistics are reduced by one thread in a fixed order and the
// result is the same for any thread count.
//
// Statistics are two-pass with f64 accumulation: AdderNet's pre-BN outputs sit near -1000 with a
// small spread, where E[x²] - E[x]² in f32 would lose every digit of the variance.
// gamma / beta may be null (affine = false); running stats may be null (track_running_stats = false);
// dgamma / dbeta may be null when not needed.
import { checkSizes, checkView } from "./elementwise.js";
import { runtime } from "./runtime.js";

/** Elements per thread below which a second thread does not pay. */
const GRAIN_ELEMS = 16384;

const ptr = (a: Float32Array | null): number => (a ? a.byteOffset : 0);

/**
 * What batchNormBackward needs to recompute a fused ReLU's mask from x: the `affine` output of the
 * forward that produced reluOut, and that forward's beta (null: 0).
 */
export interface ReluMask {
  affine: Float32Array;
  beta: Float32Array | null;
}

function checkOptional(k: string, name: string, a: Float32Array | null, n: number): void {
  if (a) checkView(k, name, a, n);
}

function channelGrain(N: number, HW: number): number {
  return Math.max(1, Math.ceil(GRAIN_ELEMS / (N * HW)));
}

/**
 * Training-mode forward. y = (x - mean)·invstd·gamma + beta with the batch mean and the biased
 * batch variance; saveMean / saveInvStd keep them for backward; running stats are updated
 * PyTorch-style with the unbiased variance: running = (1 - momentum)·running + momentum·batch.
 * `relu` stores max(y, 0) instead, the bits of reluForward after this kernel. `affine` (2·C
 * floats), when given, receives per channel the low part of the mean and the scale that y was
 * computed with (C of each): batchNormBackward's `mask` then recomputes y > 0 from x.
 */
export function batchNormForwardTrain(
  x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, y: Float32Array,
  saveMean: Float32Array, saveInvStd: Float32Array, runningMean: Float32Array | null, runningVar: Float32Array | null,
  N: number, C: number, HW: number, momentum = 0.1, eps = 1e-5, relu = false, affine: Float32Array | null = null,
): void {
  const k = "batchNormForwardTrain";
  checkSizes(k, { N, C, HW });
  if (N * HW < 2) throw new Error(`${k}: need more than one value per channel in training mode, got N=${N}, HW=${HW}`);
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`${k}: momentum must be in [0, 1], got ${momentum}`);
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`${k}: eps must be a finite number >= 0, got ${eps}`);
  checkView(k, "x", x, N * C * HW);
  checkView(k, "y", y, N * C * HW);
  checkOptional(k, "gamma", gamma, C);
  checkOptional(k, "beta", beta, C);
  checkView(k, "saveMean", saveMean, C);
  checkView(k, "saveInvStd", saveInvStd, C);
  checkOptional(k, "runningMean", runningMean, C);
  checkOptional(k, "runningVar", runningVar, C);
  checkOptional(k, "affine", affine, 2 * C);
  runtime().parallel(
    "batchNormForwardTrainF32",
    [x.byteOffset, ptr(gamma), ptr(beta), y.byteOffset, saveMean.byteOffset, saveInvStd.byteOffset, ptr(runningMean), ptr(runningVar), N, C, HW, momentum, eps, relu ? 1 : 0, ptr(affine)],
    C, channelGrain(N, HW), HW === 1 ? 4 : 1, true,
  );
}

/** Eval-mode forward: y = (x - runningMean)·gamma/sqrt(runningVar + eps) + beta. */
export function batchNormForwardEval(
  x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, runningMean: Float32Array, runningVar: Float32Array,
  y: Float32Array, N: number, C: number, HW: number, eps = 1e-5,
): void {
  const k = "batchNormForwardEval";
  checkSizes(k, { N, C, HW });
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`${k}: eps must be a finite number >= 0, got ${eps}`);
  checkView(k, "x", x, N * C * HW);
  checkView(k, "y", y, N * C * HW);
  checkOptional(k, "gamma", gamma, C);
  checkOptional(k, "beta", beta, C);
  checkView(k, "runningMean", runningMean, C);
  checkView(k, "runningVar", runningVar, C);
  runtime().parallel(
    "batchNormForwardEvalF32",
    [x.byteOffset, ptr(gamma), ptr(beta), runningMean.byteOffset, runningVar.byteOffset, y.byteOffset, N, C, HW, eps],
    C, channelGrain(N, HW), HW === 1 ? 4 : 1, true,
  );
}

/**
 * Backward of the training-mode forward (batch statistics depend on x):
 *   dbeta = Σ dy, dgamma = Σ dy·xhat, dx = gamma·invstd·(dy - dbeta/n - xhat·dgamma/n)
 * with xhat = (x - saveMean)·saveInvStd and n = N·HW. dgamma / dbeta are overwritten.
 * With `reluOut` (the output of a forward with `relu`), dy is first masked by reluOut > 0: the
 * bits of reluBackward before this kernel. With `mask` as well (that forward's `affine` output
 * and beta), the kernel recomputes reluOut > 0 from x with the forward's own f32 operations instead
 * of reading reluOut: the same mask, one pass over memory fewer in each of its two passes.
 */
export function batchNormBackward(
  dy: Float32Array, x: Float32Array, gamma: Float32Array | null, saveMean: Float32Array, saveInvStd: Float32Array,
  dx: Float32Array, dgamma: Float32Array | null, dbeta: Float32Array | null, N: number, C: number, HW: number,
  reluOut: Float32Array | null = null, mask: ReluMask | null = null,
): void {
  const k = "batchNormBackward";
  checkSizes(k, { N, C, HW });
  checkView(k, "dy", dy, N * C * HW);
  checkView(k, "x", x, N * C * HW);
  checkView(k, "dx", dx, N * C * HW);
  checkOptional(k, "gamma", gamma, C);
  checkView(k, "saveMean", saveMean, C);
  checkView(k, "saveInvStd", saveInvStd, C);
  checkOptional(k, "dgamma", dgamma, C);
  checkOptional(k, "dbeta", dbeta, C);
  checkOptional(k, "reluOut", reluOut, N * C * HW);
  if (mask) {
    if (!reluOut) throw new Error(`${k}: mask is given without reluOut, the output it stands for`);
    checkView(k, "mask.affine", mask.affine, 2 * C);
    checkOptional(k, "mask.beta", mask.beta, C);
  }
  runtime().parallel(
    "batchNormBackwardF32",
    [dy.byteOffset, x.byteOffset, ptr(gamma), saveMean.byteOffset, saveInvStd.byteOffset, dx.byteOffset, ptr(dgamma), ptr(dbeta), N, C, HW, ptr(reluOut), ptr(mask?.beta ?? null), ptr(mask?.affine ?? null)],
    C, channelGrain(N, HW), HW === 1 ? 4 : 1, true,
  );
}
