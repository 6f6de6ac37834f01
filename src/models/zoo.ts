// The model zoo: build any architecture by name and op kind. The spec is what a checkpoint stores,
// so a model can be rebuilt exactly from its file.
import { preview, quoted } from "../io/json.js";
import type { Module } from "../nn/module.js";
import type { ModelSpec } from "./spec.js";
import { DeepShiftConv, DeepShiftFC } from "./deepshift_mnist.js";
import { layerFactory, multiplyLayers, newSpecOptions, type LayerFactory } from "./layer_factory.js";
import { LeNet5 } from "./lenet5.js";
import { MobileNet } from "./mobile.js";
import { CifarResNet } from "./resnet_cifar.js";
import { VggSmall } from "./vgg_small.js";
import "./shift_op.js";
import "./adder_op.js";

export type { ModelSpec } from "./spec.js";

type Builder = (f: LayerFactory, edge: LayerFactory, s: ModelSpec) => Module;

const builders = new Map<string, { build: Builder; input: [number, number] }>([
  // MNIST models: every layer takes the op kind, as in the papers' MNIST experiments
  ["lenet5", { input: [1, 28], build: (f, _e, s) => new LeNet5(f, s) }],
  ["deepshift-fc", { input: [1, 28], build: (f, _e, s) => new DeepShiftFC(f, { inFeatures: s.inChannels * s.inputSize ** 2, numClasses: s.numClasses }) }],
  ["deepshift-conv", { input: [1, 28], build: (f, _e, s) => new DeepShiftConv(f, s) }],
  ["resnet20", { input: [3, 32], build: (f, e, s) => new CifarResNet(f, e, 3, s) }],
  ["resnet32", { input: [3, 32], build: (f, e, s) => new CifarResNet(f, e, 5, s) }],
  ["vgg-small", { input: [3, 32], build: (f, e, s) => new VggSmall(f, e, s) }],
  ["mobile", { input: [3, 32], build: (f, e, s) => new MobileNet(f, e, s) }],
]);

export function modelNames(): string[] {
  return [...builders.keys()];
}

/** Fill in the defaults of a partial spec and validate the names. */
export function resolveSpec(partial: Partial<ModelSpec> & { model: string }): ModelSpec {
  const entry = builders.get(partial.model);
  if (!entry) throw new Error(`unknown model '${partial.model}'; valid: ${modelNames().join(", ")}`);
  const op = partial.op ?? "conv";
  layerFactory(op); // validates the op name (newSpecOptions needs it)
  const opOptions = { ...newSpecOptions(op), ...partial.opOptions };
  layerFactory(op, opOptions); // validates the options the spec will record
  return {
    model: partial.model,
    op,
    inChannels: partial.inChannels ?? entry.input[0],
    inputSize: partial.inputSize ?? entry.input[1],
    numClasses: partial.numClasses ?? 10,
    ...(partial.allLayers ? { allLayers: true } : {}),
    ...(Object.keys(opOptions).length ? { opOptions } : {}),
  };
}

const SPEC_KEYS = ["model", "op", "inChannels", "inputSize", "numClasses", "allLayers", "opOptions"];
const LIMITS = { inChannels: 4096, inputSize: 4096, numClasses: 1_000_000 };

/**
 * A spec read back from a file, checked field by field (names, integer sizes, the op kind's
 * options); throws a one-line Error naming the field. The model is not built here.
 */
export function parseSpec(raw: unknown): ModelSpec {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error(`the model spec must be an object, got ${raw === null ? "null" : typeof raw}`);
  const r = raw as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !SPEC_KEYS.includes(k));
  if (unknown.length) throw new Error(`the model spec has unknown field ${quoted(unknown[0]!)}`);
  if (typeof r.model !== "string" || !builders.has(r.model)) throw new Error(`unknown model ${preview(r.model)}; valid: ${modelNames().join(", ")}`);
  if (typeof r.op !== "string") throw new Error("the model spec's op must be a string");
  for (const [key, max] of Object.entries(LIMITS)) {
    const v = r[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) throw new Error(`the model spec's ${key} must be an integer in 1–${max}, got ${preview(v)}`);
  }
  if (r.allLayers !== undefined && typeof r.allLayers !== "boolean") throw new Error("the model spec's allLayers must be true or false");
  const opts = r.opOptions;
  if (opts !== undefined && (typeof opts !== "object" || opts === null || Array.isArray(opts))) throw new Error("the model spec's opOptions must be an object");
  layerFactory(r.op, opts as Record<string, unknown> | undefined); // validates the op kind and its options
  return r as unknown as ModelSpec;
}

export function createModel(spec: ModelSpec): Module {
  const entry = builders.get(spec.model);
  if (!entry) throw new Error(`unknown model '${spec.model}'; valid: ${modelNames().join(", ")}`);
  const f = layerFactory(spec.op, spec.opOptions);
  const edge = spec.allLayers ? f : multiplyLayers;
  const model = entry.build(f, edge, spec);
  f.afterBuild?.(model);
  return model;
}

/** Register another architecture (used by later op kinds' lightweight models and by users). */
export function registerModel(name: string, input: [number, number], build: Builder): void {
  builders.set(name, { build, input });
}
