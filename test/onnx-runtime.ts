// Running exported ONNX models in onnxruntime-web (wasm backend, in Node, one thread) and
// comparing them with mulfree's float eval forward. Test-only: onnxruntime is a devDependency.
import * as ort from "onnxruntime-web";
import { encodeOnnxModel } from "../src/io/onnx/codec.js";
import type { ModelProto } from "../src/io/onnx/types.js";
import { floatValueInfo } from "../src/io/onnx/values.js";
import { traceModules } from "../src/nn/trace.js";
import type { Module } from "../src/nn/module.js";
import { noGrad } from "../src/tensor/autograd.js";
import { normal, type Rng } from "../src/tensor/random.js";
import { scope } from "../src/tensor/storage.js";
import { Tensor } from "../src/tensor/tensor.js";

ort.env.wasm.numThreads = 1; // must be set before the first session; one thread keeps test timings stable

export async function onnxLogits(model: ModelProto | Uint8Array, x: Float32Array, shape: readonly number[]): Promise<Float32Array> {
  return (await onnxRun(model, x, shape))["logits"]!;
}

/** Every graph output of the model for input `x`. */
export async function onnxRun(model: ModelProto | Uint8Array, x: Float32Array, shape: readonly number[]): Promise<Record<string, Float32Array>> {
  const bytes = model instanceof Uint8Array ? model : encodeOnnxModel(model);
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ input: new ort.Tensor("float32", x, [...shape]) });
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Float32Array.from(v.data as Float32Array)]));
  } finally {
    await session.release();
  }
}

/** The model with these node outputs added as graph outputs (to compare a layer's values, not only the logits). */
export function withOutputs(model: ModelProto, outputs: Array<{ name: string; shape: readonly number[] }>): ModelProto {
  const extra = outputs.map((o) => floatValueInfo(o.name, ["N", ...o.shape.slice(1)]));
  return { ...model, graph: { ...model.graph, output: [...model.graph.output, ...extra] } };
}

/** Each leaf module's output for input `x` (first call of each module), traced in eval mode. */
export function mulfreeLayerOutputs(model: Module, x: Float32Array, shape: readonly number[]): Map<string, Tensor> {
  model.eval();
  return noGrad(() => scope(() => {
    const { calls } = traceModules(model, Tensor.from(x, shape));
    const out = new Map<string, Tensor>();
    for (const c of calls) if (c.leaf && !out.has(c.name)) out.set(c.name, new Tensor(c.output.toArray(), c.output.shape));
    return out;
  }));
}

export function mulfreeLogits(model: Module, x: Float32Array, shape: readonly number[]): Float32Array {
  model.eval();
  return noGrad(() => scope(() => model.forward(Tensor.from(x, shape)).toArray()));
}

export function randomInput(shape: readonly number[], rng: Rng): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => normal(rng));
}

/** The test's metric: max|Δ| / max|reference|, over every logit of the batch. */
export function relativeError(got: Float32Array, want: Float32Array): number {
  if (got.length !== want.length) throw new Error(`${got.length} logits, expected ${want.length}`);
  let diff = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i]!)) return Infinity;
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / scale;
}
