// The bundle runner: the wasm engine against the reference engine (exact logits), thread
// counts, input types and batch sizes, and the browser-safety of the import graph.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { encodeBundle } from "../src/deploy/run/encode.js";
import { exportModel } from "../src/deploy/export/export_model.js";
import { load } from "../src/deploy/run/runner.js";
import { initRuntime } from "../src/kernels/runtime.js";
import * as nn from "../src/nn/index.js";
import { MEAN, SHAPE, settle, STD, tinyChain, tinyDepthwise, tinyImages } from "./deploy-tiny-models.js";
import { LinearShift } from "../src/nn/shift.js";
import { manualSeed } from "../src/tensor/random.js";
import { randomBundle, randomPixels, type Mix } from "./deploy-random-bundles.js";
import { rng } from "./random.js";

const MIXES: Mix[] = ["mul", "adder", "shift", "mixed"];

function sameArray(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} differs: ${a[i]} vs ${b[i]}`);
  }
}

test("the wasm engine gives exactly the reference engine's logits, for every layer kind", () => {
  const r = rng(5);
  for (const mix of MIXES) {
    for (let trial = 0; trial < 25; trial++) {
      const b = randomBundle(r, mix);
      const n = 1 + Math.floor(r() * 5);
      const pixels = randomPixels(r, n, b.shape);
      const ref = load(b.bytes, { backend: "reference", name: `${mix}#${trial}` });
      const fast = load(b.bytes, { backend: "wasm", threads: 1, name: `${mix}#${trial}` });
      const want = ref.predict(pixels);
      const got = fast.predict(pixels);
      sameArray(got.logits, want.logits, `${mix} bundle #${trial} logits`);
      sameArray(got.classes, want.classes, `${mix} bundle #${trial} classes`);
      ref.dispose();
      fast.dispose();
    }
  }
});

test("1 and 2 threads give identical outputs", () => {
  const r = rng(11);
  for (const mix of MIXES) {
    for (let trial = 0; trial < 5; trial++) {
      const b = randomBundle(r, mix, { maxSide: 16 });
      const pixels = randomPixels(r, 16, b.shape);
      const one = load(b.bytes, { threads: 1 });
      const a = one.predict(pixels).logits.slice();
      one.dispose();
      const two = load(b.bytes, { threads: 2 });
      const c = two.predict(pixels).logits.slice();
      two.dispose();
      sameArray(c, a, `${mix} bundle #${trial}, 2 threads vs 1`);
    }
  }
  load(randomBundle(r, "mul").bytes, { threads: 1 }).dispose(); // leave the shared runtime single-threaded
});

test("raw bytes and [0, 1] floats of the same image give the same result", () => {
  const r = rng(12);
  const b = randomBundle(r, "mixed");
  const m = load(b.bytes);
  const bytes = randomPixels(r, 3, b.shape);
  const floats = Float32Array.from(bytes, (p) => p / 255);
  const fromBytes = m.predict(bytes).logits.slice();
  sameArray(m.predict(floats).logits, fromBytes, "float input");
  sameArray(m.predict(new Uint8ClampedArray(bytes)).logits, fromBytes, "Uint8ClampedArray input");
  m.dispose();
  // one-channel batches of ≥ 4096 bytes take a word-at-a-time path: aligned, unaligned, with a tail
  const one = randomBundle(r, "adder", { shape: [1, 5, 7] });
  const mo = load(one.bytes);
  const big = randomPixels(r, 131, one.shape);
  const want = mo.predict(Float32Array.from(big, (p) => p / 255)).logits.slice();
  sameArray(mo.predict(big).logits, want, "large aligned byte batch");
  const shifted = new Uint8Array(big.length + 1);
  shifted.set(big, 1);
  sameArray(mo.predict(shifted.subarray(1)).logits, want, "large unaligned byte batch");
  mo.dispose();
});

test("batching does not change any image's result, and batch sizes can change between calls", () => {
  const r = rng(13);
  for (const mix of MIXES) {
    const b = randomBundle(r, mix);
    const m = load(b.bytes);
    const size = b.shape[0] * b.shape[1] * b.shape[2];
    const pixels = randomPixels(r, 7, b.shape);
    const all = m.predict(pixels, 7);
    const logits = all.logits.slice(), classes = all.classes.slice();
    assert.equal(logits.length, 7 * m.classes);
    for (const i of [3, 0, 6]) {
      const one = m.predict(pixels.subarray(i * size, (i + 1) * size));
      sameArray(one.logits, logits.subarray(i * m.classes, (i + 1) * m.classes), `${mix}: image ${i} alone`);
      assert.equal(one.classes[0], classes[i]);
    }
    sameArray(m.predict(pixels).logits, logits, `${mix}: the batch again`);
    const big = randomPixels(r, 40, b.shape);
    const bigLogits = m.predict(big).logits.slice();
    sameArray(m.predict(big.subarray(0, 2 * size)).logits, bigLogits.subarray(0, 2 * m.classes), `${mix}: after growing the buffers`);
    m.dispose();
  }
});

test("classes are the arg-max of the logits; the result arrays are reused for the same n", () => {
  const r = rng(14);
  const b = randomBundle(r, "adder");
  const m = load(b.bytes);
  const out = m.predict(randomPixels(r, 5, b.shape));
  for (let i = 0; i < 5; i++) {
    const row = Array.from(out.logits.subarray(i * m.classes, (i + 1) * m.classes));
    assert.equal(out.classes[i], row.indexOf(Math.max(...row)));
  }
  const again = m.predict(randomPixels(r, 5, b.shape));
  assert.equal(again.logits, out.logits, "same n reuses the logits array");
  assert.deepEqual(m.inputShape, b.shape);
  assert.equal(m.classes, b.parts.graph.classes);
  m.dispose();
  assert.throws(() => m.predict(randomPixels(r, 1, b.shape)), /disposed/);
});

/** Logits of the reference engine, the oracle. */
function referenceLogits(bytes: Uint8Array, pixels: Float32Array | Uint8Array, n: number): Float32Array {
  const m = load(bytes, { backend: "reference" });
  const logits = m.predict(pixels, n).logits.slice();
  m.dispose();
  return logits;
}

test("float pixels: the wasm engine equals the reference engine", () => {
  const r = rng(15);
  for (const mix of MIXES) {
    for (let trial = 0; trial < 6; trial++) {
      const b = randomBundle(r, mix);
      const n = 1 + Math.floor(r() * 4);
      const floats = Float32Array.from(randomPixels(r, n, b.shape), (p) => (r() < 0.5 ? p / 255 : r()));
      const want = referenceLogits(b.bytes, floats, n);
      const m = load(b.bytes);
      sameArray(m.predict(floats).logits, want, `${mix} bundle #${trial}`);
      m.dispose();
    }
  }
});

test("float pixels quantized inside the wasm program (any value, NaN included) equal the reference engine's bytes", () => {
  const r = rng(17);
  const special = [Number.NaN, Infinity, -Infinity, -0, 0, 1, -1e-9, 1 + 1e-7, 0.5, 1 / 255, 254.5 / 255, 1e30, -1e30];
  let viaProgram = 0;
  for (const threads of [1, 2]) {
    for (const mix of ["mul", "adder"] as const) {
      for (let trial = 0; trial < 6; trial++) {
        const b = randomBundle(r, mix);
        const n = threads === 1 ? 1 + Math.floor(r() * 4) : 8 + Math.floor(r() * 9);
        const floats = Float32Array.from(randomPixels(r, n, b.shape), (p) => (r() < 0.2 ? special[Math.floor(r() * special.length)]! : r() < 0.5 ? p / 255 : r() * 1.4 - 0.2));
        const want = referenceLogits(b.bytes, floats, n);
        const m = load(b.bytes, { threads });
        const engine = (m as unknown as { engine: { floatInput?(n: number): Float32Array | null } }).engine;
        if (engine.floatInput?.(n)) viaProgram++;
        sameArray(m.predict(floats).logits, want, `${mix} bundle #${trial}, ${threads} thread(s)`);
        m.dispose();
      }
    }
  }
  initRuntime({ threads: 1 });
  assert.ok(viaProgram >= 10, `most of these runs quantize inside the program (${viaProgram})`);
});

/** A mixed chain (its own test models: ./deploy-tiny-models.ts has one kind per model): conv, adder, shift. */
function mixedModel(): nn.Module {
  manualSeed(3);
  return new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(4, { momentum: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Adder2d(4, 6, 3, { padding: 1 }), new nn.BatchNorm2d(6, { momentum: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new LinearShift(6 * 3 * 3, 10, { mode: "q" }),
  );
}

test("exported tiny models (mul, adder, shift, mixed; chain and depthwise): wasm engine = reference engine, 1 = 2 threads", () => {
  initRuntime({ threads: 1 });
  const calib = tinyImages(64, 30);
  const test = tinyImages(32, 31);
  const models: Array<[string, nn.Module]> = [
    ...(["mul", "adder", "shift"] as const).flatMap((k): Array<[string, nn.Module]> => [[`${k} chain`, tinyChain(k, 4)], [`${k} depthwise`, tinyDepthwise(k, 5)]]),
    ["mixed chain", mixedModel()],
  ];
  for (const [what, model] of models) {
    settle(model, calib.normalized, 64, 6);
    const ex = exportModel(model, calib.normalized, 64, SHAPE, { mean: MEAN, std: STD });
    const bytes = encodeBundle(ex.graph, ex.tensors, { test: what });
    const want = referenceLogits(bytes, test.pixels, 32);
    const pixels = Uint8Array.from(test.pixels, (p) => Math.round(p * 255));
    const one = load(bytes, { threads: 1, name: what });
    sameArray(one.predict(pixels).logits, want, `${what}: wasm, 1 thread, byte pixels`);
    one.dispose();
    const two = load(bytes, { threads: 2, name: what });
    sameArray(two.predict(test.pixels).logits, want, `${what}: wasm, 2 threads, float pixels`);
    two.dispose();
    initRuntime({ threads: 1 });
  }
});

test("dispose gives back all the wasm memory a model took", () => {
  const r = rng(19);
  const rt = initRuntime({ threads: 1 });
  for (const mix of MIXES) {
    const b = randomBundle(r, mix);
    const cycle = () => {
      const m = load(b.bytes);
      for (const n of [1, 7, 3, 20]) m.predict(randomPixels(r, n, b.shape));
      m.dispose();
    };
    cycle(); // the kernels' own per-runtime scratch is allocated once, here
    const before = rt.heap.bytesInUse;
    cycle();
    assert.equal(rt.heap.bytesInUse, before, `${mix}: heap bytes after load, predict and dispose`);
  }
});

// ---- browser safety ------------------------------------------------------------------------------

const here = dirname(fileURLToPath(import.meta.url));

/** Every module the runner's entry reaches through static or dynamic imports, compiled JS. */
function importGraph(entry: string): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const code = readFileSync(file, "utf8");
    seen.set(file, code);
    const specifiers = [...code.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^import\s+["']([^"']+)["']/gm)]
      .map((m) => m[1] ?? m[2] ?? m[3]!);
    for (const spec of specifiers) {
      if (!spec.startsWith(".")) throw new Error(`${file} imports "${spec}", which is not part of the package (a Node builtin or a dependency)`);
      visit(resolve(dirname(file), spec));
    }
  };
  visit(entry);
  return seen;
}

/** Code with comments and string literals blanked, so only real uses of names remain. */
function codeOnly(js: string): string {
  return js
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/[^\n]*/g, "")
    .replace(/`(?:\\[\s\S]|\$\{[^}]*\}|[^`\\])*`/g, '""')
    .replace(/"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g, '""');
}

test("the deploy entry imports nothing Node-only (browser-safe)", () => {
  // importGraph throws on any import that is not a relative path: node: modules included
  const graph = importGraph(resolve(here, "../src/deploy/index.js"));
  assert.ok(graph.size >= 8, `walked ${graph.size} modules`);
  for (const [file, js] of graph) {
    const code = codeOnly(js);
    // bare globals only: globalThis.process (guarded, as nodeBuiltin does) is fine
    for (const name of ["process", "Buffer", "require", "__dirname", "__filename"]) {
      const bare = new RegExp(`(?<![\\w$.])${name}(?![\\w$])`);
      assert.ok(!bare.test(code), `${file} uses the Node-only global ${name}`);
    }
  }
});

test("load/predict work with no Node globals at all, given the wasm bytes (as in a browser)", () => {
  const b = randomBundle(rng(17), "mixed");
  const pixels = randomPixels(rng(18), 3, b.shape);
  const want = Array.from(load(b.bytes).predict(pixels).logits);
  const dir = mkdtempSync(join(tmpdir(), "mulfree-browserlike-"));
  try {
    writeFileSync(join(dir, "bundle.bin"), b.bytes);
    writeFileSync(join(dir, "pixels.bin"), pixels);
    // read every input first, then hide process (and with it nodeBuiltin), Buffer and require
    const script = `
      import { readFileSync } from "node:fs";
      const wasm = readFileSync(${JSON.stringify(resolve(here, "../mulfree.wasm"))});
      const bundle = new Uint8Array(readFileSync(${JSON.stringify(join(dir, "bundle.bin"))}));
      const pixels = new Uint8Array(readFileSync(${JSON.stringify(join(dir, "pixels.bin"))}));
      const write = process.stdout.write.bind(process.stdout);
      for (const name of ["process", "Buffer", "require"]) Object.defineProperty(globalThis, name, { value: undefined, configurable: true });
      const { load } = await import(${JSON.stringify(resolve(here, "../src/deploy/index.js"))});
      const warnings = [];
      console.warn = (msg) => warnings.push(msg);
      const two = load(bundle, { wasm, threads: 2 });
      const twoLogits = Array.from(two.predict(pixels).logits);
      load(bundle, { wasm, threads: 2 }).dispose();
      const m = load(bundle, { wasm: new Uint8Array(wasm) });
      write(JSON.stringify({ logits: Array.from(m.predict(pixels).logits), twoLogits, warnings }));
    `;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { logits: number[]; twoLogits: number[]; warnings: string[] };
    assert.deepEqual(out.logits, want);
    // no workers here: threads: 2 runs on one thread, says so once, and gives the same logits
    assert.deepEqual(out.twoLogits, want);
    assert.equal(out.warnings.length, 1);
    assert.match(out.warnings[0]!, /^mulfree: running on one thread: this environment has no worker_threads or Web Workers/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the import walk really catches Node-only code", () => {
  assert.throws(() => importGraph(resolve(here, "../src/cli/threads.js")), /not part of the package/);
  const bare = /(?<![\w$.])process(?![\w$])/;
  assert.ok(bare.test(codeOnly("const x = process.argv;")));
  assert.ok(!bare.test(codeOnly("const x = globalThis.process; // process.argv\nconst s = 'process';")));
});
