import { reluBackward, reluForward } from "../../kernels/elementwise.js";
import { accumulateGrad, record } from "../autograd.js";
import { Tensor } from "../tensor.js";

/** Outputs of a ReLU: relu()'s own, and a training-mode BatchNorm's told that one follows. */
const rectified = new WeakSet<Tensor>();

/** Marks `t` as already rectified: relu(t) is then t itself. */
export function markRectified(t: Tensor): Tensor {
  rectified.add(t);
  return t;
}

/**
 * Whether `t` is a ReLU's output (relu(), or a BatchNorm with the ReLU fused): its producer's
 * backward multiplies t's gradient by [t > 0], so that gradient is never used where t is 0.
 */
export function isRectified(t: Tensor): boolean {
  return rectified.has(t);
}

export function relu(x: Tensor): Tensor {
  // relu(relu(v)) = relu(v), and its gradient mask [relu(v) > 0] is [v > 0]: the same tensor, exactly
  if (rectified.has(x)) return x;
  const y = Tensor.empty(x.shape);
  reluForward(x.data, y.data);
  return markRectified(record(y, "relu", [x], (dy) => accumulateGrad(x, (dx) => reluBackward(dy, x.data, dx))));
}
