// The tables `mulfree bench` prints: every measurement, mulfree ÷ peer throughput and batch-1
// latency at the same batch and thread count, and the issue's three speed goals on top.
import { QUIET_THRESHOLD, type Throughput } from "./measure.js";
import { INSTALL_HINT, PEER_ENGINES } from "./peers.js";

export interface Row {
  engine: string;
  side: "mulfree" | "peer";
  threads: number;
  batch: number;
  result?: Throughput;
  /** What backs the numbers: top-1 agreement with the float model, or the peer's logit error. */
  check?: string;
  error?: string;
}

export interface Goal {
  name: string;
  value: number | null;
  goal: string;
  met: boolean | null;
  /** Why there is no value, or which rows it compares. */
  note: string;
}

export function markdownTable(header: string[], rows: string[][]): string {
  const cells = [header, ...rows];
  const w = header.map((_, i) => Math.max(3, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (c ?? "").padEnd(w[i]!)).join(" | ")} |`;
  return [line(header), `|${w.map((n) => "-".repeat(n + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

const num = (x: number, digits = 0) => x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const fmtUs = (ms: number) => (ms < 1 ? `${(ms * 1e3).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
const ratio = (x: number | null) => (x === null ? "" : `${x.toFixed(2)}×`);

function find(rows: Row[], engine: string, batch: number, threads: number): Row | undefined {
  return rows.find((r) => r.engine === engine && r.batch === batch && r.threads === threads && r.result);
}

/** Lowest batch-1 latency over the thread counts measured (each runtime at its best setting). */
function bestLatency(rows: Row[], engine: string): Row | undefined {
  return rows.filter((r) => r.engine === engine && r.batch === 1 && r.result).sort((a, b) => a.result!.msPerCall.median - b.result!.msPerCall.median)[0];
}

/** Multiply-accumulates (or |x−w|-accumulates, or shift-adds) per LeNet-5 image: conv1 117.6k + conv2 240k + fc 58.9k. */
export const LENET_MACS = 6 * 25 * 28 * 28 + 16 * 150 * 10 * 10 + 400 * 120 + 120 * 84 + 84 * 10;

export function resultsTable(rows: Row[]): string {
  return markdownTable(
    ["engine", "threads", "batch", "img/s median (min–max)", "latency/call", "GMAC/s per thread", "CPU/wall", "other load", "check"],
    rows.map((r) => {
      if (!r.result) return [r.engine, String(r.threads), String(r.batch), r.error ?? "", "", "", "", "", ""];
      const t = r.result;
      return [
        r.engine, String(r.threads), String(r.batch), `${num(t.imgPerSec.median)} (${num(t.imgPerSec.min)}–${num(t.imgPerSec.max)})`, fmtUs(t.msPerCall.median),
        ((t.imgPerSec.median * LENET_MACS) / 1e9 / r.threads).toFixed(2), t.cpuPerWall.toFixed(2), `${t.otherLoad.toFixed(2)}${t.retries ? ` (${t.retries} retried)` : ""}`, r.check ?? "",
      ];
    }),
  );
}

/** mulfree img/s ÷ peer img/s at the same batch and threads (> 1: mulfree is faster). */
export function throughputRatios(rows: Row[], engines: string[], peers: string[]): string {
  const body: string[][] = [];
  for (const r of rows.filter((x) => x.side === "mulfree" && x.result && engines.includes(x.engine))) {
    body.push([r.engine, String(r.batch), String(r.threads), ...peers.map((p) => {
      const peer = find(rows, p, r.batch, r.threads);
      return peer ? ratio(r.result!.imgPerSec.median / peer.result!.imgPerSec.median) : "";
    })]);
  }
  return markdownTable(["mulfree engine", "batch", "threads", ...peers.map((p) => `÷ ${p}`)], body);
}

/** Batch-1 latency per image and mulfree ÷ peer at the same threads (< 1: mulfree is faster). */
export function latencyRatios(rows: Row[], engines: string[], peers: string[]): string {
  const body: string[][] = [];
  for (const r of rows.filter((x) => x.side === "mulfree" && x.batch === 1 && x.result && engines.includes(x.engine))) {
    body.push([r.engine, String(r.threads), fmtUs(r.result!.msPerCall.median), ...peers.map((p) => {
      const peer = find(rows, p, 1, r.threads);
      return peer ? `${ratio(r.result!.msPerCall.median / peer.result!.msPerCall.median)} (${fmtUs(peer.result!.msPerCall.median)})` : "";
    })]);
  }
  return markdownTable(["mulfree engine", "threads", "latency", ...peers.map((p) => `÷ ${p} (its latency)`)], body);
}

/** The issue's speed acceptance lines for the int8 adder model. */
export function speedGoals(rows: Row[]): Goal[] {
  const goals: Goal[] = [];
  const vs = (peer: string, min: number) => {
    const a = find(rows, "int8-adder", 256, 2);
    const p = find(rows, peer, 256, 2);
    const value = a && p ? a.result!.imgPerSec.median / p.result!.imgPerSec.median : null;
    goals.push({
      name: `int8-adder ÷ ${peer}, batch 256, 2 threads (img/s)`, value, goal: `≥ ${min}`, met: value === null ? null : value >= min,
      note: value === null ? `needs int8-adder and ${peer} at batch 256 with 2 threads` : `${num(a!.result!.imgPerSec.median)} vs ${num(p!.result!.imgPerSec.median)} img/s`,
    });
  };
  vs("ort-web", 2);
  vs("ort-node", 0.6);
  const a = bestLatency(rows, "int8-adder");
  const o = bestLatency(rows, "ort-node");
  const value = a && o ? a.result!.msPerCall.median / o.result!.msPerCall.median : null;
  goals.push({
    name: "int8-adder ÷ ort-node, batch-1 latency (each at its best thread count)", value, goal: "≤ 1.25", met: value === null ? null : value <= 1.25,
    note: value === null ? "needs int8-adder and ort-node at batch 1" : `${fmtUs(a!.result!.msPerCall.median)} (${a!.threads}T) vs ${fmtUs(o!.result!.msPerCall.median)} (${o!.threads}T)`,
  });
  return goals;
}

export function goalsText(goals: Goal[], contended: boolean): string {
  const mark = (g: Goal) => (g.met === null ? "n/a " : g.met ? "MET " : "MISS");
  const lines = goals.map((g) => `  ${mark(g)}  ${g.name}: ${g.value === null ? "—" : ratio(g.value)} (goal ${g.goal}; ${g.note})`);
  if (contended) lines.push(`  (measured while other processes kept > ${QUIET_THRESHOLD} cores busy: rerun on an idle machine before trusting these)`);
  return lines.join("\n");
}

export interface Report {
  title: string;
  /** engine → what model it ran */
  models: Record<string, string>;
  bundleBytes: Record<string, number>;
  /** What the peers ran, when they ran. */
  peerModel: string | null;
  data: string;
  rows: Row[];
  mulfreeEngines: string[];
  goals: Goal[];
  contended: boolean;
  missing: Array<{ peer: string; why: string }>;
  seconds: number;
  waitedSeconds: number;
}

/** Everything `mulfree bench` prints on stdout (markdown, ready for BENCHMARKS.md). */
export function reportText(r: Report): string {
  const out: string[] = [`### ${r.title}`, "", "Models (speed does not depend on the weight values):"];
  for (const [e, s] of Object.entries(r.models)) out.push(`  ${e.padEnd(10)} ${s}${r.bundleBytes[e] ? `; bundle ${r.bundleBytes[e]} bytes` : ""}`);
  if (r.peerModel) out.push(`  peers      ${r.peerModel}, as ONNX (onnxruntime) and tfjs tensors`);
  out.push(`Inputs: ${r.data}${r.peerModel ? "; the peers time N(0,1) random inputs of the same shape" : ""}`, "");
  out.push(`GMAC/s per thread counts one multiply-add, |x−w|-add or shift-add as one MAC (${LENET_MACS.toLocaleString("en-US")} per image).`, "");
  if (r.contended) out.push(`WARNING: other processes kept > ${QUIET_THRESHOLD} cores busy during some measurements ("other load"); those numbers are low.`, "");
  out.push(resultsTable(r.rows), "");
  const peers = PEER_ENGINES.filter((p) => r.rows.some((x) => x.engine === p && x.result));
  if (peers.length && r.rows.some((x) => x.side === "mulfree" && x.result)) {
    out.push("mulfree ÷ peer, throughput at the same batch and threads (> 1: mulfree is faster):", "", throughputRatios(r.rows, r.mulfreeEngines, peers), "");
    if (r.rows.some((x) => x.batch === 1)) out.push("Batch-1 latency, mulfree ÷ peer at the same threads (< 1: mulfree is faster):", "", latencyRatios(r.rows, r.mulfreeEngines, peers), "");
  }
  if (r.goals.length) out.push("Speed goals (issue 5):", goalsText(r.goals, r.contended), "");
  for (const { peer, why } of r.missing) out.push(`${peer} not run: ${why}`);
  if (r.missing.length) out.push(INSTALL_HINT);
  out.push(`(${r.seconds.toFixed(0)} s of measurements; ${r.waitedSeconds.toFixed(0)} s of it spent waiting for a quiet machine or retrying)`);
  return out.join("\n") + "\n";
}
