// The one error of export: a model (or a part of it) that has no integer graph, named with the
// module and the reason.
export class ExportError extends Error {
  override readonly name = "ExportError";
}
