// The one error type of the io layer. Its message is a complete, one-line explanation
// (file + problem), so the CLI prints it without a stack trace.
export class IoError extends Error {
  override readonly name: string = "IoError";
}
