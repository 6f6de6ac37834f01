// mulfree in a real browser (Debian's Chromium through playwright-core): the package loads as plain
// ES modules, the worker pool runs on Web Workers in a cross-origin isolated page (and falls back
// to one thread, once and out loud, elsewhere), and training and integer inference give exactly
// the bits Node gives, for 1 and 2 threads.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "./browser/chromium.js";
import { serveStatic, type StaticServer } from "./browser/serve.js";
import { bundleLogits, trainedWeightsHash } from "./browser/parity.js";
import { randomBundle, randomPixels } from "./deploy-random-bundles.js";
import { rng } from "./random.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
const PAGE = "<!doctype html><meta charset=utf-8><title>mulfree test</title><body></body>";

let browser: Browser;
const servers: StaticServer[] = [];

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => s.close()));
});

/** A fresh page from a server with or without cross-origin isolation; console output is collected. */
async function openPage(isolated: boolean): Promise<{ page: Page; console: string[]; errors: string[] }> {
  const server = await serveStatic(ROOT, { isolated, pages: { "/test.html": PAGE } });
  servers.push(server);
  const page = await browser.newPage();
  const consoleLines: string[] = [], errors: string[] = [];
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.url}/test.html`);
  return { page, console: consoleLines, errors };
}

test("a cross-origin isolated page trains on 2 Web Worker threads to the same weights as Node", async () => {
  const { page, errors } = await openPage(true);
  for (const op of ["conv", "adder"]) {
    const node = trainedWeightsHash(op, 2);
    const inPage = await page.evaluate(async (op) => {
      const wasm = new Uint8Array(await (await fetch("/dist/mulfree.wasm")).arrayBuffer());
      const { initRuntime } = await import(String("/dist/src/kernels/runtime.js"));
      const rt = initRuntime({ threads: 2, wasm });
      await rt.whenReady();
      const before = rt.parallelJobs;
      const { trainedWeightsHash } = await import(String("/dist/test/browser/parity.js"));
      const r = trainedWeightsHash(op, 2, wasm);
      return { ...r, isolated: globalThis.crossOriginIsolated, jobs: rt.parallelJobs - before };
    }, op);
    assert.equal(inPage.isolated, true);
    assert.equal(inPage.threads, 2);
    assert.ok(inPage.jobs > 10, `the workers took part: ${inPage.jobs} split jobs`);
    assert.equal(inPage.hash, node.hash, `${op}: browser weights equal Node's`);
    assert.equal(inPage.loss, node.loss);
  }
  assert.deepEqual(errors, []);
});

test("deployment bundles predict the same logits in the page as in Node, on 1 and 2 threads", async () => {
  const { page, errors } = await openPage(true);
  for (const [i, mix] of (["adder", "shift", "mul", "mixed"] as const).entries()) {
    const b = randomBundle(rng(40 + i), mix);
    const pixels = randomPixels(rng(50 + i), 16, b.shape);
    const node = bundleLogits(b.bytes, pixels, 2);
    for (const threads of [1, 2]) {
      const inPage = await page.evaluate(async ([bundle, pixels, threads]) => {
        const wasm = new Uint8Array(await (await fetch("/dist/mulfree.wasm")).arrayBuffer());
        const { initRuntime } = await import(String("/dist/src/kernels/runtime.js"));
        await initRuntime({ threads, wasm }).whenReady();
        const { bundleLogits } = await import(String("/dist/test/browser/parity.js"));
        return bundleLogits(new Uint8Array(bundle), new Uint8Array(pixels), threads, wasm);
      }, [Array.from(b.bytes), Array.from(pixels), threads] as const);
      assert.deepEqual(inPage.logits, node.logits, `${mix}, ${threads} thread(s)`);
    }
  }
  assert.deepEqual(errors, []);
});

test("without cross-origin isolation the page runs on one thread and says so once", async () => {
  const { page, console: lines, errors } = await openPage(false);
  const r = await page.evaluate(async () => {
    const wasm = new Uint8Array(await (await fetch("/dist/mulfree.wasm")).arrayBuffer());
    const { initRuntime } = await import(String("/dist/src/kernels/runtime.js"));
    const rt = initRuntime({ threads: 2, wasm });
    rt.setThreads(2);
    const { trainedWeightsHash } = await import(String("/dist/test/browser/parity.js"));
    return { ...trainedWeightsHash("conv", 2, wasm), isolated: globalThis.crossOriginIsolated };
  });
  assert.equal(r.isolated, false);
  assert.equal(r.threads, 1);
  assert.equal(r.hash, trainedWeightsHash("conv", 1).hash, "one thread, the same weights");
  const warnings = lines.filter((l) => l.startsWith("warning: mulfree"));
  assert.equal(warnings.length, 1, lines.join("\n"));
  assert.match(warnings[0]!, /running on one thread: this page is not cross-origin isolated/);
  assert.deepEqual(errors, []);
});

test("the package's entry points load in the page as plain ES modules", async () => {
  const { page, errors } = await openPage(true);
  const names = await page.evaluate(async () => {
    const main = await import(String("/dist/src/index.js"));
    const deploy = await import(String("/dist/src/deploy/index.js"));
    return { main: Object.keys(main).length, hasLoad: typeof deploy.load, hasTrain: typeof main.Trainer };
  });
  assert.ok(names.main > 20);
  assert.equal(names.hasLoad, "function");
  assert.equal(names.hasTrain, "function");
  assert.deepEqual(errors, []);
});
