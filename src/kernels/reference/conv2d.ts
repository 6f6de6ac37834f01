// Reference conv2d kernels: the oracle for the wasm kernels. Direct loops over the definition,
// written for clarity: y[n][k][oh][ow] = bias[k] + Σ_{c,ki,kj} w[k][c][ki][kj] · x[n][g·Cg + c][ih][iw]
// with ih = oh·strideH − padH + ki·dilationH (likewise iw), zero outside the image.
import { checkConv2dShape, type Conv2dShape } from "../conv2d.js";

/** Calls visit(yIndex, xIndex, wIndex) for every term y += x · w of the convolution sum. */
function forEachTerm(s: Conv2dShape, visit: (yIndex: number, xIndex: number, wIndex: number) => void): void {
  checkConv2dShape(s);
  const Cg = s.C / s.groups, Kg = s.K / s.groups;
  for (let n = 0; n < s.N; n++) {
    for (let k = 0; k < s.K; k++) {
      const g = Math.floor(k / Kg);
      for (let oh = 0; oh < s.OH; oh++) {
        for (let ow = 0; ow < s.OW; ow++) {
          const yIndex = ((n * s.K + k) * s.OH + oh) * s.OW + ow;
          for (let c = 0; c < Cg; c++) {
            for (let ki = 0; ki < s.kh; ki++) {
              const ih = oh * s.strideH - s.padH + ki * s.dilationH;
              if (ih < 0 || ih >= s.H) continue;
              for (let kj = 0; kj < s.kw; kj++) {
                const iw = ow * s.strideW - s.padW + kj * s.dilationW;
                if (iw < 0 || iw >= s.W) continue;
                const xIndex = ((n * s.C + g * Cg + c) * s.H + ih) * s.W + iw;
                const wIndex = ((k * Cg + c) * s.kh + ki) * s.kw + kj;
                visit(yIndex, xIndex, wIndex);
              }
            }
          }
        }
      }
    }
  }
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
