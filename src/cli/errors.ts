// Every error is one line on stderr and a non-zero exit (2 for usage, 1 otherwise); the stack
// trace appears only with --debug. With --json, stdout also ends with {"error": ...}, so scripts
// reading the last line see the failure too.
import { UsageError } from "./args.js";

export class CliError extends Error {}

/** The first line of a message, at most 2000 characters: a message built from bad input never floods the terminal. */
function oneLine(message: string): string {
  const line = message.split("\n")[0]!;
  return line.length > 2000 ? `${line.slice(0, 2000)}…` : line;
}

export function reportError(e: unknown, options: { debug: boolean; json: boolean }): number {
  const err = e instanceof Error ? e : new Error(String(e));
  // a stack overflow or an engine error is a bug of ours, not the user's input: say so
  const internal = err instanceof RangeError && /call stack/.test(err.message);
  const message = internal ? `internal error: ${oneLine(err.message)} (please report it with --debug output)` : oneLine(err.message);
  process.stderr.write(`mulfree: error: ${message}\n`);
  if (options.debug && err.stack) process.stderr.write(err.stack + "\n");
  const code = err instanceof UsageError ? 2 : 1;
  if (options.json) process.stdout.write(JSON.stringify({ error: message, exitCode: code }) + "\n");
  return code;
}
