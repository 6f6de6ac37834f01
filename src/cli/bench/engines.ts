// mulfree's engines as `mulfree bench` times them: one call = one batch through the public API,
// exactly as a user would run it (the int8 runner's load/predict, the float model in eval mode).
import { load } from "../../deploy/index.js";
import { initRuntime } from "../../kernels/runtime.js";
import type { Module } from "../../nn/module.js";
import { noGrad } from "../../tensor/autograd.js";
import { scope } from "../../tensor/storage.js";
import { Tensor } from "../../tensor/tensor.js";
import { batchOf, IMAGE, type BenchImages } from "./data.js";
import type { BenchModel, Kind } from "./models.js";

export const MULFREE_ENGINES = ["int8-adder", "int8-shift", "int8-conv", "f32-conv"] as const;
export type MulfreeEngine = (typeof MULFREE_ENGINES)[number];

/** The model kind each engine runs. */
export const ENGINE_KIND: Record<MulfreeEngine, Kind> = { "int8-adder": "adder", "int8-shift": "shift", "int8-conv": "conv", "f32-conv": "conv" };

export interface EngineRun {
  /** One batch; returns a logit so the work cannot be optimised away. */
  call(): number;
  dispose(): void;
}

/** The int8 bundle through load(bytes, {threads}).predict(pixels in [0, 1], n). */
function int8Run(model: BenchModel, images: BenchImages, batch: number, threads: number): EngineRun {
  const m = load(model.bundle, { threads, name: model.source });
  const x = batchOf(images.pixels, images.n, batch);
  return { call: () => m.predict(x, batch).logits[0]!, dispose: () => m.dispose() };
}

/** The float model's eval-mode forward (the training engine's f32 kernels). */
function f32Run(float: Module, images: BenchImages, batch: number, threads: number): EngineRun {
  initRuntime({ threads });
  const x = Tensor.empty([batch, ...IMAGE], true);
  x.data.set(batchOf(images.normalized, images.n, batch));
  return { call: () => noGrad(() => scope(() => float.forward(x).data[0]!)), dispose: () => x.dispose() };
}

export function engineRun(engine: MulfreeEngine, model: BenchModel, floatConv: Module | null, images: BenchImages, batch: number, threads: number): EngineRun {
  if (engine !== "f32-conv") return int8Run(model, images, batch, threads);
  if (!floatConv) throw new Error("f32-conv needs a float conv model");
  return f32Run(floatConv, images, batch, threads);
}

/**
 * How often the bundle's top-1 class equals its float model's on the bench images: a cheap check
 * that the timed integer model computes the same network (null without a float model).
 */
export function top1Agreement(model: BenchModel, images: BenchImages): number | null {
  if (!model.float) return null;
  const n = images.n;
  const m = load(model.bundle, { threads: 1, name: model.source });
  const intClasses = m.predict(images.pixels, n).classes.slice();
  m.dispose();
  initRuntime({ threads: 1 });
  const x = Tensor.empty([n, ...IMAGE], true);
  x.data.set(images.normalized);
  const logits = noGrad(() => scope(() => model.float!.forward(x).toArray()));
  x.dispose();
  const classes = logits.length / n;
  let same = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c]! > logits[i * classes + best]!) best = c;
    if (best === intClasses[i]) same++;
  }
  return same / n;
}
