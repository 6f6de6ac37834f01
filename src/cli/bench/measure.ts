// Timing for `mulfree bench`: the same method as the peers' side (bench/lib/stats.mjs, which the
// peer child processes use; keep the two in step): warm up by time, then R timed loops of at least
// minMs each, median and min–max; CPU/wall of the whole process (worker threads included); the
// load other processes put on the machine meanwhile, with disturbed repeats retried while a
// shared waiting budget lasts.
import { cpus } from "node:os";

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
  samples: number[];
}

export interface Sample {
  wall: number;
  cpu: number;
  cpuPerWall: number;
  otherLoad: number;
  iters: number;
}

export interface Throughput {
  imgPerSec: Summary;
  msPerCall: Summary;
  cpuPerWall: number;
  /** Worst other-process load (cores) among the kept repeats. */
  otherLoad: number;
  /** Disturbed repeats thrown away and measured again. */
  retries: number;
}

/** Time that a whole run may spend waiting for a quiet machine (quiet waits and retried repeats). */
export interface WaitBudget {
  left: number;
  spent: number;
}

export const waitBudget = (ms: number): WaitBudget => ({ left: Math.max(0, ms), spent: 0 });

export function spend(budget: WaitBudget, ms: number): void {
  budget.left = Math.max(0, budget.left - ms);
  budget.spent += ms;
}

/** Other processes count as disturbing above this many busy cores. */
export const QUIET_THRESHOLD = 0.15;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function summarize(samples: number[]): Summary {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), n: samples.length, samples };
}

/** Busy CPU seconds of the whole machine (all cores), from os.cpus() (10 ms ticks). */
function machineBusySeconds(): number {
  let ms = 0;
  for (const c of cpus()) ms += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return ms / 1e3;
}

/** Wall and process CPU time from now; otherLoad = (machine busy − ours) / wall, in cores. */
export function startClock(): () => Omit<Sample, "iters"> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const b0 = machineBusySeconds();
  return () => {
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    const otherLoad = Math.max(0, (machineBusySeconds() - b0 - cpu) / wall);
    return { wall, cpu, cpuPerWall: cpu / wall, otherLoad };
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Wait until other processes use less than the threshold (sampled every `sampleMs`), at most
 * `maxWaitMs` and what the budget has left. Returns the last load seen, or null without time to look.
 */
export async function waitForQuiet(budget: WaitBudget, { maxWaitMs = Infinity, sampleMs = 1000, log = (_: string) => {} } = {}): Promise<number | null> {
  const allowed = Math.min(maxWaitMs, budget.left);
  if (allowed <= 0) return null;
  const t0 = Date.now();
  const until = t0 + allowed;
  let warned = false;
  try {
    for (;;) {
      const stop = startClock();
      await sleep(Math.min(sampleMs, Math.max(50, until - Date.now())));
      const { otherLoad } = stop();
      if (otherLoad < QUIET_THRESHOLD || Date.now() >= until) {
        if (otherLoad >= QUIET_THRESHOLD) log(`machine still busy (other processes use ${otherLoad.toFixed(2)} cores); measuring anyway`);
        return otherLoad;
      }
      if (!warned) log(`machine busy (other processes use ${otherLoad.toFixed(2)} cores); waiting up to ${Math.round(allowed / 1000)} s ...`);
      warned = true;
    }
  } finally {
    spend(budget, Date.now() - t0);
  }
}

/** Call fn until minMs have passed and minIters calls were made. Synchronous fns run without awaits. */
export async function timeLoop(fn: () => unknown, minMs: number, minIters: number): Promise<Sample> {
  const stop = startClock();
  const end = process.hrtime.bigint() + BigInt(Math.round(minMs * 1e6));
  let iters = 0;
  do {
    const r = fn();
    if (r instanceof Promise) await r;
    iters++;
  } while (iters < minIters || process.hrtime.bigint() < end);
  return { iters, ...stop() };
}

/**
 * `repeats` samples; one taken while other processes were busy is retried after a quiet wait,
 * at most 2·repeats times and only while the budget lasts (the thrown-away sample's time counts).
 * Short of clean samples, the least disturbed ones fill in.
 */
export async function cleanRepeats(runOnce: () => Promise<Sample>, repeats: number, budget: WaitBudget): Promise<{ samples: Sample[]; retries: number }> {
  const clean: Sample[] = [];
  const dirty: Sample[] = [];
  while (clean.length < repeats && clean.length + dirty.length < 3 * repeats) {
    const s = await runOnce();
    if (s.otherLoad <= QUIET_THRESHOLD) {
      clean.push(s);
      continue;
    }
    dirty.push(s);
    if (budget.left <= 0) {
      if (clean.length + dirty.length >= repeats) break; // no time left to retry
      continue;
    }
    spend(budget, s.wall * 1e3); // a retry: this sample's time was spent in vain
    await waitForQuiet(budget, { maxWaitMs: 30000, sampleMs: 500 });
  }
  dirty.sort((a, b) => a.otherLoad - b.otherLoad);
  const kept = dirty.slice(0, Math.max(0, repeats - clean.length));
  return { samples: [...clean, ...kept], retries: dirty.length - kept.length };
}

export interface MeasureOptions {
  itemsPerCall: number;
  repeats: number;
  minMs: number;
  warmupMs: number;
  budget: WaitBudget;
}

/** Throughput and per-call latency of fn (one call = itemsPerCall images). */
export async function measureThroughput(fn: () => unknown, o: MeasureOptions): Promise<Throughput> {
  // by time, not by count: V8 tiers hot wasm functions up from Liftoff only after a while
  await timeLoop(fn, o.warmupMs, 2);
  const { samples, retries } = await cleanRepeats(() => timeLoop(fn, o.minMs, 3), o.repeats, o.budget);
  return {
    imgPerSec: summarize(samples.map((t) => (t.iters * o.itemsPerCall) / t.wall)),
    msPerCall: summarize(samples.map((t) => (t.wall / t.iters) * 1e3)),
    cpuPerWall: median(samples.map((t) => t.cpuPerWall)),
    otherLoad: Math.max(...samples.map((t) => t.otherLoad)),
    retries,
  };
}
