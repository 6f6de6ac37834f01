// The flags that configure shift layers, shared by `train` and `convert`.
import type { FlagSpec, ParsedFlags } from "./args.js";
import { CliError } from "./errors.js";

export const shiftFlags: Record<string, FlagSpec> = {
  "weight-bits": { type: "int", help: "shift: bits per weight, 2–8 (default 5)", min: 2, max: 8 },
  rounding: { type: "string", help: "shift: rounding of the log-domain weight while training", choices: ["deterministic", "stochastic"] },
  "activation-bits": { type: "string", help: "shift: fixed-point input and bias as INT,FRAC bits (default 16,16); 'none' to disable" },
  "shift-init": { type: "string", help: "shift-ps: initial P and S drawn at random from the reference's ranges, or rounded from the default float init (what the reference's mnist.py trains from)", choices: ["random", "float"] },
  "unsigned-activations": { type: "bool", help: "shift: quantise non-negative (post-ReLU) inputs to [0, 2^INT − 1], one more bit" },
};

/** `INT,FRAC` → [I, F]; `none` → null. */
export function parseActivationBits(v: string): [number, number] | null {
  if (v === "none") return null;
  const m = /^(\d+),(\d+)$/.exec(v);
  if (!m) throw new CliError(`--activation-bits must be INT,FRAC (e.g. 16,16) or none, got '${v}'`);
  const bits: [number, number] = [Number(m[1]), Number(m[2])];
  if (bits[0] < 1 || bits[0] > 32 || bits[1] > 32) throw new CliError(`--activation-bits: INT must be 1–32 and FRAC 0–32, got '${v}'`);
  return bits;
}

/** The shift op options given on the command line (only those given, so the spec stays short). */
export function shiftOptionsFrom(f: ParsedFlags): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (f.weightBits !== undefined) o.weightBits = f.weightBits;
  if (f.rounding !== undefined) o.rounding = f.rounding;
  if (f.activationBits !== undefined) o.activationBits = parseActivationBits(String(f.activationBits));
  if (f.unsignedActivations === true) o.activationUnsigned = true;
  if (f.shiftInit !== undefined) o.init = f.shiftInit;
  return o;
}
