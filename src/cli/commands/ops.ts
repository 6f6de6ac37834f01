import { countFloatOps } from "../../analysis/ops.js";
import { countIntOps, type TensorInfo } from "../../analysis/ops_int.js";
import type { OpsReport } from "../../analysis/op_counts.js";
import { energyOf } from "../../analysis/energy.js";
import { decodeBundle } from "../../deploy/bundle_codec.js";
import { BUNDLE_FORMAT } from "../../deploy/graph.js";
import { readFileChecked } from "../../io/files.js";
import { decodeSafetensorsHeader } from "../../io/safetensors.js";
import { initRuntime } from "../../kernels/runtime.js";
import { createModel } from "../../models/zoo.js";
import { manualSeed } from "../../tensor/random.js";
import { CHECKPOINT_FORMAT, decodeCheckpoint, loadWeights } from "../../train/checkpoint.js";
import type { CommandSpec, ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
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

function floatReport(bytes: Uint8Array, path: string): OpsReport {
  const ckpt = decodeCheckpoint(bytes, path);
  initRuntime({ threads: 1 });
  manualSeed(0);
  const model = createModel(ckpt.spec);
  loadWeights(model, ckpt, path);
  return countFloatOps(model, ckpt.spec);
}

/** The bundle is decoded (and so validated) as the runner decodes it; the header gives tensor bytes. */
function integerReport(bytes: Uint8Array, path: string, header: ReturnType<typeof decodeSafetensorsHeader>): OpsReport {
  const bundle = decodeBundle(bytes, path);
  const source = bundle.source as { model?: unknown; op?: unknown; spec?: { model?: unknown; op?: unknown } };
  const spec = source.spec ?? source;
  const tensors: Record<string, TensorInfo> = {};
  for (const [name, e] of Object.entries(header.tensors)) {
    tensors[name] = { dtype: e.dtype, elements: e.shape.reduce((a, b) => a * b, 1), bytes: e.data_offsets[1] - e.data_offsets[0] };
  }
  return countIntOps(bundle.graph, tensors, {
    source: path,
    model: typeof spec.model === "string" ? spec.model : undefined,
    op: typeof spec.op === "string" ? spec.op : undefined,
    fileBytes: bytes.length,
  });
}

/** A checkpoint or a bundle, told apart by the format in its safetensors metadata. */
export function opsReport(path: string): OpsReport {
  const bytes = readFileChecked(path, "model file");
  const header = decodeSafetensorsHeader(bytes, path);
  const format = header.metadata.format;
  if (format === CHECKPOINT_FORMAT) return floatReport(bytes, path);
  if (format === BUNDLE_FORMAT) return integerReport(bytes, path, header);
  throw new CliError(
    `${path}: neither a mulfree checkpoint ('${CHECKPOINT_FORMAT}') nor a deployment bundle ('${BUNDLE_FORMAT}'); ` +
      (format === undefined ? "its metadata has no format" : `its metadata format is '${format}'`),
  );
}

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
