// Module surgery, like torch.nn.Module.set_submodule: put another module under a dotted name.
// Used to keep chosen layers of a converted model multiplicative.
import { Sequential } from "../nn/container.js";
import type { Module } from "../nn/module.js";

/** Replace the submodule called `name` (a dotted name from namedModules()) with `replacement`. */
export function setSubmodule(root: Module, name: string, replacement: Module): void {
  for (const [parentName, parent] of root.namedModules()) {
    for (const [key] of parent.namedChildren()) {
      if ((parentName ? `${parentName}.${key}` : key) !== name) continue;
      const holder = parent as unknown as Record<string, unknown>;
      const dot = key.indexOf(".");
      if (parent instanceof Sequential) parent.layers[Number(key)] = replacement;
      else if (dot >= 0) (holder[key.slice(0, dot)] as Module[])[Number(key.slice(dot + 1))] = replacement;
      else holder[key] = replacement;
      if (!parent.namedChildren().some(([k, m]) => k === key && m === replacement)) {
        throw new Error(`setSubmodule: cannot replace '${name}' inside ${parent.constructor.name}`);
      }
      return;
    }
  }
  throw new Error(`setSubmodule: the model has no submodule '${name}'`);
}
