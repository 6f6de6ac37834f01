#!/usr/bin/env node
// The README's picture of the demo (demo/screenshot.png): the page in Chromium at 1280 px with its
// sample digit and a finished 3-epoch training run, cut at the end of the training panel.
// Needs `npm run build`. With pngquant installed (apt-get install pngquant) the PNG is reduced to a
// 256-colour palette, which keeps it under the 200 KB the README's picture may weigh.
// Usage: node demo/scripts/screenshot.mjs [OUT.png]
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildDemo } from "./build.mjs";
import { launchChromium } from "../../dist/test/browser/chromium.js";
import { serveStatic } from "../../dist/test/browser/serve.js";

/** The desktop layout: the pad and the three cards in a row. */
const WIDTH = 1280;
const out = process.argv[2] ?? fileURLToPath(new URL("../screenshot.png", import.meta.url));
const { out: site } = await buildDemo();
const server = await serveStatic(site, { isolated: true });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: WIDTH, height: 900 } });
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => globalThis.__mulfree?.firstPredictionMs);
  await page.selectOption("#train-epochs", "3");
  await page.click("#train-button");
  await page.waitForFunction(() => ["done", "error"].includes(globalThis.__mulfree.training.status), null, { timeout: 120000, polling: 500 });
  await page.waitForTimeout(400);  // the last redraw
  const bottom = await page.evaluate(() => document.querySelector(".train").getBoundingClientRect().bottom + scrollY + 24);
  await page.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width: WIDTH, height: Math.ceil(bottom) } });
  const quant = spawnSync("pngquant", ["--force", "--skip-if-larger", "--quality", "85-100", "--output", out, out]);
  console.log(`wrote ${out} (${statSync(out).size} bytes${quant.error ? ", pngquant not found: full colour" : ", 256 colours"})`);
} finally {
  await browser.close();
  await server.close();
}
