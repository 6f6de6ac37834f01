// `mulfree ops`: flags and printing; the counting is the library's (src/analysis/ops_file.ts).
import { energyOf } from "../../analysis/energy.js";
import { opsReport } from "../../analysis/ops_file.js";
import type { OpsReport } from "../../analysis/op_counts.js";
import type { CommandSpec, ParsedFlags } from "../args.js";
import { printJson } from "../output.js";

export const opsSpec: CommandSpec = {
  name: "ops",
  summary: "per-layer multiplications, additions, shifts, comparisons, weight bytes and 45 nm energy",
  usage: "mulfree ops CHECKPOINT_OR_BUNDLE [--detail] [--json]\n\n" +
    "A training checkpoint gives the float graph; a bundle from `mulfree export` the deployed integer graph.\n" +
    "Counts are for one image, BatchNorm, requantization, pooling and softmax included.",
  positionals: ["model"],
  flags: {
    detail: { type: "bool", help: "list every row's typed operations (what, type, count, pJ each)" },
  },
};

const int = (n: number) => n.toLocaleString("en-US");
const nj = (pj: number) => (pj / 1000).toFixed(pj < 1000 ? 3 : 1);

export function formatReport(r: OpsReport, detail = false): string {
  const head = ["layer", "op", "mults", "adds", "shifts", "cmps", "div/exp", "weight B", "energy nJ", "detail"];
  const rows = r.layers.map((l) => [l.name, l.op, int(l.mults), int(l.adds), int(l.shifts), int(l.compares), int(l.divExp), int(l.weightBytes), nj(l.energyPJ), l.detail]);
  const t = r.total;
  const total = ["total", "", int(t.mults), int(t.adds), int(t.shifts), int(t.compares), int(t.divExp), int(t.weightBytes), nj(t.energyPJ), ""];
  const widths = head.map((h, i) => Math.max(h.length, ...[...rows, total].map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  const out = [`${r.graph} graph of ${r.model} (${r.op}), one image`, line(head)];
  for (let i = 0; i < rows.length; i++) {
    out.push(line(rows[i]));
    if (detail) for (const o of r.layers[i].ops) out.push(`    ${o.what}: ${int(o.count)} × ${o.type} ${o.kind} @ ${energyOf(o.kind, o.type).pj} pJ`);
  }
  out.push(line(widths.map((w) => "-".repeat(w))), line(total));
  out.push(
    "",
    `energy: arithmetic only, from ${r.energySource}`,
    `  table rows used: ${r.tableRows.join(", ")}`,
    `  reading the ${int(t.weightBytes)} weight bytes once from SRAM (5 pJ per 32-bit read) would add ${nj(r.weightReadPJ)} nJ`,
  );
  if (r.assumptions.length) out.push("assumptions (not in the table):", ...r.assumptions.map((a) => `  ${a}`));
  out.push(...r.notes.map((n) => `note: ${n}`));
  return out.join("\n");
}

export function runOps(f: ParsedFlags, [path]: string[]): void {
  const report = opsReport(path);
  process.stdout.write(formatReport(report, f.detail === true) + "\n");
  if (f.json) printJson({ command: "ops", file: path, ...report });
}
