// Define-by-run autograd: ops record a GradNode on their output; backward walks the graph from the
// loss in reverse topological order and lets each node push its gradient to its inputs.
import { add } from "../kernels/elementwise.js";
import { allocF32 } from "./storage.js";
import { Parameter, Tensor, type GradNode } from "./tensor.js";

let gradEnabled = true;

/** Run `fn` without recording gradients (inference, metrics, in-place updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** True if any input needs a gradient and recording is on. */
export function needsGrad(...inputs: Array<Tensor | null | undefined>): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/** Attach a node to `out` when any input requires grad. */
export function record(out: Tensor, name: string, inputs: Tensor[], backward: (gradOut: Float32Array) => void): Tensor {
  if (needsGrad(...inputs)) {
    out.requiresGrad = true;
    out.node = { name, inputs, backward } satisfies GradNode;
  }
  return out;
}

/**
 * Add a gradient contribution to `t.grad`. `compute(buf)` writes the contribution into `buf`.
 * The first contribution to a fresh non-leaf gradient is written in place; later ones go to a
 * temporary and are added. Parameter gradients persist across steps and always accumulate.
 */
export function accumulateGrad(t: Tensor, compute: (buf: Float32Array) => void): void {
  if (!t.requiresGrad) return;
  if (t.grad === null) {
    const persistent = t instanceof Parameter;
    t.grad = allocF32(t.size, persistent);
    if (!persistent) {
      compute(t.grad);
      return;
    }
    t.grad.fill(0);
  }
  const tmp = allocF32(t.size);
  compute(tmp);
  add(t.grad, tmp, t.grad);
}

/** Backpropagate from a scalar (or from `t` with a given output gradient). */
export function backward(t: Tensor, gradOut?: Float32Array): void {
  if (!t.requiresGrad) throw new Error("backward(): the tensor does not require grad");
  if (!gradOut && t.size !== 1) throw new Error("backward(): a non-scalar output needs an explicit gradient");
  const order = topoOrder(t);
  const seed = gradOut ?? new Float32Array([1]);
  accumulateGrad(t, (buf) => buf.set(seed));
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i].node!;
    const g = order[i].grad;
    if (g) node.backward(g);
  }
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // iterative DFS so deep networks do not overflow the JS stack
  const stack: Array<[Tensor, number]> = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child.node && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      if (t.node) order.push(t);
    }
  }
  return order;
}
