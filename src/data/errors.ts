// The one error type of the data layer. Its message is a complete, one-line explanation
// (file + problem), so the CLI prints it without a stack trace.
export class DataError extends Error {
  override readonly name = "DataError";
}
