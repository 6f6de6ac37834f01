// Reference batch normalization: plain f64 loops, the same signatures as ../batchnorm.ts.
import type { ReluMask } from "../batchnorm.js";
const idx = (n: number, c: number, s: number, C: number, HW: number): number => (n * C + c) * HW + s;

export function batchNormForwardTrain(
  x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, y: Float32Array,
  saveMean: Float32Array, saveInvStd: Float32Array, runningMean: Float32Array | null, runningVar: Float32Array | null,
  N: number, C: number, HW: number, momentum = 0.1, eps = 1e-5, relu = false, affine: Float32Array | null = null,
): void {
  const count = N * HW;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < HW; k++) s += x[idx(n, c, k, C, HW)];
    const mean = s / count;
    let q = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < HW; k++) q += (x[idx(n, c, k, C, HW)] - mean) ** 2;
    const variance = q / count;
    const invstd = 1 / Math.sqrt(variance + eps);
    const g = gamma ? gamma[c] : 1, b = beta ? beta[c] : 0;
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < HW; k++) {
        const i = idx(n, c, k, C, HW);
        const v = (x[i] - mean) * invstd * g + b;
        y[i] = relu ? Math.max(v, 0) : v;
      }
    }
    saveMean[c] = mean;
    saveInvStd[c] = invstd;
    if (affine) {
      // the fast kernel's per-channel constants: the f32 mean's low part, and the scale in f32
      affine[c] = mean - Math.fround(mean);
      affine[C + c] = g * invstd;
    }
    if (runningMean) runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean;
    if (runningVar) runningVar[c] = (1 - momentum) * runningVar[c] + momentum * variance * (count / (count - 1));
  }
}

export function batchNormForwardEval(
  x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, runningMean: Float32Array, runningVar: Float32Array,
  y: Float32Array, N: number, C: number, HW: number, eps = 1e-5,
): void {
  for (let c = 0; c < C; c++) {
    const invstd = 1 / Math.sqrt(runningVar[c] + eps);
    const g = gamma ? gamma[c] : 1, b = beta ? beta[c] : 0;
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < HW; k++) {
        const i = idx(n, c, k, C, HW);
        y[i] = (x[i] - runningMean[c]) * invstd * g + b;
      }
    }
  }
}

export function batchNormBackward(
  dy: Float32Array, x: Float32Array, gamma: Float32Array | null, saveMean: Float32Array, saveInvStd: Float32Array,
  dx: Float32Array, dgamma: Float32Array | null, dbeta: Float32Array | null, N: number, C: number, HW: number,
  reluOut: Float32Array | null = null, _mask: ReluMask | null = null,
): void {
  // `_mask` only lets the fast kernel recompute reluOut > 0 instead of reading it: same mask
  const count = N * HW;
  if (reluOut) dy = dy.map((g, i) => (reluOut[i] > 0 ? g : 0));
  for (let c = 0; c < C; c++) {
    const mean = saveMean[c], invstd = saveInvStd[c];
    const g = gamma ? gamma[c] : 1;
    let sumDy = 0, sumDyXhat = 0;
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < HW; k++) {
        const i = idx(n, c, k, C, HW);
        sumDy += dy[i];
        sumDyXhat += dy[i] * (x[i] - mean) * invstd;
      }
    }
    if (dgamma) dgamma[c] = sumDyXhat;
    if (dbeta) dbeta[c] = sumDy;
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < HW; k++) {
        const i = idx(n, c, k, C, HW);
        const xhat = (x[i] - mean) * invstd;
        dx[i] = g * invstd * (dy[i] - sumDy / count - xhat * sumDyXhat / count);
      }
    }
  }
}
