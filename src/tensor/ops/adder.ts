// AdderNet ops: y = −Σ|x − w| with the surrogate gradients of docs/addernet.md ("Gradients").
//   grad "paper" (default): ∂y/∂w = x − w,  ∂y/∂x = clamp(w − x, −1, 1)
//   grad "sign":            ∂y/∂w = sgn(x − w), ∂y/∂x = sgn(w − x)  (the true derivative, for ablations)
// `form` picks how the forward sum is computed ("min" or "direct", src/kernels/adder.ts); the
// gradients do not depend on it.
// The adaptive learning rate is not applied here: it is an optimizer hook (optim/adaptive_lr.ts)
// on the raw weight gradient, so it sees the gradient summed over the whole step.
// When the input x is a ReLU's output, the ReLU's backward multiplies x's gradient by [x > 0], so
// that gradient is never used where x = 0, and the conv input gradient skips the work that only
// lands there (adderOptions.skipRectifiedZeros): every parameter gradient keeps its bits, and
// x.grad is exact wherever x ≠ 0.
import {
  adder2dBackwardInput, adder2dBackwardWeight, adder2dForward,
  adderLinearBackwardInput, adderLinearBackwardWeight, adderLinearForward, type AdderForm, type AdderGrad,
} from "../../kernels/adder.js";
import { conv2dBackwardBias } from "../../kernels/conv2d.js";
import { sumChannels } from "../../kernels/elementwise.js";
import { accumulateGrad, record } from "../autograd.js";
import { Tensor } from "../tensor.js";
import { isRectified } from "./activation.js";
import { resolveConv2d, type Conv2dOptions } from "./conv2d.js";

export type { AdderForm, AdderGrad };

/**
 * skipRectifiedZeros: for an input that is a ReLU's output, leave out of its gradient the tile
 * rows of all-zero inputs (their terms reach only gradient elements the ReLU drops). About a
 * quarter of ResNet-20's input-gradient work; off makes x.grad the whole sum everywhere. Read
 * when a layer runs forward.
 */
export const adderOptions = { skipRectifiedZeros: true };

export interface Adder2dOptions extends Conv2dOptions {
  grad?: AdderGrad;
  form?: AdderForm;
}

/** y[n,k,oh,ow] = bias[k] − Σ|xpad − w| over the window; zero padding adds −|w| per padded tap. */
export function adder2d(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Adder2dOptions = {}): Tensor {
  const grad = opts.grad ?? "paper";
  const s = resolveConv2d(x, weight.shape, opts);
  const y = Tensor.empty([s.N, s.K, s.OH, s.OW]);
  adder2dForward(x.data, weight.data, bias ? bias.data : null, y.data, s, opts.form ?? "min");
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const zerosDropped = adderOptions.skipRectifiedZeros && isRectified(x);
  return record(y, "adder2d", inputs, (dy) => {
    accumulateGrad(x, (dx) => adder2dBackwardInput(x.data, dy, weight.data, dx, s, grad, zerosDropped));
    accumulateGrad(weight, (dw) => adder2dBackwardWeight(x.data, dy, weight.data, dw, s, grad));
    if (bias) accumulateGrad(bias, (db) => conv2dBackwardBias(dy, db, s));
  });
}

/** y[n,o] = bias[o] − Σ_i |x[n,i] − w[o,i]|, w stored [out, in] like Linear. */
export function adderLinear(x: Tensor, weight: Tensor, bias: Tensor | null, grad: AdderGrad = "paper", form: AdderForm = "min"): Tensor {
  const [O, I] = weight.shape;
  if (x.ndim !== 2 || x.shape[1] !== I) throw new Error(`adderLinear: expected input [N, ${I}], got [${x.shape.join(", ")}]`);
  const N = x.shape[0];
  const y = Tensor.empty([N, O]);
  adderLinearForward(x.data, weight.data, bias ? bias.data : null, y.data, N, I, O, form);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(y, "adderLinear", inputs, (dy) => {
    accumulateGrad(x, (dx) => adderLinearBackwardInput(x.data, dy, weight.data, dx, N, I, O, grad));
    accumulateGrad(weight, (dw) => adderLinearBackwardWeight(x.data, dy, weight.data, dw, N, I, O, grad));
    if (bias) accumulateGrad(bias, (db) => sumChannels(dy, db, N, O, 1));
  });
}
