// What a module's ONNX emitter gets: the graph being built, the model-local functions, and the
// module call it translates (its ONNX input name and the traced shapes, batch dimension first).
import type { NodeBuilder } from "../io/onnx/builder.js";
import type { FunctionProto } from "../io/onnx/types.js";
import type { Module } from "../nn/module.js";

/** The domain of mulfree's function ops (Adder2d, AdderLinear). */
export const MULFREE_DOMAIN = "ai.mulfree";
export const MULFREE_DOMAIN_VERSION = 1;
/** The standard opset the graph and the function bodies use (ReduceSum's axes are an input from 13 on). */
export const ONNX_OPSET = 17;
/** IR version 10: the first with FunctionProto/NodeProto overloads, which give each adder layer its own body. */
export const ONNX_IR_VERSION = 10;

export interface EmitContext {
  graph: NodeBuilder;
  functions: FunctionProto[];
}

export interface LayerCall {
  /** The module's dotted name ("" for the root). */
  name: string;
  module: Module;
  /** The ONNX value the module reads. */
  input: string;
  inputShape: readonly number[];
  outputShape: readonly number[];
}

/** A module's node name: its dotted name, or its class for the root. */
export function nodeName(call: LayerCall): string {
  return call.name || call.module.constructor.name;
}
