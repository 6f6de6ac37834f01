import { reluBackward, reluForward } from "../../kernels/elementwise.js";
import { accumulateGrad, record } from "../autograd.js";
import { Tensor } from "../tensor.js";

export function relu(x: Tensor): Tensor {
  const y = Tensor.empty(x.shape);
  reluForward(x.data, y.data);
  return record(y, "relu", [x], (dy) => accumulateGrad(x, (dx) => reluBackward(dy, x.data, dx)));
}
