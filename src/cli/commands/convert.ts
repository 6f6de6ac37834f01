import { resolve } from "node:path";
import type { Rounding } from "../../nn/shift.js";
import { convertCheckpoint, convertedPath } from "../../tasks/convert.js";
import { UsageError, type CommandSpec, type ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import { printJson } from "../output.js";
import { parseActivationBits, shiftFlags } from "../shift_flags.js";

const TARGETS = ["shift-ps", "shift-q"];
// a converted layer's initial values come from the trained weights
const { "shift-init": _init, ...conversionFlags } = shiftFlags;

export const convertSpec: CommandSpec = {
  name: "convert",
  summary: "turn a trained conv checkpoint into a DeepShift checkpoint to fine-tune with train --from",
  usage: "mulfree convert CHECKPOINT --to shift-ps|shift-q [--weight-bits 5] [--shift-depth N] [--keep-first-last] [-o OUT]",
  positionals: ["checkpoint"],
  flags: {
    to: { type: "string", help: "op kind of the converted layers", choices: TARGETS },
    ...conversionFlags,
    "shift-depth": { type: "int", help: "convert only the first N weight layers, counted from the INPUT end (default: all)", min: 1 },
    "keep-first-last": { type: "bool", help: "keep the first and the last weight layer multiplicative" },
    out: { type: "string", short: "o", help: "output file (default: CHECKPOINT's name with .<op>.safetensors)" },
  },
};

export function runConvert(f: ParsedFlags, [path]: string[]): void {
  if (f.to === undefined) throw new UsageError(`convert needs --to ${TARGETS.join(" or ")}`);
  const to = String(f.to);
  const out = String(f.out ?? convertedPath(path!, to));
  if (resolve(out) === resolve(path!)) throw new CliError(`-o ${out} would overwrite the input checkpoint`);
  const { spec, shifted, kept } = convertCheckpoint(path!, {
    to, out,
    weightBits: f.weightBits as number | undefined,
    shiftDepth: f.shiftDepth as number | undefined,
    keepFirstLast: f.keepFirstLast === true,
    rounding: f.rounding as Rounding | undefined,
    activationBits: f.activationBits === undefined ? undefined : parseActivationBits(String(f.activationBits)),
    activationUnsigned: f.unsignedActivations === true,
  });
  const bits = (spec.opOptions?.weightBits as number) ?? 5;
  process.stdout.write(
    `${spec.model}: ${shifted.length} layer${shifted.length === 1 ? "" : "s"} to ${to} (${bits}-bit): ${shifted.join(", ")}` +
      `${kept.length ? `; multiplicative: ${kept.join(", ")}` : ""}\nwrote ${out} (fine-tune it with: mulfree train --from ${out} --out runs/NAME)\n`,
  );
  if (f.json) printJson({ command: "convert", checkpoint: path, output: out, model: spec.model, op: to, weightBits: bits, shifted, kept, spec });
}
