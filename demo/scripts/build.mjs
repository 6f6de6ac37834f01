#!/usr/bin/env node
// Builds the demo into demo/dist/ (or --out DIR): esbuild bundles demo/src as ES modules, next to
// them the kernels (mulfree.wasm), the assets, the pages, onnxruntime-web's wasm build for the
// benchmark page, and the service worker with the list of files it keeps for offline use.
// Needs `npm run build` first (the wasm kernels). Prints the JS + wasm payload without models.
//
//   node demo/scripts/build.mjs [--out DIR]
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { buildLenetOnnx } from "../../bench/lib/onnx.mjs";
import { randomLenetWeights } from "../../bench/lib/lenet.mjs";

// the demo's bundler, a devDependency: say so when it is missing rather than fail on a bare import
const { build } = await import("esbuild").catch(() => {
  throw new Error("the demo is bundled with esbuild, which is not installed: npm install --save-dev esbuild");
});

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEMO = join(ROOT, "demo");
const ORT_DIST = join(ROOT, "node_modules/onnxruntime-web/dist");
/** onnxruntime-web's wasm-only build (no WebGPU/WebGL): the ES module and the threaded SIMD binary it loads. */
const ORT_FILES = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"];

/** Files of `dir`, recursively, as paths relative to it. */
function listFiles(dir) {
  return readdirSync(dir, { recursive: true }).map(String).filter((f) => statSync(join(dir, f)).isFile()).sort();
}

export async function buildDemo(out = join(DEMO, "dist")) {
  const wasm = join(ROOT, "dist/mulfree.wasm");
  if (!existsSync(wasm)) throw new Error("dist/mulfree.wasm is missing: run `npm run build` first");
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  // The kernels' runtime starts pool workers with new URL("./worker_web.js", import.meta.url), so
  // worker_web is an entry of its own, emitted flat in the same folder as every chunk: the URL
  // then resolves from whichever chunk holds the runtime.
  const bundled = await build({
    metafile: true,
    entryPoints: {
      main: join(DEMO, "src/main.ts"),
      train_worker: join(DEMO, "src/train/worker.ts"),
      bench: join(DEMO, "src/bench/main.ts"),
      worker_web: join(ROOT, "src/kernels/worker_web.ts"),
    },
    outdir: out,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: !process.env.NO_MINIFY,
    chunkNames: "chunk-[hash]",
    legalComments: "none",
    logLevel: "warning",
  });
  cpSync(wasm, join(out, "mulfree.wasm"));
  cpSync(join(DEMO, "assets"), join(out, "assets"), { recursive: true });
  for (const f of ["bench.html", "styles.css", "icon.svg", "manifest.webmanifest"]) cpSync(join(DEMO, "static", f), join(out, f));
  const pageScripts = mainScripts(bundled.metafile, out);
  writeFileSync(join(out, "index.html"), withPreloads(readFileSync(join(DEMO, "static/index.html"), "utf8"), pageScripts));

  // the benchmark's peer: LeNet-5 (fp32, random weights: speed does not depend on their values)
  writeFileSync(join(out, "assets/lenet5-random.onnx"), buildLenetOnnx(randomLenetWeights(1)));
  const ort = existsSync(join(ORT_DIST, ORT_FILES[0]));
  if (ort) {
    mkdirSync(join(out, "ort"));
    for (const f of ORT_FILES) cpSync(join(ORT_DIST, f), join(out, "ort", f));
  }

  // everything the demo page needs offline: not the benchmark page and its peer
  const precache = listFiles(out).filter((f) => !/^(bench\.|ort\/)|\.onnx$/.test(f));
  const version = createHash("sha256");
  for (const f of precache) version.update(f).update(readFileSync(join(out, f)));
  await build({
    entryPoints: [join(DEMO, "src/sw.ts")],
    outfile: join(out, "sw.js"),
    bundle: true,
    format: "iife",
    target: "es2022",
    minify: true,
    define: { PRECACHE: JSON.stringify(["./", ...precache]), CACHE_VERSION: JSON.stringify(version.digest("hex").slice(0, 16)) },
    logLevel: "warning",
  });

  const payload = payloadOf(out, pageScripts);
  writeFileSync(join(out, "payload.json"), JSON.stringify(payload, null, 1) + "\n");
  return { out, ort, payload, precache };
}

/**
 * The page's first prediction waits for its module chunks, the kernels and the three bundles:
 * preload tags start those downloads with the HTML instead of after main.js has been parsed.
 */
function withPreloads(html, scripts) {
  const MARK = "<!-- preloads: written by demo/scripts/build.mjs -->";
  if (!html.includes(MARK)) throw new Error(`demo/static/index.html lacks the line ${MARK}`);
  const chunks = scripts.filter((f) => f !== "main.js");
  const models = JSON.parse(readFileSync(join(DEMO, "assets/models.json"), "utf8")).models.map((m) => `assets/${m.file}`);
  const tags = [
    ...chunks.map((c) => `<link rel="modulepreload" href="${c}">`),
    ...["mulfree.wasm", "assets/models.json", ...models].map((f) => `<link rel="preload" href="${f}" as="fetch" crossorigin>`),
  ];
  return html.replace(MARK, tags.join("\n"));
}

/** main.js and the chunks it imports statically: the scripts the page runs before its first prediction. */
function mainScripts(metafile, out) {
  const [file, main] = Object.entries(metafile.outputs).find(([, o]) => o.entryPoint?.endsWith("demo/src/main.ts"));
  return [file, ...main.imports.filter((i) => i.kind === "import-statement").map((i) => i.path)].map((f) => relative(out, join(ROOT, f)));
}

/**
 * Bytes of the demo page without models and data: all its JavaScript (the training Worker's
 * included) and the kernels, and what of it the page loads before its first prediction.
 */
function payloadOf(out, pageScripts) {
  const files = listFiles(out);
  const size = (f) => statSync(join(out, f)).size;
  const js = files.filter((f) => f.endsWith(".js") && !f.startsWith("bench") && f !== "sw.js");
  const jsBytes = js.reduce((s, f) => s + size(f), 0);
  const gz = (f) => gzipSize(readFileSync(join(out, f)));
  return {
    jsFiles: js, jsBytes, wasmBytes: size("mulfree.wasm"), serviceWorkerBytes: size("sw.js"),
    totalBytes: jsBytes + size("mulfree.wasm"),
    totalGzipBytes: js.reduce((s, f) => s + gz(f), 0) + gz("mulfree.wasm"),
    firstPredictionBytes: pageScripts.reduce((s, f) => s + size(f), 0) + size("mulfree.wasm"),
  };
}

const gzipSize = (bytes) => gzipSync(bytes, { level: 9 }).length;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf("--out");
  const out = i > 0 ? process.argv[i + 1] : undefined;
  const r = await buildDemo(out);
  const kb = (b) => `${(b / 1024).toFixed(1)} KB`;
  const p = r.payload;
  console.log(`built ${relative(process.cwd(), r.out) || "."}: JS ${kb(p.jsBytes)} + wasm ${kb(p.wasmBytes)} = ${kb(p.totalBytes)} (${kb(p.totalGzipBytes)} gzipped) without models; ${kb(p.firstPredictionBytes)} of it before the first prediction`);
  if (!r.ort) console.log("onnxruntime-web is not installed: the benchmark page will say so");
}
