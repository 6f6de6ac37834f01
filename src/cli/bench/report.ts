// The tables `mulfree bench` prints: every measurement, mulfree ÷ peer throughput and batch-1
// latency at the same batch and thread count, and the issue's three speed goals on top.
import { QUIET_THRESHOLD, type Throughput } from "./measure.js";
import { INSTALL_HINT, PEER_ENGINES } from "./peers.js";
import { pairedRatio } from "./rounds.js";

export interface Row {
  engine: string;
  side: "mulfree" | "peer";
  threads: number;
  batch: number;
  result?: Throughput;
  /** Median img/s of each round (null: that round failed), for same-round ratios (./rounds.ts). */
  perRound?: Array<number | null>;
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

/** mulfree img/s ÷ peer img/s at the same batch and threads (> 1: mulfree is faster), same-round ratios. */
export function throughputRatios(rows: Row[], engines: string[], peers: string[]): string {
  const body: string[][] = [];
  for (const r of rows.filter((x) => x.side === "mulfree" && x.result && engines.includes(x.engine))) {
    body.push([r.engine, String(r.batch), String(r.threads), ...peers.map((p) => {
      const peer = find(rows, p, r.batch, r.threads);
      return peer ? ratio(pairedRatio(r, peer)) : "";
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
      return peer ? `${ratio(pairedRatio(r, peer, true))} (${fmtUs(peer.result!.msPerCall.median)})` : "";
    })]);
  }
  return markdownTable(["mulfree engine", "threads", "latency", ...peers.map((p) => `÷ ${p} (its latency)`)], body);
}

/** Thread scaling of each mulfree engine: 2-thread ÷ 1-thread img/s at the same batch, same-round ratios. */
export function threadScaling(rows: Row[], engines: string[]): string {
  const body: string[][] = [];
  for (const r of rows.filter((x) => x.side === "mulfree" && x.threads === 1 && x.result && engines.includes(x.engine))) {
    for (const t of rows.filter((x) => x.engine === r.engine && x.batch === r.batch && x.threads > 1 && x.result)) {
      body.push([r.engine, String(r.batch), `1 → ${t.threads}`, ratio(pairedRatio(t, r))]);
    }
  }
  return markdownTable(["mulfree engine", "batch", "threads", "speed-up"], body);
}

/** The speed acceptance lines for the int8 adder LeNet-5 (issue 12), each a same-round ratio. */
export function speedGoals(rows: Row[]): Goal[] {
  const goals: Goal[] = [];
  const compare = (name: string, a: Row | undefined, b: Row | undefined, min: number, needs: string) => {
    const value = a && b ? pairedRatio(a, b) : null;
    goals.push({
      name, value, goal: `≥ ${min}`, met: value === null ? null : value >= min,
      note: value === null ? `needs ${needs}` : `medians ${num(a!.result!.imgPerSec.median)} vs ${num(b!.result!.imgPerSec.median)} img/s`,
    });
  };
  for (const t of [1, 2]) compare(`int8-adder ÷ ort-node, batch 256, ${t} thread${t > 1 ? "s" : ""} (img/s)`, find(rows, "int8-adder", 256, t), find(rows, "ort-node", 256, t), 1, `int8-adder and ort-node at batch 256 with ${t} threads`);
  for (const t of [1, 2]) compare(`int8-adder ÷ ort-web, batch 256, ${t} thread${t > 1 ? "s" : ""} (img/s)`, find(rows, "int8-adder", 256, t), find(rows, "ort-web", 256, t), 2.5, `int8-adder and ort-web at batch 256 with ${t} threads`);
  compare("int8-adder, batch 256, 2 threads ÷ 1 thread (img/s)", find(rows, "int8-adder", 256, 2), find(rows, "int8-adder", 256, 1), 1.7, "int8-adder at batch 256 with 1 and 2 threads");
  const a = bestLatency(rows, "int8-adder");
  const o = bestLatency(rows, "ort-node");
  const value = a && o ? pairedRatio(a, o, true) : null;
  goals.push({
    name: "int8-adder ÷ ort-node, batch-1 latency (each at its best thread count)", value, goal: "≤ 0.8", met: value === null ? null : value <= 0.8,
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
  if (r.rows.some((x) => x.side === "mulfree" && x.threads > 1 && x.result)) out.push("Thread scaling, same-round ratios:", "", threadScaling(r.rows, r.mulfreeEngines), "");
  if (r.goals.length) out.push("Speed goals (issue 12; every ratio is the median over rounds of same-round ratios):", goalsText(r.goals, r.contended), "");
  for (const { peer, why } of r.missing) out.push(`${peer} not run: ${why}`);
  if (r.missing.length) out.push(INSTALL_HINT);
  out.push(`(${r.seconds.toFixed(0)} s of measurements; ${r.waitedSeconds.toFixed(0)} s of it spent waiting for a quiet machine or retrying)`);
  return out.join("\n") + "\n";
}
