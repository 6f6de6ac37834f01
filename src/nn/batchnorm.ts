import { batchNorm } from "../tensor/ops/batchnorm.js";
import { Buffer, Parameter, Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
}

/** BatchNorm's forward option for a BatchNorm whose result goes straight into a ReLU (see forward). */
export const RELU_NEXT: Readonly<{ reluNext: boolean }> = Object.freeze({ reluNext: true });

/** BatchNorm over the channel dimension (dim 1); BatchNorm1d and BatchNorm2d differ only in input rank. */
export abstract class BatchNormBase extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  runningMean: Buffer;
  runningVar: Buffer;
  readonly eps: number;
  /** Weight of the newest batch in the running statistics (PreciseBN sets 1/k to average k batches). */
  momentum: number;

  constructor(readonly numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new Error(`BatchNorm: numFeatures must be a positive integer, got ${numFeatures}`);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const affine = opts.affine ?? true;
    this.weight = affine ? Parameter.create([numFeatures]) : null;
    this.weight?.data.fill(1);
    this.bias = affine ? Parameter.create([numFeatures]) : null;
    this.runningMean = Buffer.create([numFeatures]);
    this.runningVar = Buffer.create([numFeatures]);
    this.runningVar.data.fill(1);
  }

  protected abstract checkRank(x: Tensor): void;

  /**
   * `reluNext`: the caller applies a ReLU to the result. In training BatchNorm then applies it in
   * the same pass and the ReLU passes the result through (same bits, less memory traffic); in eval
   * mode the output is BatchNorm's alone. Without the ReLU after it, the flag would be wrong.
   */
  forward(x: Tensor, opts: { readonly reluNext?: boolean } = {}): Tensor {
    this.checkRank(x);
    if (x.shape[1] !== this.numFeatures) throw new Error(`BatchNorm: expected ${this.numFeatures} channels, got ${x.shape[1]}`);
    return batchNorm(x, this.weight, this.bias, this.runningMean, this.runningVar, this.training, this.momentum, this.eps, opts.reluNext === true);
  }
}

export class BatchNorm1d extends BatchNormBase {
  protected checkRank(x: Tensor): void {
    if (x.ndim !== 2) throw new Error(`BatchNorm1d: expected [N, C], got [${x.shape.join(", ")}]`);
  }
}

export class BatchNorm2d extends BatchNormBase {
  protected checkRank(x: Tensor): void {
    if (x.ndim !== 4) throw new Error(`BatchNorm2d: expected [N, C, H, W], got [${x.shape.join(", ")}]`);
  }
}
