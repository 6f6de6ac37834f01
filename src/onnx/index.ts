// ONNX export of nn models: the float graph, adder layers as ai.mulfree function ops.
export { modelToOnnx, INPUT_NAME, OUTPUT_NAME, type OnnxExportOptions } from "./export.js";
export { OnnxExportError } from "./errors.js";
export { MULFREE_DOMAIN, ONNX_IR_VERSION, ONNX_OPSET } from "./context.js";
export { encodeOnnxModel, decodeOnnxModel } from "../io/onnx/codec.js";
export type { ModelProto, FunctionProto, NodeProto, GraphProto, TensorProto } from "../io/onnx/types.js";
