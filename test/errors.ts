// The check behind every "bad input gets a clear error" test: fn throws the library's own error
// class, with a one-line message matching every pattern.
import assert from "node:assert/strict";

export function expectOneLineError<E extends Error>(fn: () => unknown, kind: new (...args: never[]) => E, ...patterns: RegExp[]): E {
  let caught: unknown;
  assert.throws(fn, (e: unknown) => ((caught = e), true));
  assert.ok(caught instanceof kind, `expected ${kind.name}, got ${String(caught)}`);
  assert.ok(!/[\n\r]/.test(caught.message), `message is not one line: ${caught.message}`);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}
