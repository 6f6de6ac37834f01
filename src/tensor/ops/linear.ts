// Fully connected layer: y = x·Wᵀ + b with W stored [out, in] as in PyTorch.
import { gemm } from "../../kernels/gemm.js";
import { addChannelBias, sumChannels } from "../../kernels/elementwise.js";
import { accumulateGrad, record } from "../autograd.js";
import { Tensor } from "../tensor.js";

export function linear(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const [out, inp] = weight.shape;
  if (x.ndim !== 2 || x.shape[1] !== inp) {
    throw new Error(`linear: expected input [N, ${inp}], got [${x.shape.join(", ")}]`);
  }
  const n = x.shape[0];
  const y = Tensor.empty([n, out]);
  gemm(false, true, n, out, inp, x.data, inp, weight.data, inp, y.data, out, false);
  if (bias) addChannelBias(y.data, bias.data, n, out, 1);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(y, "linear", inputs, (dy) => {
    accumulateGrad(x, (dx) => gemm(false, false, n, inp, out, dy, out, weight.data, inp, dx, inp, false));
    accumulateGrad(weight, (dw) => gemm(true, false, out, inp, n, dy, out, x.data, inp, dw, inp, false));
    if (bias) accumulateGrad(bias, (db) => sumChannels(dy, db, n, out, 1));
  });
}
