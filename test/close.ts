// Tolerance checks shared by the tests, with messages that name the value and the error.
import assert from "node:assert/strict";

/** |got − want| <= tol (NaN fails). */
export function assertNear(got: number, want: number, tol: number, what: string): void {
  if (!(Math.abs(got - want) <= tol)) assert.fail(`${what}: got ${got}, want ${want} (diff ${Math.abs(got - want)}, tol ${tol})`);
}

/**
 * |actual − expected| <= rtol·max(|expected|, max|expected|) elementwise: relative to the array's
 * scale, since float32 rounding errors follow the operands' magnitude (a value that cancels to
 * near 0 keeps the absolute error of its operands).
 */
export function assertScaledClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-6, what = "value"): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    const ok = Math.abs(a - e) <= rtol * Math.max(Math.abs(e), scale);
    assert.ok(ok, `${what}[${i}]: got ${a}, expected ${e} (err ${Math.abs(a - e)}, scale ${scale})`);
  }
}
