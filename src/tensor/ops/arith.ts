// Elementwise arithmetic with autograd.
import { add as addKernel } from "../../kernels/elementwise.js";
import { accumulateGrad, record } from "../autograd.js";
import { Tensor } from "../tensor.js";

function sameShape(a: Tensor, b: Tensor, op: string): void {
  if (a.shape.join(",") !== b.shape.join(",")) throw new Error(`${op}: shapes [${a.shape.join(", ")}] and [${b.shape.join(", ")}] differ`);
}

/** a + b (same shape; used by residual connections). */
export function add(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, "add");
  const y = Tensor.empty(a.shape);
  addKernel(a.data, b.data, y.data);
  return record(y, "add", [a, b], (dy) => {
    accumulateGrad(a, (da) => da.set(dy));
    accumulateGrad(b, (db) => db.set(dy));
  });
}
