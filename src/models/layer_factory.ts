// How a model asks for its weight layers without knowing the op kind. Each op kind (conv, adder,
// shift-q, shift-ps) registers a factory; the zoo builds every architecture through one of them.
import { Conv2d, type Conv2dConfig } from "../nn/conv.js";
import { Linear } from "../nn/linear.js";
import { printable } from "../io/json.js";
import type { Module } from "../nn/module.js";

export interface LayerFactory {
  /** A weight layer that takes the op kind. */
  conv(inChannels: number, outChannels: number, kernelSize: number, cfg?: Conv2dConfig): Module;
  linear(inFeatures: number, outFeatures: number, opts?: { bias?: boolean }): Module;
  /** Runs on the finished model (e.g. to keep named layers multiplicative in a converted model). */
  afterBuild?(model: Module): void;
}

export const multiplyLayers: LayerFactory = {
  conv: (i, o, k, cfg) => new Conv2d(i, o, k, cfg),
  linear: (i, o, opts) => new Linear(i, o, opts),
};

/** conv layers take no options: a spec that gives some (e.g. weightBits) was made for another op kind. */
function convLayers(options: Record<string, unknown>): LayerFactory {
  const keys = Object.keys(options);
  if (keys.length) throw new Error(`op conv takes no options, got ${keys.slice(0, 3).map((k) => `'${printable(k)}'`).join(", ")}`);
  return multiplyLayers;
}

const factories = new Map<string, (options: Record<string, unknown>) => LayerFactory>([["conv", convLayers]]);
const newSpecDefaults = new Map<string, Record<string, unknown>>();

/**
 * Op kinds add themselves here (adder, shift-q, shift-ps). `newSpecOptions` are options every new
 * spec of the kind records (resolveSpec), where a missing key means something older: a spec read
 * back from a file keeps the meaning it was made with.
 */
export function registerOpKind(name: string, make: (options: Record<string, unknown>) => LayerFactory, newSpecOptions: Record<string, unknown> = {}): void {
  factories.set(name, make);
  newSpecDefaults.set(name, newSpecOptions);
}

/** The options a new spec of this op kind records unless given (see registerOpKind). */
export function newSpecOptions(op: string): Record<string, unknown> {
  return { ...newSpecDefaults.get(op) };
}

export function opKinds(): string[] {
  return [...factories.keys()];
}

export function layerFactory(op: string, options: Record<string, unknown> = {}): LayerFactory {
  const make = factories.get(op);
  if (!make) throw new Error(`unknown op '${printable(op)}'; valid: ${opKinds().join(", ")}`);
  return make(options);
}
