// Every error is one line on stderr and a non-zero exit (2 for usage, 1 otherwise); the stack
// trace appears only with --debug.
import { UsageError } from "./args.js";

export class CliError extends Error {}

export function reportError(e: unknown, debug: boolean): number {
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`mulfree: error: ${err.message.split("\n")[0]}\n`);
  if (debug && err.stack) process.stderr.write(err.stack + "\n");
  return err instanceof UsageError ? 2 : 1;
}
