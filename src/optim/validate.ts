// Option checks shared by optimizers and schedulers. Every message names the owner and the option,
// so a bad value from the command line is easy to trace.

/** Formats a value for an error message without throwing on odd inputs. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`;
  return String(value);
}

function fail(where: string, key: string, rule: string, value: unknown): never {
  throw new Error(`${where}: option '${key}' must be ${rule}, got ${show(value)}`);
}

/** Throws if `obj` has a key (with a defined value) outside `allowed`. */
export function checkKeys(obj: object, allowed: readonly string[], where: string): void {
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined || allowed.includes(key)) continue;
    throw new Error(`${where}: unknown option '${key}' (valid: ${allowed.join(", ")})`);
  }
}

export function finiteNumber(value: unknown, key: string, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) fail(where, key, "a finite number", value);
  return value;
}

/** x >= 0 and finite. */
export function nonNegative(value: unknown, key: string, where: string): number {
  const x = finiteNumber(value, key, where);
  if (x < 0) fail(where, key, ">= 0", value);
  return x;
}

/** x > 0 and finite. */
export function positive(value: unknown, key: string, where: string): number {
  const x = finiteNumber(value, key, where);
  if (!(x > 0)) fail(where, key, "> 0", value);
  return x;
}

/** 0 <= x < 1 (or <= 1 with `closed`). */
export function unitInterval(value: unknown, key: string, where: string, closed = false): number {
  const x = finiteNumber(value, key, where);
  if (x < 0 || (closed ? x > 1 : x >= 1)) fail(where, key, closed ? "in [0, 1]" : "in [0, 1)", value);
  return x;
}

export function integer(value: unknown, key: string, where: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    fail(where, key, `an integer >= ${min}`, value);
  }
  return value;
}

export function boolean(value: unknown, key: string, where: string): boolean {
  if (typeof value !== "boolean") fail(where, key, "true or false", value);
  return value;
}

/** A pair (beta1, beta2), each in [0, 1). Only checks (no allocation: it runs on every step). */
export function betas(value: unknown, key: string, where: string): void {
  if (!Array.isArray(value) || value.length !== 2) fail(where, key, "a pair [beta1, beta2]", value);
  const b1 = value[0] as unknown, b2 = value[1] as unknown;
  if (typeof b1 !== "number" || typeof b2 !== "number" || !(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) {
    fail(where, key, "a pair of numbers each in [0, 1)", value);
  }
}
