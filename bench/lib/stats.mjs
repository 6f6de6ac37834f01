// Measurement helpers: repeated timing with median/min/max, CPU-vs-wall accounting,
// machine info, JSON results under bench/results/, and markdown tables.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Best ms per call of fn over `reps` timed runs, each repeating fn until a run takes ≥ 20 ms (after
 * 3 warm-up calls, which also let V8 tier up to optimised code). For kernel-level tables.
 */
export function bestCallMs(fn, reps = 5) {
  for (let i = 0; i < 3; i++) fn();
  let inner = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < inner; i++) fn();
    if (performance.now() - t > 20) break;
    inner *= 2;
  }
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    for (let i = 0; i < inner; i++) fn();
    best = Math.min(best, (performance.now() - t) / inner);
  }
  return best;
}

/** {median, min, max, n, samples} of a list of numbers. */
export function summarize(samples) {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), n: samples.length, samples };
}

/** Busy CPU seconds of the whole machine (all cores), from os.cpus() (10 ms ticks). */
export function machineBusySeconds() {
  let ms = 0;
  for (const c of os.cpus()) ms += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return ms / 1e3;
}

/**
 * Wall-clock and process CPU time (all threads, including workers and native pools).
 * otherLoad = cores kept busy by *other* processes meanwhile (machine busy time − ours) / wall:
 * anything well above 0 means the measurement shared the CPU with something else.
 */
export function startClock() {
  const t0 = process.hrtime.bigint(), c0 = process.cpuUsage(), b0 = machineBusySeconds();
  return () => {
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    const otherLoad = Math.max(0, (machineBusySeconds() - b0 - cpu) / wall);
    return { wall, cpu, cpuPerWall: cpu / wall, otherLoad };
  };
}

/**
 * An allowance of time (ms) that a whole run may spend waiting for a quiet machine: quiet waits
 * and retried repeats draw from it, and once it is spent the run measures anyway and reports
 * the load. Without it a busy machine made `node infer.mjs` wait up to 2 min before each runtime
 * and 30 s per retried repeat (10 retries per measurement): half an hour that looked like a hang.
 * Pass `{left}` to a child process as a number and subtract what it reports having spent.
 */
export function waitBudget(ms) {
  return { left: Math.max(0, ms), spent: 0 };
}
/** Charge `ms` of waiting (e.g. what a child process reported) to the budget. */
export function spend(budget, ms) {
  budget.left = Math.max(0, budget.left - ms);
  budget.spent += ms;
}

/**
 * Wait until other processes use less than `threshold` cores (sampled over `sampleMs`), at most
 * `maxWaitMs` and at most what `budget` has left. Returns the last measured load (or null when
 * there was no time left to sample); the caller records it.
 */
export async function waitForQuiet({ threshold = 0.15, sampleMs = 1000, maxWaitMs = 120000, budget = waitBudget(maxWaitMs), log = () => {} } = {}) {
  const allowed = Math.min(maxWaitMs, budget.left);
  if (allowed <= 0) return null;
  const t0 = Date.now(), until = t0 + allowed;
  let warned = false;
  try {
    for (;;) {
      const stop = startClock();
      await new Promise((r) => setTimeout(r, Math.min(sampleMs, Math.max(50, until - Date.now()))));
      const { otherLoad } = stop();
      if (otherLoad < threshold || Date.now() >= until) {
        if (otherLoad >= threshold) log(`warning: machine still busy (other processes use ${otherLoad.toFixed(2)} cores); measuring anyway`);
        return otherLoad;
      }
      if (!warned) { log(`machine busy (other processes use ${otherLoad.toFixed(2)} cores); waiting up to ${(allowed / 1000).toFixed(0)} s ...`); warned = true; }
    }
  } finally {
    spend(budget, Date.now() - t0);
  }
}

/** Call fn() (sync or async) until at least minMs have elapsed and minIters calls were made. */
export async function timeLoop(fn, { minMs = 1000, minIters = 1 } = {}) {
  const stop = startClock();
  const end = process.hrtime.bigint() + BigInt(Math.round(minMs * 1e6));
  let iters = 0;
  do { await fn(); iters++; } while (iters < minIters || process.hrtime.bigint() < end);
  return { iters, ...stop() };
}

/**
 * Collect `repeats` samples from runOnce() (each {otherLoad, wall, ...}). A sample taken while other
 * processes kept more than `threshold` cores busy is retried, after waiting up to `waitMs` for the
 * machine to go idle, at most `maxExtra` times in all and only while `budget` has time left (the
 * discarded sample's own time counts too). If still short, the least-contended contaminated
 * samples fill in (the caller reports their otherLoad). Returns {samples, retries}.
 */
export async function cleanRepeats(runOnce, { repeats = 5, threshold = 0.15, maxExtra = 2 * repeats, waitMs = 30000, budget = waitBudget(60000) } = {}) {
  const clean = [], dirty = [];
  while (clean.length < repeats && clean.length + dirty.length < repeats + maxExtra) {
    const s = await runOnce();
    if (s.otherLoad > threshold) {
      dirty.push(s);
      if (budget.left <= 0) {
        if (clean.length + dirty.length >= repeats) break; // no time left to retry
        continue;
      }
      if (s.wall !== undefined) spend(budget, s.wall * 1e3); // a retry: this sample's time was spent in vain
      await waitForQuiet({ threshold, sampleMs: 500, maxWaitMs: waitMs, budget });
    } else clean.push(s);
  }
  dirty.sort((a, b) => a.otherLoad - b.otherLoad);
  const kept = dirty.slice(0, Math.max(0, repeats - clean.length));
  const retries = dirty.length - kept.length; // contaminated samples thrown away and measured again
  return { samples: [...clean, ...kept], retries };
}

/**
 * Throughput of fn (one call = `itemsPerCall` images): warm up, then `repeats` timed loops.
 * Returns img/s and per-call latency summaries, the CPU/wall ratio (≈ threads really busy), the
 * worst other-process load among the kept samples and how many samples were retried.
 */
// Warm-up is by time: V8 compiles wasm with Liftoff first and tiers hot functions up to TurboFan
// lazily, so onnxruntime-web at batch 1 needs ~1 s of calls before it reaches steady state.
export async function measureThroughput(fn, { itemsPerCall, repeats = 5, minMs = 1000, warmupMs = 2000, minIters = 3, budget } = {}) {
  await timeLoop(fn, { minMs: warmupMs, minIters: 2 });
  const { samples, retries } = await cleanRepeats(() => timeLoop(fn, { minMs, minIters }), { repeats, budget });
  return {
    imgPerSec: summarize(samples.map((t) => (t.iters * itemsPerCall) / t.wall)),
    msPerCall: summarize(samples.map((t) => (t.wall / t.iters) * 1e3)),
    cpuPerWall: median(samples.map((t) => t.cpuPerWall)),
    otherLoad: Math.max(...samples.map((t) => t.otherLoad)),
    retries,
  };
}

/**
 * Training throughput of step() (one call = one training step of `batch` images; returns the loss,
 * or a promise of it): `warmup` untimed steps, afterWarmup(), then `repeats` timed runs of `steps`
 * steps. Both sides of the training benchmarks use it, so they are timed the same way. With
 * `label`, each repeat is logged.
 */
export async function timeSteps(step, { batch, warmup, steps, repeats, budget, afterWarmup = () => {}, label, log = () => {} }) {
  const losses = [];
  for (let i = 0; i < warmup; i++) losses.push(await step());
  afterWarmup();
  let r = 0;
  const { samples, retries } = await cleanRepeats(async () => {
    const stop = startClock();
    for (let i = 0; i < steps; i++) losses.push(await step());
    const t = stop();
    if (label) log(`  ${label} b=${batch} repeat ${++r}: ${((steps * batch) / t.wall).toFixed(0)} img/s (other load ${t.otherLoad.toFixed(2)})`);
    return t;
  }, { repeats, budget });
  return {
    imgPerSec: summarize(samples.map((t) => (steps * batch) / t.wall)), msPerStep: summarize(samples.map((t) => (t.wall / steps) * 1e3)),
    cpuPerWall: median(samples.map((t) => t.cpuPerWall)), otherLoad: Math.max(...samples.map((t) => t.otherLoad)), retries,
    lossFirst: losses[0], lossLast: losses.at(-1), totalSteps: losses.length,
  };
}

export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, node: process.version,
    v8: process.versions.v8, os: `${os.type()} ${os.release()} ${os.arch()}`, totalMemGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  };
}

/** The exact command that started this process, re-typeable from the bench/ folder. */
export function commandLine() {
  const rel = path.relative(process.cwd(), process.argv[1] ?? '');
  return ['node', ...process.execArgv, rel, ...process.argv.slice(2)].map(shellQuote).join(' ');
}
function shellQuote(s) { return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`; }

/** Write {date, machine, command, ...payload} to bench/results/<name>-<timestamp>.json (atomic). */
export function saveResult(name, payload) {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const date = new Date().toISOString();
  const file = path.join(RESULTS_DIR, `${name}-${date.replace(/[:.]/g, '-')}.json`);
  const body = { date, machine: machineInfo(), command: commandLine(), cwd: process.cwd(), ...payload };
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(body, null, 2) + '\n');
  fs.renameSync(tmp, file);
  return file;
}

/** Markdown table from a header array and rows of cells. */
export function markdownTable(header, rows) {
  const cells = [header, ...rows].map((r) => r.map((c) => (c === undefined || c === null ? '' : String(c))));
  const w = header.map((_, i) => Math.max(3, ...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(cells[0]), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

/** "12,345 (12,001–12,800)" from a summary. */
export function fmtRange(s, digits = 0) {
  if (!s) return '';
  const f = (x) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

export function fmtNum(x, digits = 0) {
  return x === undefined || x === null || Number.isNaN(x) ? '' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Latency in µs for small numbers, ms otherwise. */
export function fmtLatency(ms) {
  if (ms === undefined) return '';
  return ms < 1 ? `${(ms * 1e3).toFixed(1)} µs` : `${ms.toFixed(2)} ms`;
}

/** Tiny argv parser: --key value, --flag, positional. */
export function parseArgs(argv, { booleans = [] } = {}) {
  const opts = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { opts._.push(a); continue; }
    const [k, v] = a.slice(2).split('=', 2);
    if (v !== undefined) opts[k] = v;
    else if (booleans.includes(k)) opts[k] = true;
    else if (i + 1 >= argv.length) throw new Error(`option --${k} needs a value`);
    else opts[k] = argv[++i];
  }
  return opts;
}

/** Parse "64,256" into [64, 256]; the error names the option. */
export function intList(s, name) {
  const xs = String(s).split(',').map(Number);
  if (!xs.length || xs.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`--${name}: expected positive integers separated by commas, got "${s}"`);
  return xs;
}
