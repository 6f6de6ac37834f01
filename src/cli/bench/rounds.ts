// Interleaved measurement for `mulfree bench`: every configuration (engine × threads × batch) is
// timed once per round, and the rounds repeat. On a machine whose speed drifts by 1.5× over
// minutes, a ratio of two medians taken minutes apart measures the drift; a ratio of two samples
// taken seconds apart, in the same round, does not. So each configuration keeps its per-round
// samples, and ratios are the median over rounds of the same-round ratios.
import { median, summarize, type Throughput } from "./measure.js";
import type { Row } from "./report.js";

const key = (r: Row) => `${r.engine}|${r.threads}|${r.batch}`;

/** One row per configuration from the rounds' rows; samples stay in round order (perRound). */
export function mergeRounds(rounds: Row[][]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const round of rounds) for (const r of round) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const merged: Row[] = [];
  for (const rows of groups.values()) {
    const first = rows[0]!;
    const ok = rows.filter((r) => r.result);
    if (!ok.length) {
      merged.push({ ...first, error: rows.find((r) => r.error)?.error ?? "no result" });
      continue;
    }
    const results = ok.map((r) => r.result!);
    const result: Throughput = {
      imgPerSec: summarize(results.flatMap((t) => t.imgPerSec.samples)),
      msPerCall: summarize(results.flatMap((t) => t.msPerCall.samples)),
      cpuPerWall: median(results.map((t) => t.cpuPerWall)),
      otherLoad: Math.max(...results.map((t) => t.otherLoad)),
      retries: results.reduce((a, t) => a + t.retries, 0),
    };
    // one entry per round (null where that round failed), so that rounds pair up across rows
    const perRound = rows.map((r) => (r.result ? median(r.result.imgPerSec.samples) : null));
    merged.push({ ...first, result, perRound, ...(ok.length < rows.length ? { error: `${rows.length - ok.length} of ${rows.length} rounds failed` } : {}) });
  }
  return merged;
}

/**
 * Median over rounds of a's img/s ÷ b's img/s in the same round (> 1: a is faster); falls back to
 * the ratio of medians for rows without rounds. For latency, pass invert: b ÷ a is a's latency ÷ b's.
 */
export function pairedRatio(a: Row, b: Row, invert = false): number {
  const pa = a.perRound, pb = b.perRound;
  const pairs: number[] = [];
  if (pa && pb) for (let i = 0; i < Math.min(pa.length, pb.length); i++) if (pa[i] && pb[i]) pairs.push(invert ? pb[i]! / pa[i]! : pa[i]! / pb[i]!);
  if (pairs.length) return median(pairs);
  const x = a.result!.imgPerSec.median, y = b.result!.imgPerSec.median;
  return invert ? y / x : x / y;
}
