import { inspectModel, type LayerReport } from "../../analysis/inspect.js";
import { loadModel } from "../../train/load_model.js";
import type { CommandSpec, ParsedFlags } from "../args.js";
import { pct, printJson } from "../output.js";

export const inspectSpec: CommandSpec = {
  name: "inspect",
  summary: "per-layer effective weights of a checkpoint: shift histogram, zeros, bits per weight",
  usage: "mulfree inspect CHECKPOINT [--json]",
  positionals: ["checkpoint"],
  flags: {},
};

const BARS = " ▁▂▃▄▅▆▇█";

/** One character per shift (0 first): the share of the layer's nonzero weights at that shift. */
function sparkline(r: LayerReport): string {
  const counts = r.histogram!.map((b) => b.positive + b.negative);
  const top = Math.max(1, ...counts);
  return counts.map((c) => (c === 0 ? "·" : BARS[Math.max(1, Math.round((c / top) * 8))])).join("");
}

function row(r: LayerReport, width: number): string {
  const bits = r.histogram ? `${r.bitsPerWeight.nominal}/${r.bitsPerWeight.code}/${r.bitsPerWeight.entropy!.toFixed(2)}` : "32 (float)";
  const shifts = r.histogram ? `${sparkline(r)}  (0…${r.shiftRange![0]})` : "";
  return `${r.name.padEnd(width)}  ${r.kind.padEnd(8)}  ${String(r.weights).padStart(8)}  ${pct(r.zeroFraction, 1).padStart(6)}  ${bits.padEnd(12)}  ${shifts}`;
}

export function runInspect(f: ParsedFlags, [path]: string[]): void {
  const { spec, model } = loadModel(path);
  const layers = inspectModel(model);
  const width = Math.max(5, ...layers.map((l) => l.name.length));
  const lines = [
    `${spec.model} (${spec.op}) from ${path}`,
    `${"layer".padEnd(width)}  ${"kind".padEnd(8)}  ${"weights".padStart(8)}  ${"zeros".padStart(6)}  ${"bits n/c/H".padEnd(12)}  shifts`,
    ...layers.map((l) => row(l, width)),
    "bits n/c/H: nominal / fixed-width code for the values used (sign + shift codes + zero) / entropy",
  ];
  const unrounded = layers.filter((l) => l.storedRounded === false).map((l) => l.name);
  if (unrounded.length) lines.push(`note: ${unrounded.join(", ")} hold unrounded values in the file; shown rounded as inference uses them`);
  process.stdout.write(lines.join("\n") + "\n");
  if (f.json) printJson({ command: "inspect", checkpoint: path, model: spec.model, op: spec.op, layers });
}
