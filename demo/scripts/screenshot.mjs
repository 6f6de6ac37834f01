#!/usr/bin/env node
// The README's picture of the demo (demo/screenshot.png): the page in Chromium at 1280 px with its
// sample digit and a finished 3-epoch training run, cut at the end of the training panel.
// Needs `npm run build`. Usage: node demo/scripts/screenshot.mjs [OUT.png]
import { fileURLToPath } from "node:url";
import { buildDemo } from "./build.mjs";
import { launchChromium } from "../../dist/test/browser/chromium.js";
import { serveStatic } from "../../dist/test/browser/serve.js";

const out = process.argv[2] ?? fileURLToPath(new URL("../screenshot.png", import.meta.url));
const { out: site } = await buildDemo();
const server = await serveStatic(site, { isolated: true });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => globalThis.__mulfree?.firstPredictionMs);
  await page.selectOption("#train-epochs", "3");
  await page.click("#train-button");
  await page.waitForFunction(() => ["done", "error"].includes(globalThis.__mulfree.training.status), null, { timeout: 120000, polling: 500 });
  await page.waitForTimeout(400);  // the last redraw
  const bottom = await page.evaluate(() => document.querySelector(".train").getBoundingClientRect().bottom + scrollY + 24);
  await page.screenshot({ path: out, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(bottom) } });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
}
