// 2-D pooling over NCHW f32 tensors with PyTorch semantics (floor or ceil mode, implicit padding
// that never wins a max and counts toward an average only with countIncludePad). Threads split
// over the N·C planes.
import { checkSizes, checkView } from "./elementwise.js";
import { runtime } from "./runtime.js";

/** Geometry of one pooling op on an [N, C, H, W] input. */
export interface Pool2dShape {
  N: number;
  C: number;
  H: number;
  W: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  /** Use ceil instead of floor for the output size (PyTorch ceil_mode). Default false. */
  ceilMode?: boolean;
  /** Output size, if the caller computed it: checked against the one the geometry gives. */
  OH?: number;
  OW?: number;
}

export interface AvgPool2dShape extends Pool2dShape {
  /** Padding counts toward the divisor (PyTorch count_include_pad). Default true. */
  countIncludePad?: boolean;
  /** When > 0, divide every window by this instead (PyTorch divisor_override). */
  divisorOverride?: number;
}

export interface Pool2dOptions {
  kernel: number | [number, number];
  /** Default: the kernel size. */
  stride?: number | [number, number];
  padding?: number | [number, number];
  ceilMode?: boolean;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === "number" ? [v, v] : v);

/** A Pool2dShape from PyTorch-style arguments (stride defaults to the kernel size), OH/OW filled in. */
export function pool2dShape(N: number, C: number, H: number, W: number, opts: Pool2dOptions): Pool2dShape {
  const [kh, kw] = pair(opts.kernel);
  const [strideH, strideW] = pair(opts.stride ?? opts.kernel);
  const [padH, padW] = pair(opts.padding ?? 0);
  const shape: Pool2dShape = { N, C, H, W, kh, kw, strideH, strideW, padH, padW, ceilMode: opts.ceilMode ?? false };
  [shape.OH, shape.OW] = pool2dOutputSize(shape);
  return shape;
}

/** PyTorch's pooling_output_shape for one dimension. */
function outSize(size: number, k: number, s: number, p: number, ceil: boolean): number {
  let o = Math.floor((size + 2 * p - k + (ceil ? s - 1 : 0)) / s) + 1;
  // the last window must start inside the input or its left padding
  if (ceil && (o - 1) * s >= size + p) o--;
  return o;
}

/** Output [OH, OW] of a pooling op; throws on a bad shape, naming the field. */
export function pool2dOutputSize(shape: Pool2dShape, kernel = "pool2d"): [number, number] {
  const { N, C, H, W, kh, kw, strideH, strideW, padH, padW } = shape;
  checkSizes(kernel, { N, C, H, W, kh, kw, strideH, strideW });
  checkSizes(kernel, { padH, padW }, true);
  if (2 * padH > kh || 2 * padW > kw) {
    throw new Error(`${kernel}: padding (${padH}, ${padW}) must be at most half the kernel (${kh}, ${kw})`);
  }
  const oh = outSize(H, kh, strideH, padH, !!shape.ceilMode);
  const ow = outSize(W, kw, strideW, padW, !!shape.ceilMode);
  if (oh < 1 || ow < 1) {
    throw new Error(`${kernel}: input ${H}x${W} is too small for kernel ${kh}x${kw} with padding ${padH}x${padW} (output ${oh}x${ow})`);
  }
  if ((shape.OH !== undefined && shape.OH !== oh) || (shape.OW !== undefined && shape.OW !== ow)) {
    throw new Error(
      `${kernel}: shape says output ${shape.OH}x${shape.OW} but the geometry gives ${oh}x${ow} (ceilMode=${!!shape.ceilMode})`,
    );
  }
  return [oh, ow];
}

/** Planes per thread below which a second thread does not pay. */
function planeGrain(elemsPerPlane: number): number {
  return Math.max(1, Math.ceil(16384 / elemsPerPlane));
}

function geometry(shape: Pool2dShape, oh: number, ow: number): number[] {
  return [shape.H, shape.W, oh, ow, shape.kh, shape.kw, shape.strideH, shape.strideW, shape.padH, shape.padW];
}

/** y = max over each window; argmax[o] = h·W + w of the winner in its input plane (first max wins). */
export function maxPool2dForward(x: Float32Array, y: Float32Array, argmax: Int32Array, shape: Pool2dShape): void {
  const k = "maxPool2dForward";
  const [oh, ow] = pool2dOutputSize(shape, k);
  const planes = shape.N * shape.C;
  checkView(k, "x", x, planes * shape.H * shape.W);
  checkView(k, "y", y, planes * oh * ow);
  checkView(k, "argmax", argmax, planes * oh * ow);
  const hw = shape.H * shape.W;
  runtime().parallel("maxPool2dForwardF32", [x.byteOffset, y.byteOffset, argmax.byteOffset, ...geometry(shape, oh, ow)], planes, planeGrain(hw), 1, true);
}

/**
 * dx = 0, then dx[plane, argmax] += dy (overlapping windows accumulate in output order).
 * `argmax` must come from maxPool2dForward with the same shape.
 */
export function maxPool2dBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array, shape: Pool2dShape): void {
  const k = "maxPool2dBackward";
  const [oh, ow] = pool2dOutputSize(shape, k);
  const planes = shape.N * shape.C;
  const hw = shape.H * shape.W;
  checkView(k, "dy", dy, planes * oh * ow);
  checkView(k, "argmax", argmax, planes * oh * ow);
  checkView(k, "dx", dx, planes * hw);
  runtime().parallel("maxPool2dBackwardF32", [dy.byteOffset, argmax.byteOffset, dx.byteOffset, ...geometry(shape, oh, ow)], planes, planeGrain(hw), 1, true);
}

function avgOptions(k: string, shape: AvgPool2dShape): [number, number] {
  const d = shape.divisorOverride ?? 0;
  if (!Number.isInteger(d) || d < 0) throw new Error(`${k}: divisorOverride must be a positive integer, got ${d}`);
  return [shape.countIncludePad === false ? 0 : 1, d];
}

/** y = Σ window / divisor (PyTorch avg_pool2d; countIncludePad defaults to true). */
export function avgPool2dForward(x: Float32Array, y: Float32Array, shape: AvgPool2dShape): void {
  const k = "avgPool2dForward";
  const [oh, ow] = pool2dOutputSize(shape, k);
  const planes = shape.N * shape.C;
  const hw = shape.H * shape.W;
  checkView(k, "x", x, planes * hw);
  checkView(k, "y", y, planes * oh * ow);
  runtime().parallel("avgPool2dForwardF32", [x.byteOffset, y.byteOffset, ...geometry(shape, oh, ow), ...avgOptions(k, shape)], planes, planeGrain(hw));
}

/** dx = 0, then every window adds dy / divisor to each of its inputs. */
export function avgPool2dBackward(dy: Float32Array, dx: Float32Array, shape: AvgPool2dShape): void {
  const k = "avgPool2dBackward";
  const [oh, ow] = pool2dOutputSize(shape, k);
  const planes = shape.N * shape.C;
  const hw = shape.H * shape.W;
  checkView(k, "dy", dy, planes * oh * ow);
  checkView(k, "dx", dx, planes * hw);
  runtime().parallel("avgPool2dBackwardF32", [dy.byteOffset, dx.byteOffset, ...geometry(shape, oh, ow), ...avgOptions(k, shape)], planes, planeGrain(hw));
}

/** y[n, c] = mean of x[n, c, :] over HW elements. */
export function globalAvgPoolForward(x: Float32Array, y: Float32Array, N: number, C: number, HW: number): void {
  const k = "globalAvgPoolForward";
  checkSizes(k, { N, C, HW });
  checkView(k, "x", x, N * C * HW);
  checkView(k, "y", y, N * C);
  runtime().parallel("globalAvgPoolForwardF32", [x.byteOffset, y.byteOffset, HW], N * C, planeGrain(HW));
}

/** dx[n, c, :] = dy[n, c] / HW. */
export function globalAvgPoolBackward(dy: Float32Array, dx: Float32Array, N: number, C: number, HW: number): void {
  const k = "globalAvgPoolBackward";
  checkSizes(k, { N, C, HW });
  checkView(k, "dy", dy, N * C);
  checkView(k, "dx", dx, N * C * HW);
  runtime().parallel("globalAvgPoolBackwardF32", [dy.byteOffset, dx.byteOffset, HW], N * C, planeGrain(HW));
}
