#!/usr/bin/env node
// The in-browser benchmark: builds the demo, serves it cross-origin isolated, and runs its
// benchmark page (demo/src/bench/) in Debian's Chromium twice, since onnxruntime-web fixes its
// thread count per page: once with 1 thread (mulfree 1 thread), once with 2 (mulfree 1 and 2
// threads, for the scaling). The timings run in the page; this driver orders them and watches the
// machine (other programs' load, from /proc). It also times the demo page's first prediction after
// a cold load (fresh browser context: no HTTP cache, no service worker), on a quiet machine.
// Prints the table, writes bench/results/browser-<time>.json.
// Needs `npm run build` (the kernels and the compiled test helpers) and onnxruntime-web.
//
//   node demo/scripts/bench.mjs [--repeats 7] [--ms 500] [--quiet-wait 600]
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildDemo } from "./build.mjs";
import { otherLoad, waitForQuiet } from "./machine_load.mjs";
import { launchChromium } from "../../dist/test/browser/chromium.js";
import { serveStatic } from "../../dist/test/browser/serve.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const arg = (name, d) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const REPEATS = arg("repeats", 7), MIN_MS = arg("ms", 500), QUIET_WAIT_S = arg("quiet-wait", 600);
/** Other programs busier than this (cores) disturb a 2-thread measurement on a 2-core machine. */
const QUIET = 0.15;

const { out, ort, payload } = await buildDemo();
if (!ort) throw new Error("onnxruntime-web is not installed (node_modules/onnxruntime-web): it is the benchmark's peer");
const server = await serveStatic(out, { isolated: true });
const browser = await launchChromium();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** Time that the whole run may spend waiting for other programs: before pages and on disturbed repeats. */
let waitBudgetMs = QUIET_WAIT_S * 1000;

/** Wait for a quiet machine while the budget lasts; returns the load last seen. */
async function quiet() {
  const t0 = Date.now();
  const load = await waitForQuiet(QUIET, waitBudgetMs, (m) => console.error(m));
  waitBudgetMs = Math.max(0, waitBudgetMs - (Date.now() - t0));
  return load;
}

/**
 * One page: onnxruntime-web with `ortThreads`, mulfree with each of `mulfreeThreads`. The driver
 * times one repeat at a time (every engine once per repeat, alternating the order) and repeats a
 * timing during which other programs kept more than QUIET cores busy, while the budget lasts.
 */
async function runPage(ortThreads, mulfreeThreads) {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.url}/bench.html?ort=${ortThreads}&mulfree=${mulfreeThreads.join(",")}`);
  const engines = await page.evaluate(async () => (await globalThis.__bench.engines()).list());
  const env = await page.evaluate(() => globalThis.__bench.env);
  const rows = [];
  for (const batch of [1, 256]) {
    const group = engines.map(([engine, threads]) => ({ engine, threads, batch, samples: [], otherLoad: [], retries: 0 }));
    rows.push(...group);
    await quiet();
    for (let r = 0; r < REPEATS; r++) {
      for (const row of r % 2 ? [...group].reverse() : group) {
        for (;;) {
          const load = otherLoad();
          const ips = await page.evaluate(([e, t, b, ms]) => globalThis.__bench.engines().then((x) => x.sample(e, t, b, ms)), [row.engine, row.threads, batch, MIN_MS]);
          const l = load();
          if (l < QUIET || waitBudgetMs === 0) {
            row.samples.push(ips);
            row.otherLoad.push(l);
            break;
          }
          row.retries++;
          await quiet();
        }
      }
    }
    for (const row of group) row.median = median(row.samples);
  }
  await page.close();
  if (errors.length) throw new Error(`benchmark page failed: ${errors.join("; ")}`);
  return { env, rows };
}

/** ms from navigation to the demo page's first prediction, over `n` cold loads on a quiet machine. */
async function firstPredictions(n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    await quiet();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    const handle = await page.waitForFunction(() => {
      const d = globalThis.__mulfree;
      if (d?.error) throw new Error(d.error);
      return d?.firstPredictionMs;
    }, null, { timeout: 20000 });
    times.push(await handle.jsonValue());
    await context.close();
  }
  return times;
}

await quiet();
const firstPredictionMs = await firstPredictions(5);
const pages = [await runPage(1, [1]), await runPage(2, [1, 2])];
await browser.close();
await server.close();

// the 1-thread comparison from the 1-thread page, the 2-thread one and the scaling from the 2-thread page
const find = (page, engine, threads, batch) => pages[page].rows.find((r) => r.engine === engine && r.threads === threads && r.batch === batch);
const rows = [];
for (const batch of [1, 256]) {
  for (const threads of [1, 2]) {
    const p = threads - 1;
    const m = find(p, "mulfree-int8-adder", threads, batch), o = find(p, "ort-web-fp32-cnn", threads, batch);
    rows.push({ batch, threads, mulfree: m.median, ort: o.median, ratio: m.median / o.median, mulfreeSamples: m.samples, ortSamples: o.samples });
  }
}
const scaling = find(1, "mulfree-int8-adder", 2, 256).median / find(1, "mulfree-int8-adder", 1, 256).median;

const f = (x) => Math.round(x).toLocaleString("en").padStart(8);
console.log(`\nLeNet-5 in ${pages[0].env.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? "Chromium"}, ${cpus().length} cores (${cpus()[0].model}); medians of ${REPEATS} interleaved repeats of ≥ ${MIN_MS} ms`);
console.log("batch  threads  mulfree int8 adder (img/s)  onnxruntime-web fp32 CNN (img/s)  ratio");
for (const r of rows) console.log(`${String(r.batch).padStart(5)}  ${String(r.threads).padStart(7)}  ${f(r.mulfree).padStart(26)}  ${f(r.ort).padStart(33)}  ${r.ratio.toFixed(2)}×`);
console.log(`mulfree 2 threads ÷ 1 thread at batch 256 (same page, interleaved): ${scaling.toFixed(2)}×`);
const kept = pages.flatMap((p) => p.rows.flatMap((r) => r.otherLoad));
console.log(`other programs kept at most ${Math.max(...kept).toFixed(2)} cores busy during a kept timing (median ${median(kept).toFixed(2)}); ${pages.flatMap((p) => p.rows).reduce((s, r) => s + r.retries, 0)} disturbed timings were repeated`);
console.log(`demo page, first prediction after a cold load: median ${Math.round(median(firstPredictionMs))} ms (${firstPredictionMs.map((x) => Math.round(x)).join(", ")} ms over ${firstPredictionMs.length} loads)`);
console.log(`demo payload without models: JS ${payload.jsBytes} B + wasm ${payload.wasmBytes} B = ${payload.totalBytes} B (${payload.totalGzipBytes} B gzipped)`);

mkdirSync(join(ROOT, "bench/results"), { recursive: true });
const file = join(ROOT, `bench/results/browser-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0].model, cores: cpus().length, repeats: REPEATS, minMs: MIN_MS, rows, scaling, firstPredictionMs, payload, pages }, null, 1) + "\n");
console.log(`wrote ${file}`);
