// Reference AdderNet kernels: the oracle for the wasm kernels, written from the definitions in
// docs/addernet.md ("Layers", "Gradients") with plain loops and f64 sums:
//   y[n][k][oh][ow] = bias[k] − Σ_{c,ki,kj} |xpad[n][g·Cg + c][ih][iw] − w[k][c][ki][kj]|
// with ih = oh·strideH − padH + ki·dilationH (likewise iw) and xpad = 0 outside the image: a
// padded tap adds −|w|. Gradients (paper / sign):
//   dw += dy·(xpad − w)        / dy·sgn(xpad − w)      every tap, padded ones with x = 0
//   dx += dy·clamp(w − x,−1,1) / dy·sgn(w − x)         in-image taps only (padding is dropped)
import type { Conv2dShape } from "../conv2d.js";
import { forEachTap } from "./conv_taps.js";
import type { AdderGrad } from "../adder.js";

const clamp1 = (v: number) => Math.min(1, Math.max(-1, v));
const inputRule = (grad: AdderGrad) => (grad === "sign" ? Math.sign : clamp1);
const weightRule = (grad: AdderGrad) => (grad === "sign" ? Math.sign : (v: number) => v);

/** y = bias − Σ|xpad − w|; y is overwritten. */
export function adder2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, s: Conv2dShape): void {
  const sum = new Float64Array(s.N * s.K * s.OH * s.OW);
  forEachTap(s, (yi, xi, wi) => { sum[yi] -= Math.abs((xi < 0 ? 0 : x[xi]) - w[wi]); });
  const P = s.OH * s.OW;
  for (let i = 0; i < sum.length; i++) y[i] = sum[i] + (bias ? bias[Math.floor(i / P) % s.K] : 0);
}

/**
 * dx = Σ dy · f(w − x) over in-image taps; dx is overwritten. `_zeroInputsDropped` only leaves dx
 * where x = +0 free (the fast kernel then sums part of it): the whole sum is one valid answer.
 */
export function adder2dBackwardInput(
  x: Float32Array, dy: Float32Array, w: Float32Array, dx: Float32Array, s: Conv2dShape, grad: AdderGrad = "paper", _zeroInputsDropped = false,
): void {
  const f = inputRule(grad);
  const sum = new Float64Array(s.N * s.C * s.H * s.W);
  forEachTap(s, (yi, xi, wi) => { if (xi >= 0) sum[xi] += dy[yi] * f(w[wi] - x[xi]); });
  dx.set(sum);
}

/** dw = Σ dy · h(xpad − w), h = identity (paper) or sgn; dw is overwritten. */
export function adder2dBackwardWeight(x: Float32Array, dy: Float32Array, w: Float32Array, dw: Float32Array, s: Conv2dShape, grad: AdderGrad = "paper"): void {
  const h = weightRule(grad);
  const sum = new Float64Array(s.K * (s.C / s.groups) * s.kh * s.kw);
  forEachTap(s, (yi, xi, wi) => { sum[wi] += dy[yi] * h((xi < 0 ? 0 : x[xi]) - w[wi]); });
  dw.set(sum);
}

// ---- fully connected: x [N, I], w [O, I], y [N, O] ----

export function adderLinearForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, N: number, I: number, O: number): void {
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let sum = 0;
      for (let i = 0; i < I; i++) sum -= Math.abs(x[n * I + i] - w[o * I + i]);
      y[n * O + o] = sum + (bias ? bias[o] : 0);
    }
  }
}

export function adderLinearBackwardInput(x: Float32Array, dy: Float32Array, w: Float32Array, dx: Float32Array, N: number, I: number, O: number, grad: AdderGrad = "paper"): void {
  const f = inputRule(grad);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < I; i++) {
      let sum = 0;
      for (let o = 0; o < O; o++) sum += dy[n * O + o] * f(w[o * I + i] - x[n * I + i]);
      dx[n * I + i] = sum;
    }
  }
}

export function adderLinearBackwardWeight(x: Float32Array, dy: Float32Array, w: Float32Array, dw: Float32Array, N: number, I: number, O: number, grad: AdderGrad = "paper"): void {
  const h = weightRule(grad);
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      let sum = 0;
      for (let n = 0; n < N; n++) sum += dy[n * O + o] * h(x[n * I + i] - w[o * I + i]);
      dw[o * I + i] = sum;
    }
  }
}
