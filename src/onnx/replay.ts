// The check that the recovered dataflow is the model: run its steps again on the traced input,
// with the same modules and ops, and require every value to come out bit for bit as traced. A
// wrong guess about the wiring (a sum of the wrong pair, a value changed in place after it was
// used) fails here, naming the first step that differs, instead of becoming a wrong ONNX graph.
import { add } from "../tensor/ops/arith.js";
import { reshape } from "../tensor/ops/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Dataflow, Step } from "./dataflow.js";
import { OnnxExportError } from "./errors.js";

/** Call inside noGrad and a scope, with the model in eval mode. */
export function checkDataflow(flow: Dataflow): void {
  const computed: Tensor[] = [flow.values[0]!];
  for (const step of flow.steps) {
    const y = run(step, computed, flow.values[step.output]!.shape);
    const want = flow.values[step.output]!;
    if (!sameBits(y, want)) {
      const what = step.kind === "module" ? `${step.name} (${step.module.constructor.name})` : `the ${step.kind} ${step.name}`;
      throw new OnnxExportError(`${what}: running the recovered graph again does not reproduce the traced value, so the model is not a graph of its modules (does it change tensors in place?)`);
    }
    computed[step.output] = y;
  }
}

function run(step: Step, computed: Tensor[], shape: readonly number[]): Tensor {
  switch (step.kind) {
    case "module":
      return step.module.forward(computed[step.input]!);
    case "reshape":
      return reshape(computed[step.input]!, shape);
    case "add":
      return add(computed[step.a]!, computed[step.b]!);
  }
}

function sameBits(a: Tensor, b: Tensor): boolean {
  if (a.shape.join(",") !== b.shape.join(",")) return false;
  for (let i = 0; i < a.size; i++) if (!Object.is(a.data[i], b.data[i])) return false;
  return true;
}
