// Reference conv2d kernels: the oracle for the wasm kernels. Direct loops over the definition,
// written for clarity: y[n][k][oh][ow] = bias[k] + Σ_{c,ki,kj} w[k][c][ki][kj] · x[n][g·Cg + c][ih][iw]
// with ih = oh·strideH − padH + ki·dilationH (likewise iw), zero outside the image.
import { checkConv2dShape, type Conv2dShape } from "../conv2d.js";
import { forEachTap } from "./conv_taps.js";

/** Calls visit(yIndex, xIndex, wIndex) for every term y += x · w of the convolution sum (padded taps add nothing). */
function forEachTerm(s: Conv2dShape, visit: (yIndex: number, xIndex: number, wIndex: number) => void): void {
  forEachTap(s, (yIndex, xIndex, wIndex) => { if (xIndex >= 0) visit(yIndex, xIndex, wIndex); });
}

/** y = conv2d(x, w) + bias; y is overwritten. */
export function conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, s: Conv2dShape): void {
  const sum = new Float64Array(s.N * s.K * s.OH * s.OW);
  forEachTerm(s, (yi, xi, wi) => { sum[yi] += x[xi] * w[wi]; });
  const P = s.OH * s.OW;
  for (let i = 0; i < sum.length; i++) y[i] = sum[i] + (bias ? bias[Math.floor(i / P) % s.K] : 0);
}

/** dx = Σ over terms dy[y] · w; dx is overwritten. */
export function conv2dBackwardInput(dy: Float32Array, w: Float32Array, dx: Float32Array, s: Conv2dShape): void {
  const sum = new Float64Array(s.N * s.C * s.H * s.W);
  forEachTerm(s, (yi, xi, wi) => { sum[xi] += dy[yi] * w[wi]; });
  dx.set(sum);
}

/** dw = Σ over terms dy[y] · x; dw is overwritten, and rowSum (if given) with the bias gradient. */
export function conv2dBackwardWeight(dy: Float32Array, x: Float32Array, dw: Float32Array, s: Conv2dShape, rowSum: Float32Array | null = null): void {
  const sum = new Float64Array(s.K * (s.C / s.groups) * s.kh * s.kw);
  forEachTerm(s, (yi, xi, wi) => { sum[wi] += dy[yi] * x[xi]; });
  dw.set(sum);
  if (rowSum) conv2dBackwardBias(dy, rowSum, s);
}

/** db[k] = Σ_{n, oh, ow} dy[n][k][oh][ow]; db is overwritten. */
export function conv2dBackwardBias(dy: Float32Array, db: Float32Array, s: Conv2dShape): void {
  checkConv2dShape(s);
  const P = s.OH * s.OW;
  for (let k = 0; k < s.K; k++) {
    let sum = 0;
    for (let n = 0; n < s.N; n++) for (let p = 0; p < P; p++) sum += dy[(n * s.K + k) * P + p];
    db[k] = sum;
  }
}
