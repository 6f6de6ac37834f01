// Module: the PyTorch-style container. Parameters, buffers and child modules are discovered from
// the object's own properties in declaration order, so dotted names match what a PyTorch user
// expects (`conv1.weight`, `layer1.0.bn1.running_mean`).
import { Buffer, Parameter, Tensor } from "../tensor/tensor.js";

export abstract class Module {
  training = true;

  abstract forward(x: Tensor): Tensor;

  /** Child modules with their names; arrays of modules are named `prop.i`. */
  namedChildren(): Array<[string, Module]> {
    const out: Array<[string, Module]> = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Module) out.push([key, value]);
      else if (Array.isArray(value)) value.forEach((v, i) => v instanceof Module && out.push([`${key}.${i}`, v]));
    }
    return out;
  }

  /** Own parameters (not children's). Null entries are skipped (e.g. bias = null). */
  protected ownTensors<T extends Tensor>(kind: new (...a: never[]) => T): Array<[string, T]> {
    const out: Array<[string, T]> = [];
    for (const [key, value] of Object.entries(this)) if (value instanceof kind) out.push([tensorKey(key), value]);
    return out;
  }

  namedParameters(prefix = ""): Array<[string, Parameter]> {
    const out = this.ownTensors(Parameter).map(([k, p]): [string, Parameter] => [prefix + k, p]);
    for (const [name, child] of this.namedChildren()) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = ""): Array<[string, Buffer]> {
    const out = this.ownTensors(Buffer).map(([k, b]): [string, Buffer] => [prefix + k, b]);
    for (const [name, child] of this.namedChildren()) out.push(...child.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  /** Every module in the tree, depth first, with its dotted name ("" for the root). */
  namedModules(prefix = ""): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix.replace(/\.$/, ""), this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(`${prefix}${name}.`));
    return out;
  }

  /** Parameters and buffers by dotted name (views of live storage), module by module like PyTorch. */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, m] of this.namedModules()) {
      const prefix = name ? name + "." : "";
      for (const [k, p] of m.ownTensors(Parameter)) out.set(prefix + k, p);
      for (const [k, b] of m.ownTensors(Buffer)) out.set(prefix + k, b);
    }
    return out;
  }

  /** Copy values in; every key must exist with the same shape (strict, like PyTorch's default). */
  loadStateDict(state: Map<string, { shape: readonly number[]; data: ArrayLike<number> }>, strict = true): void {
    const own = this.stateDict();
    if (strict) {
      const missing = [...own.keys()].filter((k) => !state.has(k));
      const unexpected = [...state.keys()].filter((k) => !own.has(k));
      if (missing.length || unexpected.length) {
        const parts = [];
        if (missing.length) parts.push(`missing ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}`);
        if (unexpected.length) parts.push(`unexpected ${unexpected.slice(0, 5).join(", ")}${unexpected.length > 5 ? ", …" : ""}`);
        throw new Error(`state dict does not match the model: ${parts.join("; ")}`);
      }
    }
    for (const [k, t] of own) {
      const src = state.get(k);
      if (!src) continue;
      if (src.shape.join(",") !== t.shape.join(",")) {
        throw new Error(`state dict: ${k} has shape [${src.shape.join(", ")}], the model expects [${t.shape.join(", ")}]`);
      }
      t.data.set(src.data);
    }
  }

  /**
   * What a checkpoint stores for this module's own tensors where that differs from the live
   * values, keyed like its own state-dict entries. Shift layers store their rounded weights here
   * (inference needs them, DeepShift #19) while training keeps the latent values.
   */
  savedTensors(): Map<string, Float32Array> | null {
    return null;
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad?.fill(0);
  }

  /** Number of trainable scalars. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }
}

/** Properties may carry a trailing underscore or camelCase; state-dict keys use PyTorch's snake_case. */
function tensorKey(prop: string): string {
  return prop.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}
