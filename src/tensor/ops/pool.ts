import { avgPool2dBackward, avgPool2dForward, globalAvgPoolBackward, globalAvgPoolForward, maxPool2dBackward, maxPool2dForward, pool2dShape } from "../../kernels/pool.js";
import { accumulateGrad, record } from "../autograd.js";
import { allocI32 } from "../storage.js";
import { Tensor } from "../tensor.js";

export interface Pool2dOptions {
  stride?: number;
  padding?: number;
  ceilMode?: boolean;
  /** avg pooling: padding counts toward the divisor (PyTorch default true). */
  countIncludePad?: boolean;
}

function shapeOf(x: Tensor, kernel: number, opts: Pool2dOptions) {
  if (x.ndim !== 4) throw new Error(`pool2d: input must be NCHW, got [${x.shape.join(", ")}]`);
  const [N, C, H, W] = x.shape;
  return pool2dShape(N, C, H, W, { kernel, stride: opts.stride, padding: opts.padding, ceilMode: opts.ceilMode });
}

export function maxPool2d(x: Tensor, kernel: number, opts: Pool2dOptions = {}): Tensor {
  const s = shapeOf(x, kernel, opts);
  const y = Tensor.empty([s.N, s.C, s.OH!, s.OW!]);
  const argmax = allocI32(y.size);
  maxPool2dForward(x.data, y.data, argmax, s);
  return record(y, "maxpool2d", [x], (dy) => accumulateGrad(x, (dx) => maxPool2dBackward(dy, argmax, dx, s)));
}

export function avgPool2d(x: Tensor, kernel: number, opts: Pool2dOptions = {}): Tensor {
  const s = { ...shapeOf(x, kernel, opts), countIncludePad: opts.countIncludePad ?? true };
  const y = Tensor.empty([s.N, s.C, s.OH!, s.OW!]);
  avgPool2dForward(x.data, y.data, s);
  return record(y, "avgpool2d", [x], (dy) => accumulateGrad(x, (dx) => avgPool2dBackward(dy, dx, s)));
}

export function globalAvgPool(x: Tensor): Tensor {
  if (x.ndim !== 4) throw new Error(`globalAvgPool: input must be NCHW, got [${x.shape.join(", ")}]`);
  const [N, C, H, W] = x.shape;
  const y = Tensor.empty([N, C, 1, 1]);
  globalAvgPoolForward(x.data, y.data, N, C, H * W);
  return record(y, "globalavgpool", [x], (dy) => accumulateGrad(x, (dx) => globalAvgPoolBackward(dy, dx, N, C, H * W)));
}
