// Module-level tracing: run one forward pass and record every module call in the order it starts,
// with its dotted name and its input and output tensors. Models are plain imperative code, so this
// is how export and the operation counter learn the graph a model really runs (including a shared
// ReLU or pool module called several times, and functional steps such as flatten, which show up as
// a shape change between two calls).
import type { Tensor } from "../tensor/tensor.js";
import type { Module } from "./module.js";

export interface ModuleCall {
  /** Dotted name as in stateDict() ("" for the root). */
  name: string;
  module: Module;
  /** Nesting depth: 0 for the root. */
  depth: number;
  /** True for a module without children: the calls that do the arithmetic. */
  leaf: boolean;
  input: Tensor;
  output: Tensor;
}

/** Calls model.forward(x) with every module's forward instrumented; restores them afterwards. */
export function traceModules(model: Module, x: Tensor): { output: Tensor; calls: ModuleCall[] } {
  const calls: ModuleCall[] = [];
  const restore: Array<() => void> = [];
  let depth = 0;
  const seen = new Set<Module>();
  for (const [name, module] of model.namedModules()) {
    if (seen.has(module)) continue; // a module reachable under two names is traced under the first
    seen.add(module);
    const original = module.forward;
    const leaf = module.namedChildren().length === 0;
    const own = Object.prototype.hasOwnProperty.call(module, "forward");
    module.forward = (input: Tensor, ...rest: unknown[]): Tensor => {
      const call: ModuleCall = { name, module, depth, leaf, input, output: input };
      calls.push(call);
      depth++;
      try {
        call.output = (original as (...a: unknown[]) => Tensor).call(module, input, ...rest);
      } finally {
        depth--;
      }
      return call.output;
    };
    restore.push(() => {
      if (own) module.forward = original;
      else delete (module as { forward?: unknown }).forward;
    });
  }
  try {
    return { output: model.forward(x), calls };
  } finally {
    for (const undo of restore) undo();
  }
}
