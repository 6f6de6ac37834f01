// mulfree/onnx: ONNX export of nn models (the float graph, adder layers as ai.mulfree function
// ops). Its own entry point, because it needs protobufjs: `import "mulfree"` stays free of
// dependencies a browser would have to resolve.
export { modelToOnnx, INPUT_NAME, OUTPUT_NAME, type OnnxExportOptions } from "./export.js";
export { OnnxExportError } from "./errors.js";
export { MULFREE_DOMAIN, ONNX_IR_VERSION, ONNX_OPSET } from "./context.js";
export { encodeOnnxModel, decodeOnnxModel } from "../io/onnx/codec.js";
export type { ModelProto, FunctionProto, NodeProto, GraphProto, TensorProto } from "../io/onnx/types.js";
export { exportOnnx, type OnnxExportRequest, type OnnxExportSummary } from "../tasks/export_onnx.js";
