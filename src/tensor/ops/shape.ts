// Shape ops that share storage with their input.
import { accumulateGrad, record } from "../autograd.js";
import { Tensor, sizeOf, type Shape } from "../tensor.js";

/** Same data, new shape (one dimension may be -1). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const known = shape.filter((d) => d !== -1);
  const rest = x.size / Math.max(1, sizeOf(known));
  const full = shape.map((d) => (d === -1 ? rest : d));
  if (sizeOf(full) !== x.size) throw new Error(`reshape: cannot view [${x.shape.join(", ")}] as [${shape.join(", ")}]`);
  const y = new Tensor(x.data, full);
  return record(y, "reshape", [x], (dy) => accumulateGrad(x, (dx) => dx.set(dy)));
}

/** [N, ...] → [N, prod(...)] */
export function flatten(x: Tensor): Tensor {
  return reshape(x, [x.shape[0], -1]);
}
