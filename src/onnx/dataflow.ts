// The dataflow graph of one traced forward pass: which module ran on which value, and the
// functional steps that happened between module calls. Models are imperative code, so the
// functional steps are recovered from the tensors themselves:
// - a reshape (flatten) keeps the storage: an input whose Float32Array is a known value's, with
//   another shape, is that value reshaped;
// - a residual add makes new storage: an unknown input that equals a + b element for element, for
//   exactly one pair of earlier values a and b of its shape, is that sum. Inside a module's forward
//   only that module's input and the values made since it started are candidates.
// Anything else (a value computed by code outside the modules) is refused with the module's name:
// exporting it would silently drop that computation.
import type { Module } from "../nn/module.js";
import type { ModuleCall } from "../nn/trace.js";
import type { Tensor } from "../tensor/tensor.js";
import { OnnxExportError } from "./errors.js";

export type ValueId = number;

export type Step =
  | { kind: "module"; name: string; module: Module; input: ValueId; output: ValueId }
  | { kind: "reshape"; name: string; input: ValueId; output: ValueId }
  | { kind: "add"; name: string; a: ValueId; b: ValueId; output: ValueId };

export interface Dataflow {
  /** Every value as traced (id = index; 0 is the model's input). */
  values: Tensor[];
  steps: Step[];
  output: ValueId;
}

/** Sum pairs tried per unknown value before giving up (the models' blocks need a handful). */
const MAX_PAIRS = 20_000;

/** A module call in progress: sums inside its forward can only use its input and what it made since. */
interface Frame {
  call: ModuleCall;
  input: ValueId;
  /** The first value made inside the call. */
  start: ValueId;
}

export function dataflowOf(input: Tensor, calls: readonly ModuleCall[], output: Tensor): Dataflow {
  const values: Tensor[] = [input];
  const steps: Step[] = [];
  const add = (t: Tensor): ValueId => values.push(t) - 1;

  /** The value `t` is, adding the reshape or sum step that made it when needed, inside `frame`. */
  const resolve = (t: Tensor, consumer: string, frame: Frame | undefined): ValueId => {
    const same = lastIndexWhere(values, (v) => v.data === t.data && sameShape(v, t));
    if (same >= 0) return same;
    const parent = frame?.call.name ?? "";
    const sameStorage = lastIndexWhere(values, (v) => v.data === t.data);
    if (sameStorage >= 0) {
      const from = values[sameStorage]!;
      if (from.shape[0] !== t.shape[0]) {
        throw new OnnxExportError(`${consumer}: its input is a reshape of [${from.shape.join(", ")}] to [${t.shape.join(", ")}], which mixes images of the batch`);
      }
      const id = add(t);
      steps.push({ kind: "reshape", name: join(parent, "flatten"), input: sameStorage, output: id });
      return id;
    }
    const visible = frame ? [frame.input, ...range(frame.start, values.length)] : range(0, values.length);
    const [a, b] = sumOperands(values, visible, t, consumer);
    const id = add(t);
    steps.push({ kind: "add", name: join(parent, "add"), a, b, output: id });
    return id;
  };

  const stack: Frame[] = [];
  for (const call of calls) {
    while (stack.length && stack[stack.length - 1]!.call.depth >= call.depth) stack.pop();
    const label = `${call.name || "(root)"} (${call.module.constructor.name})`;
    const inputId = resolve(call.input, label, stack[stack.length - 1]);
    if (!call.leaf) {
      stack.push({ call, input: inputId, start: values.length });
      continue;
    }
    const outputId = add(call.output);
    steps.push({ kind: "module", name: call.name, module: call.module, input: inputId, output: outputId });
  }
  if (!steps.some((s) => s.kind === "module")) throw new OnnxExportError("the model called no module: nothing to export");
  return { values, steps, output: resolve(output, "the model's output", undefined) };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

function sameShape(a: Tensor, b: Tensor): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

function lastIndexWhere<T>(xs: readonly T[], pred: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (pred(xs[i]!)) return i;
  return -1;
}

const join = (parent: string, what: string): string => (parent ? `${parent}.${what}` : what);

/** The one pair of `visible` values whose float32 sum is `t` exactly; refuses none or several. */
function sumOperands(values: readonly Tensor[], visible: readonly ValueId[], t: Tensor, consumer: string): [ValueId, ValueId] {
  const candidates = visible.filter((id) => sameShape(values[id]!, t)).reverse(); // most recent first
  const found: Array<[ValueId, ValueId]> = [];
  let tried = 0;
  for (let i = 0; i < candidates.length && found.length < 2; i++) {
    for (let j = i; j < candidates.length && found.length < 2; j++) {
      if (++tried > MAX_PAIRS) break;
      if (isSum(values[candidates[i]!]!.data, values[candidates[j]!]!.data, t.data)) found.push([candidates[j]!, candidates[i]!]);
    }
  }
  if (found.length === 1) return found[0]!;
  const why = found.length
    ? "it equals the sum of more than one pair of earlier values, so the graph is ambiguous (are some of them equal on the traced batch, e.g. a ReLU that outputs only zeros because the BatchNorm statistics are not trained?)"
    : "it is computed outside the modules, and is neither a reshape of an earlier value nor the sum of two";
  throw new OnnxExportError(`${consumer}: cannot export its input: ${why}`);
}

function isSum(a: Float32Array, b: Float32Array, t: Float32Array): boolean {
  for (let k = 0; k < t.length; k++) if (Math.fround(a[k]! + b[k]!) !== t[k]) return false;
  return true;
}
