// What the training benchmarks (train.mjs: LeNet-5-BN, train-resnet.mjs: ResNet-20) share beyond the
// model: their common options, measuring every configuration once per round (mulfree in this
// process, tfjs-wasm in a fresh child per batch size), merging the rounds, same-round ratios, and
// the report. The timing loop itself is stats.mjs timeSteps, used by both sides.
import { runJob } from './job.mjs';
import { measureMulfreeConfigs } from './configs.mjs';
import { markdownTable, fmtRange, fmtNum, parseArgs, intList, summarize, median, waitBudget, waitForQuiet } from './stats.mjs';

/** --help lines of the common options, by name; `d` holds the script's defaults. */
export const OPTION_HELP = {
  batches: (d) => `  --batches LIST      batch sizes (default ${d.batches})`,
  threads: () => '  --threads LIST      thread counts for mulfree (tfjs-wasm is single-threaded in Node) (default 1,2)',
  repeats: () => '  --repeats R         timed repeats per measurement; median, min, max reported (default 5)',
  rounds: () => `  --rounds N          measure every configuration once per round, N rounds (default 1); with N > 1
                      also prints same-round ratios (2 ÷ 1 threads, mulfree ÷ tfjs), the median
                      over rounds, which cancel this machine's drift (use --repeats 1)`,
  warmup: (d) => `  --warmup N          untimed warm-up steps (default ${d.warmup})`,
  steps: (d) => `  --steps N           timed steps per repeat (default ${d.steps})`,
  optimizer: () => '  --optimizer NAME    adam or sgd (momentum 0.9) (default adam)',
  lr: (d) => `  --lr X              learning rate (default ${d.lr})`,
  'tfjs-bn': () => `  --tfjs-bn M         training BatchNorm in the custom loop: custom (closed-form backward via
                      tf.customGrad, default), fused (tf.batchNorm + tfjs's own gradient), ops`,
  runtimes: () => '  --runtimes LIST     any of mulfree,tfjs-wasm (default both)',
  'quiet-wait': () => `  --quiet-wait S      wait for other processes to go idle before each runtime and retry repeats they disturbed,
                      spending at most S seconds on it in the whole run (default 120; 0 = don't)`,
  'no-save': (d) => `  --no-save           do not write results/${d.save}-*.json`,
  'quiet-probe': () => `  --quiet-probe G     with --rounds: also give each same-round ratio over the rounds whose mulfree
                      rows all had a core probe ≥ G GMAC/s (lib/core-probe.mjs; about 11–13 on a
                      quiet core of the project's host), with how many rounds those were`,
  'quiet-rounds': () => `  --quiet-rounds N    with --quiet-probe: stop as soon as N rounds had every mulfree row's core
                      probe ≥ G (a machine whose cores other guests share is quiet only for
                      moments); --rounds is then the most rounds to run`,
};

/** Help text: `lines` are option names (common, from OPTION_HELP) or literal lines. */
export function trainHelp(usage, lines, defaults) {
  return [usage, ...lines.map((l) => (OPTION_HELP[l] ? OPTION_HELP[l](defaults) : l))].join('\n');
}

/**
 * Parse the common options (defaults: {batches, warmup, steps, lr}). Returns {o (all raw options),
 * batches, threadsList, cfg: {repeats, warmup, steps, rounds, optimizer, lr, ...extra(o), bnMode},
 * runtimes, budget, quiet}: `budget` is the run's quiet-wait allowance, quiet() one wait. With --help, only {o}.
 */
export function parseTrainOptions(argv, defaults, extra = () => ({})) {
  const o = parseArgs(argv, { booleans: ['no-save', 'help'] });
  if (o.help) return { o };
  const batches = intList(o.batches ?? defaults.batches, 'batches');
  const threadsList = intList(o.threads ?? '1,2', 'threads');
  const cfg = {
    repeats: Number(o.repeats ?? 5), warmup: Number(o.warmup ?? defaults.warmup), steps: Number(o.steps ?? defaults.steps),
    rounds: Number(o.rounds ?? 1), quietProbe: o['quiet-probe'] === undefined ? null : Number(o['quiet-probe']),
    quietRounds: o['quiet-rounds'] === undefined ? null : Number(o['quiet-rounds']),
    optimizer: o.optimizer ?? 'adam', lr: Number(o.lr ?? defaults.lr), ...extra(o), bnMode: o['tfjs-bn'] ?? 'custom',
  };
  if (!['adam', 'sgd'].includes(cfg.optimizer)) throw new Error(`--optimizer: expected adam or sgd, got "${cfg.optimizer}"`);
  if (!['custom', 'fused', 'ops'].includes(cfg.bnMode)) throw new Error(`--tfjs-bn: expected custom, fused or ops, got "${cfg.bnMode}"`);
  const runtimes = (o.runtimes ?? 'mulfree,tfjs-wasm').split(',');
  if (!Number.isInteger(cfg.rounds) || cfg.rounds < 1) throw new Error(`--rounds: expected a positive integer, got "${o.rounds}"`);
  if (cfg.quietProbe !== null && !(cfg.quietProbe > 0)) throw new Error(`--quiet-probe: expected GMAC/s > 0, got "${o['quiet-probe']}"`);
  if (cfg.quietRounds !== null) {
    if (!Number.isInteger(cfg.quietRounds) || cfg.quietRounds < 1) throw new Error(`--quiet-rounds: expected a positive integer, got "${o['quiet-rounds']}"`);
    if (cfg.quietProbe === null) throw new Error('--quiet-rounds needs --quiet-probe (the GMAC/s that makes a round quiet)');
    if (cfg.quietRounds > cfg.rounds) throw new Error(`--quiet-rounds ${cfg.quietRounds} is more than --rounds ${cfg.rounds}, the most rounds to run`);
  }
  for (const r of runtimes) if (!['mulfree', 'tfjs-wasm'].includes(r)) throw new Error(`--runtimes: unknown runtime "${r}"`);
  const quietWait = Number(o['quiet-wait'] ?? 120) * 1000;
  const budget = waitBudget(quietWait); // shared by every wait and retry of the run, children included
  const quiet = () => waitForQuiet({ maxWaitMs: quietWait, budget, log: console.error });
  return { o, batches, threadsList, cfg, runtimes, budget, quiet };
}

/** Whether every mulfree row of one round had a core probe ≥ quietProbe (GMAC/s). */
export function isQuietRound(roundRows, quietProbe) {
  const mf = roundRows.filter((r) => r.runtime === 'mulfree' && !r.error);
  return mf.length > 0 && mf.every((r) => r.coreGmacs >= quietProbe);
}

/**
 * `rounds` rounds, each measuring every configuration once: mulfree via measureMulfree(batch, threads)
 * at every threads × batch, then tfjs-wasm in a child per batch size running job(batch) (runJob spec);
 * onTfjsResult(r) sees each child's whole result. With quietRounds (and quietProbe), it stops early
 * once that many rounds were quiet (isQuietRound). Returns one row per configuration, sorted for the
 * table: the samples of all rounds, and perRound (each round's median img/s, for same-round ratios).
 */
export async function measureTrainRounds({ rounds, quietProbe = null, quietRounds = null, runtimes, batches, threadsList, quiet, budget, measureMulfree, tfjsLabel, tfjsJob, onTfjsResult = () => {} }) {
  async function measureRound() {
    const rows = runtimes.includes('mulfree') ? await measureMulfreeConfigs(threadsList, batches, quiet, measureMulfree) : [];
    if (runtimes.includes('tfjs-wasm')) {
      for (const batch of batches) { // one child per batch size: a fresh heap for each measurement
        await quiet();
        console.error(`${tfjsLabel}, batch ${batch} ...`);
        try {
          const r = await runJob(tfjsJob(batch), budget);
          onTfjsResult(r);
          rows.push({ runtime: tfjsLabel, threads: 1, ...r.results[0] });
        } catch (e) {
          console.error(e.message);
          rows.push({ runtime: tfjsLabel, threads: 1, batch, error: e.message.split('\n')[0] });
        }
      }
    }
    return rows;
  }

  const byRound = [];
  let quietSoFar = 0;
  for (let round = 0; round < rounds && !(quietRounds && quietSoFar >= quietRounds); round++) {
    if (rounds > 1) console.error(`round ${round + 1} of ${rounds}${quietRounds ? ` (${quietSoFar} of ${quietRounds} quiet so far)` : ''}`);
    byRound.push(await measureRound());
    if (quietRounds && isQuietRound(byRound[round], quietProbe)) quietSoFar++;
  }
  // one row per configuration: the samples of all rounds, and each round's median (for paired ratios)
  const rows = byRound[0].map((first) => {
    const same = byRound.map((rr) => rr.find((r) => r.runtime === first.runtime && r.threads === first.threads && r.batch === first.batch));
    const ok = same.filter((r) => r && !r.error);
    if (!ok.length) return first;
    return {
      ...ok[0], imgPerSec: summarize(ok.flatMap((r) => r.imgPerSec.samples)), msPerStep: summarize(ok.flatMap((r) => r.msPerStep.samples)),
      cpuPerWall: median(ok.map((r) => r.cpuPerWall)), otherLoad: Math.max(...ok.map((r) => r.otherLoad)), retries: ok.reduce((a, r) => a + (r.retries ?? 0), 0),
      perRound: same.map((r) => (r && !r.error ? r.imgPerSec.median : null)),
      // mulfree's rows: each round's core probe (bench/lib/mulfree.mjs withCoreProbe), and their median
      ...(ok[0].coreGmacs === undefined ? {} : { coreGmacs: median(ok.map((r) => r.coreGmacs)), coreGmacsPerRound: same.map((r) => r?.coreGmacs ?? null) }),
    };
  });
  return rows.sort((a, b) => a.batch - b.batch || (a.runtime !== 'mulfree') - (b.runtime !== 'mulfree') || a.threads - b.threads);
}

/** Median over rounds of a's img/s ÷ b's in the same round, over the rounds `keep(i)` allows. */
function paired(a, b, keep = () => true) {
  const q = a.perRound.map((x, i) => (x && b.perRound[i] && keep(i) ? x / b.perRound[i] : null)).filter((x) => x !== null);
  return q.length ? median(q) : null;
}

/**
 * [[name, batch, value|null]]: mulfree 2 ÷ 1 threads, mulfree 1 and 2 threads ÷ tfjs-wasm, per
 * batch. With `quietProbe` (GMAC/s), each ratio again over the rounds in which every mulfree row
 * it involves had a core probe at least that high, named with how many rounds those were.
 */
export function sameRoundRatios(rows, batches, tfjsLabel, quietProbe = null) {
  const ratios = [];
  const find = (runtime, t, b) => rows.find((r) => r.runtime === runtime && r.threads === t && r.batch === b && !r.error && r.perRound);
  const add = (name, batch, a, b) => {
    ratios.push([name, batch, paired(a, b)]);
    if (quietProbe === null) return;
    const mf = [a, b].filter((r) => r.coreGmacsPerRound);
    const quiet = (i) => mf.every((r) => (r.coreGmacsPerRound[i] ?? 0) >= quietProbe);
    const n = a.perRound.filter((_, i) => quiet(i)).length;
    ratios.push([`${name}, rounds with core probe ≥ ${quietProbe} (${n} of ${a.perRound.length})`, batch, paired(a, b, quiet)]);
  };
  for (const batch of batches) {
    const one = find('mulfree', 1, batch), two = find('mulfree', 2, batch), tf = find(tfjsLabel, 1, batch);
    if (one && two) add(`mulfree 2 threads ÷ 1 thread`, batch, two, one);
    if (one && tf) add(`mulfree 1 thread ÷ tfjs-wasm`, batch, one, tf);
    if (two && tf) add(`mulfree 2 threads ÷ tfjs-wasm`, batch, two, tf);
  }
  return ratios;
}

/** The results table. Ratio = mulfree img/s ÷ peer img/s at the same batch (mulfree with the same thread count). */
export function trainTable(rows) {
  const mf = (b, t) => rows.find((r) => r.runtime === 'mulfree' && r.batch === b && r.threads === t && !r.error);
  return markdownTable(
    ['runtime', 'threads', 'batch', 'img/s median (min–max)', 'ms/step', 'CPU/wall', 'other load', 'core probe GMAC/s', 'loss first → last', 'mulfree ÷ this'],
    rows.map((r) => {
      if (r.error) return [r.runtime, r.threads, r.batch, r.error, '', '', '', '', '', ''];
      const mref = r.runtime === 'mulfree' ? null : mf(r.batch, r.threads);
      const probe = r.coreGmacsPerRound ? r.coreGmacsPerRound.map((g) => (g === null ? '–' : g.toFixed(1))).join(' / ') : r.coreGmacs === undefined ? '' : fmtNum(r.coreGmacs, 1);
      return [r.runtime, r.threads, r.batch, fmtRange(r.imgPerSec), fmtNum(r.msPerStep.median, 1), fmtNum(r.cpuPerWall, 2), `${fmtNum(r.otherLoad, 2)}${r.retries ? ` (${r.retries} retried)` : ''}`,
        probe, `${fmtNum(r.lossFirst, 3)} → ${fmtNum(r.lossLast, 3)}`, mref ? `${(mref.imgPerSec.median / r.imgPerSec.median).toFixed(2)}×` : ''];
    }));
}

/**
 * Print the report: a warning if other processes used the CPU, a heading `title (machine; method)`,
 * the `notes` paragraphs, the table, and with rounds > 1 the same-round ratios. Returns {table, ratios, busy}.
 */
export function printTrainReport({ title, notes, rows, batches, tfjsLabel, cfg, machine: m }) {
  const table = trainTable(rows);
  const busy = rows.some((r) => r.otherLoad > 0.15);
  if (busy) console.log('\nWARNING: other processes used CPU during some measurements ("other load" > 0.15 cores); those numbers are low.');
  if (rows.some((r) => r.coreGmacs !== undefined)) {
    console.log('\n"core probe": per-core GMAC/s of an L1 f32 multiply-add stream on the row\'s threads, the slower of just before and just after each round\'s timing (one value per round). It falls when other guests share the cores, which "other load" cannot see; compare it with `node bench/kernels/f32-ceiling.mjs` on a quiet machine.');
  }
  const roundsRun = rows.find((r) => r.perRound)?.perRound.length ?? cfg.rounds;
  const method = `median of ${roundsRun > 1 ? `${roundsRun} rounds × ` : ''}${cfg.repeats} × ${cfg.steps} steps after ${cfg.warmup} warm-up`;
  console.log(`\n### ${title} (${m.cpu}, ${m.cores} cores, Node ${m.node}; ${method})\n\n${notes.join('\n\n')}\n\n${table}\n`);
  const ratios = roundsRun > 1 ? sameRoundRatios(rows, batches, tfjsLabel, cfg.quietProbe) : [];
  if (roundsRun > 1) {
    console.log(`Same-round ratios (median over ${roundsRun} rounds):\n\n${markdownTable(['ratio', 'batch', 'value'], ratios.map(([n, b, v]) => [n, b, v === null ? '' : `${v.toFixed(2)}×`]))}\n`);
  }
  return { table, ratios, busy };
}
