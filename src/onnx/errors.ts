// The one error of ONNX export: a one-line reason naming the module, so the CLI prints it as is.
export class OnnxExportError extends Error {
  override readonly name = "OnnxExportError";
}
