// The demo app (demo/) in Debian's Chromium: built with esbuild into a temporary folder and served
// cross-origin isolated. Strokes drawn with the mouse give, in each of the three models, exactly
// the logits `mulfree predict` gives in Node for the PNG the canvas exports; the first prediction
// comes by itself after loading; a short training run in the page's Worker uses its threads and lowers
// the loss while the page's own thread stays free; the page works offline; the benchmark page runs.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "./browser/chromium.js";
import { serveStatic, type StaticServer } from "./browser/serve.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "dist/src/cli/main.js");
/** Where the test leaves its screenshot of the page (dist/ is not committed; demo/screenshot.png is a reviewed copy). */
const SCREENSHOT = process.env.DEMO_SCREENSHOT ?? join(ROOT, "dist/demo-screenshot.png");

interface Manifest { models: Array<{ id: string; file: string }> }
interface Prediction { logits: number[]; predicted: number; latencyMs: number }

let dir: string;
let server: StaticServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "mulfree-demo-"));
  execFileSync(process.execPath, [join(ROOT, "demo/scripts/build.mjs"), "--out", join(dir, "site")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  // the browser first: when it is missing, no server is left open to keep the test process alive
  browser = await launchChromium();
  server = await serveStatic(join(dir, "site"), { isolated: true });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const firstPrediction = (p: Page) =>
  p.waitForFunction(() => {
    const d = (globalThis as { __mulfree?: { firstPredictionMs?: number; error?: string } }).__mulfree;
    if (d?.error) throw new Error(d.error);
    return d?.firstPredictionMs;
  }, null, { timeout: 10000 }).then((h) => h.jsonValue() as Promise<number>);

/** A stroke through the given points, in canvas pixels (280 × 280), drawn with the mouse. */
async function stroke(points: Array<[number, number]>): Promise<void> {
  const box = (await page.locator("#pad").boundingBox())!;
  const at = ([x, y]: [number, number]) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280] as const;
  await page.mouse.move(...at(points[0]!));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 8 });
  await page.mouse.up();
}

/** ms from navigation to the first prediction, and where the time went. */
async function coldLoad(p: Page): Promise<{ ms: number; detail: string }> {
  await p.goto(`${server.url}/`);
  const ms = await firstPrediction(p);
  const timings = await p.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    return { domInteractive: nav.domInteractive, ...(globalThis as unknown as { __mulfree: { timings: object } }).__mulfree.timings };
  });
  return { ms, detail: `${Math.round(ms)} ms (${Object.entries(timings).map(([k, v]) => `${k} ${Math.round(v)}`).join(", ")})` };
}

// The 1 s goal is a speed goal: demo/scripts/bench.mjs measures it on a quiet machine (BENCHMARKS.md).
// Here, with other test files sharing the cores, the page must predict on its own soon after load.
test("the first prediction shows by itself soon after loading (median of 3 cold loads under 5 s)", async (t) => {
  // cold: each load in a fresh context, so no HTTP cache and no service worker help
  const loads = [await coldLoad(page)];
  for (let i = 0; i < 2; i++) {
    const c = await browser.newContext();
    loads.push(await coldLoad(await c.newPage()));
    await c.close();
  }
  for (const l of loads) t.diagnostic(`first prediction after ${l.detail}`);
  const median = loads.map((l) => l.ms).sort((a, b) => a - b)[1]!;
  assert.ok(median < 5000, `first prediction after ${median.toFixed(0)} ms (median)`);
  assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true);
});

test("strokes drawn with the mouse: each model's logits equal mulfree predict's on the exported PNG, bit for bit", async () => {
  await page.click("#clear");
  await stroke([[70, 62], [210, 62], [150, 150], [118, 232]]);  // a 7
  const { predictions, png } = await page.evaluate(() => {
    const d = (globalThis as unknown as { __mulfree: { predictions: Record<string, Prediction>; canvasPng(): string } }).__mulfree;
    return { predictions: d.predictions, png: d.canvasPng() };
  });
  const file = join(dir, "stroke.png");
  writeFileSync(file, Buffer.from(png.replace(/^data:image\/png;base64,/, ""), "base64"));
  const manifest = JSON.parse(readFileSync(join(ROOT, "demo/assets/models.json"), "utf8")) as Manifest;
  assert.equal(manifest.models.length, 3);
  for (const m of manifest.models) {
    const out = execFileSync(process.execPath, [CLI, "predict", join(ROOT, "demo/assets", m.file), "--input", file, "--json"], { encoding: "utf8" });
    const node = JSON.parse(out.trim().split("\n").pop()!) as { images: Array<{ logits: number[]; top: Array<{ class: number }> }> };
    const inPage = predictions[m.id]!;
    assert.deepEqual(inPage.logits, node.images[0]!.logits, `${m.id}: page and CLI logits`);
    assert.equal(inPage.predicted, node.images[0]!.top[0]!.class);
    assert.equal(inPage.predicted, 7, `${m.id} reads the stroke as a 7`);
    assert.ok(inPage.latencyMs > 0 && inPage.latencyMs < 50, `${m.id}: latency ${inPage.latencyMs} ms`);
  }
});

test("a short training run in the page's Worker uses its threads, lowers the loss and leaves the page's thread free", async () => {
  const threads = await page.evaluate(() => Math.min(2, navigator.hardwareConcurrency));
  await page.selectOption("#train-threads", String(threads));
  await page.selectOption("#train-epochs", "3");
  // the page's own thread stays free while the Worker trains: no long task (> 50 ms) adds up to much.
  // Training on the page's thread would block it for each step and for each epoch's test.
  await page.evaluate(() => {
    const g = globalThis as unknown as { __longTasks: number[] };
    g.__longTasks = [];
    new PerformanceObserver((list) => g.__longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: "longtask" });
  });
  await page.click("#train-button");
  await page.waitForFunction(() => {
    const t = (globalThis as unknown as { __mulfree: { training: { losses: number[]; status: string; error?: string } } }).__mulfree.training;
    if (t.status === "error") throw new Error(t.error);
    return t.losses.length >= 40;
  }, null, { timeout: 30000, polling: 50 });
  const longTasks = await page.evaluate(() => (globalThis as unknown as { __longTasks: number[] }).__longTasks);
  await page.click("#train-button");  // Stop
  const t = await page.evaluate(() => (globalThis as unknown as { __mulfree: { training: { status: string; threads: number; losses: number[]; accuracies: number[]; parallelJobs: number } } }).__mulfree.training);
  assert.equal(t.status, "stopped");
  assert.equal(t.threads, threads, "the Worker's runtime runs the threads asked for");
  if (threads > 1) assert.ok(t.parallelJobs > 100, `its pool workers took part: ${t.parallelJobs} split jobs`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(t.losses.slice(0, 5)), last = mean(t.losses.slice(-5));
  assert.ok(last < 0.5 * first, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
  assert.ok(t.accuracies.length >= 1 && t.accuracies[0]! > 0.5, `accuracy after the first epoch: ${t.accuracies[0]}`);
  const blocked = longTasks.reduce((a, b) => a + b, 0);
  assert.ok(blocked < 250, `the page's thread was blocked ${blocked.toFixed(0)} ms (long tasks ${longTasks.map(Math.round).join(", ")}) while training`);

  mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.ok(existsSync(SCREENSHOT));
});

test("once loaded, the page works offline, still cross-origin isolated", async () => {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    // the page is controlled only after the worker claimed it
    if (!navigator.serviceWorker.controller) await new Promise((r) => navigator.serviceWorker.addEventListener("controllerchange", r, { once: true }));
  });
  await context.setOffline(true);
  try {
    await page.reload();
    await firstPrediction(page);
    const r = await page.evaluate(() => ({ isolated: globalThis.crossOriginIsolated, models: Object.keys((globalThis as unknown as { __mulfree: { predictions: object } }).__mulfree.predictions).length }));
    assert.deepEqual(r, { isolated: true, models: 3 });
  } finally {
    await context.setOffline(false);
  }
});

test("the benchmark page times both engines in the page", { skip: !existsSync(join(ROOT, "node_modules/onnxruntime-web/dist/ort.wasm.min.mjs")) && "onnxruntime-web is not installed" }, async () => {
  const bench = await context.newPage();
  bench.on("pageerror", (e) => problems.push(`bench page error: ${e.message}`));
  await bench.goto(`${server.url}/bench.html?ort=2&mulfree=1,2&batches=1,16&repeats=1&ms=40&auto`);
  const state = await bench.waitForFunction(() => {
    const b = (globalThis as unknown as { __bench?: { status: string; error?: string } }).__bench;
    if (b?.status === "error") throw new Error(b.error);
    return b?.status === "done" && b;
  }, null, { timeout: 20000 }).then((h) => h.jsonValue() as unknown as Promise<{ rows: Array<{ engine: string; threads: number; batch: number; median: number }> }>);
  assert.deepEqual(state.rows.map((r) => `${r.engine}/${r.threads}/${r.batch}`), [
    "mulfree-int8-adder/1/1", "mulfree-int8-adder/2/1", "ort-web-fp32-cnn/2/1", "mulfree-int8-adder/1/16", "mulfree-int8-adder/2/16", "ort-web-fp32-cnn/2/16",
  ]);
  for (const r of state.rows) assert.ok(r.median > 0, `${r.engine} ${r.threads}T b=${r.batch}: ${r.median} images/s`);
  await bench.close();
});

test("no console error or warning on the way", () => {
  assert.deepEqual(problems, []);
});
