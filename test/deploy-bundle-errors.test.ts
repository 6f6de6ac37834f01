// Bad bundles and bad predict() arguments: each gets one clear error that names the bundle (or
// the argument) and the problem, never a crash deep inside and never a silently wrong result.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { BundleError } from "../src/deploy/run/bundle.js";
import { readBundle } from "../src/deploy/run/decode.js";
import { sealBundle } from "../src/deploy/run/encode.js";
import { BUNDLE_FORMAT, REQUANT_TENSORS, weightTensorName, type IntGraph, type LayerNode } from "../src/deploy/run/format.js";
import { load } from "../src/deploy/run/runner.js";
import { IoError } from "../src/io/errors.js";
import { decodeSafetensorsHeader, encodeSafetensors, MAX_HEADER_BYTES, type TensorEntry } from "../src/io/safetensors.js";
import { encodeParts, randomBundle, randomPixels, type BundleParts, type RandomBundle } from "./deploy-random-bundles.js";
import { rng } from "./random.js";

const NAME = "models/tiny.mulfree.safetensors";

/** A valid bundle with a conv, a pool, a flatten and two linear layers, of the given kind. */
function base(kind: "mul" | "adder" | "shift" = "adder", seed = 1): RandomBundle {
  const r = rng(seed);
  for (;;) {
    const b = randomBundle(r, kind);
    const layers = b.parts.graph.nodes.filter((n) => n.op === "layer");
    if (layers.length >= 2) return b;
  }
}

function tensorsOf(p: BundleParts): Record<string, TensorEntry> {
  const t: Record<string, TensorEntry> = {};
  for (const [layer, bytes] of Object.entries(p.weights)) t[weightTensorName(layer)] = { dtype: "U8", shape: [bytes.length], data: bytes };
  t[REQUANT_TENSORS.bias] = { dtype: "I32", shape: [p.requant.bias.length], data: p.requant.bias };
  t[REQUANT_TENSORS.mult] = { dtype: "I16", shape: [p.requant.mult.length], data: p.requant.mult };
  t[REQUANT_TENSORS.shift] = { dtype: "U8", shape: [p.requant.shift.length], data: p.requant.shift };
  return t;
}

/**
 * The bundle with its metadata and tensors edited before encoding (the graph stored in full form),
 * sealed with checksums of the edited parts: what reaches the checks after the checksums.
 */
function edited(b: RandomBundle, edit: { graph?: (g: IntGraph) => void; graphText?: string; meta?: { format?: string; source?: string }; tensors?: (t: Record<string, TensorEntry>) => void }): Uint8Array {
  const graph = structuredClone(b.parts.graph);
  edit.graph?.(graph);
  const tensors = tensorsOf(b.parts);
  edit.tensors?.(tensors);
  return sealBundle({ graph: edit.graphText ?? JSON.stringify(graph), ...edit.meta }, tensors);
}

/** `read` throws a `type` error: one short line that names the bundle and matches `pattern`. */
function refused(read: () => unknown, type: new (...args: never[]) => Error, pattern: RegExp): void {
  assert.throws(read, (e: Error) => {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${e.name}: ${e.message}`);
    assert.ok(e.message.startsWith(`${NAME}: `), `the message names the bundle: ${e.message}`);
    assert.match(e.message, pattern);
    assert.ok(!/[\n\r\u2028\u2029]/.test(e.message), "one line");
    assert.ok(e.message.length < 400, `short: ${e.message.length} characters`);
    return true;
  });
}

/** The one reader (readBundle, here through load) refuses the bytes with a BundleError, which is an IoError. */
const rejects = (bytes: Uint8Array, pattern: RegExp) => {
  refused(() => load(bytes, { name: NAME }), BundleError, pattern);
  refused(() => readBundle(bytes, NAME), IoError, pattern);
};

const firstLayer = (g: IntGraph) => g.nodes.find((n) => n.op === "layer") as LayerNode;
const lastLayer = (g: IntGraph) => g.nodes[g.nodes.length - 1] as LayerNode;

test("the unedited bundles load (so every rejection below is the edit's doing)", () => {
  for (const kind of ["mul", "adder", "shift"] as const) load(edited(base(kind), {}), { name: NAME }).dispose();
});

test("metadata: not a bundle, wrong format, missing or malformed graph JSON", () => {
  const b = base();
  rejects(edited(b, { meta: { format: "mulfree-int8/9" } }), /unsupported bundle format "mulfree-int8\/9"/);
  // version 2 is version 3 without biasBits: still read
  load(edited(base("adder", 2), { meta: { format: "mulfree-int8/2" }, graph: (g) => g.nodes.forEach((n) => delete (n as { biasBits?: number }).biasBits) }), { name: NAME }).dispose();
  rejects(edited(b, { meta: { format: "mulfree-int8/1" } }), /unsupported bundle format "mulfree-int8\/1" \(this version reads "mulfree-int8\/3"; export the model again\)/);
  rejects(encodeSafetensors({ w: { dtype: "F32", shape: [1], data: new Float32Array(1) } }, { spec: "{}" }), /not a mulfree deployment bundle.*no "format"/);
  rejects(encodeSafetensors(tensorsOf(b.parts), { format: BUNDLE_FORMAT }), /no "graph"/);
  rejects(edited(b, { graphText: '{"nodes": [' }), /graph metadata is not valid JSON/);
  rejects(edited(b, { graphText: "[1, 2]" }), /graph is not a JSON object/);
  rejects(edited(b, { graphText: '{"nodes": [], "classes": 3}' }), /graph.nodes must be an array/);
  rejects(edited(b, { graph: (g) => ((g.nodes as unknown[])[1] = null) }), /graph.nodes\[1\] is not an object/);
  rejects(edited(b, { graph: (g) => ((g.nodes[1] as unknown as { op: string }).op = "softmax") }), /graph.nodes\[1\].op "softmax" is not one of/);
  rejects(edited(b, { graph: (g) => g.nodes.push({ op: "flatten" }) }), /last node must be the logits layer/);
  rejects(edited(b, { graph: (g) => g.nodes.shift() }), /nodes\[0\] must be the input node|only nodes\[0\] may be the input|must be the input/);
});

test("quantization parameters: NaN, infinite, negative or non-integer values", () => {
  const b = base();
  // JSON has no NaN or Infinity: JSON.stringify writes them as null, and a hand-edited file may hold strings
  rejects(edited(b, { graph: (g) => ((g.nodes[0] as { out: { scale: number } }).out.scale = NaN) }), /nodes\[0\].out.scale must be a finite positive number, got null/);
  rejects(edited(b, { graphText: JSON.stringify(b.parts.graph).replace(/"scale":[^,}]+/, '"scale":"NaN"') }), /scale must be a finite positive number, got "NaN"/);
  rejects(edited(b, { graph: (g) => (firstLayer(g).in = { scale: -1, zeroPoint: 3 }) }), /\.in\.scale must be a finite positive number, got -1/);
  rejects(edited(b, { graph: (g) => (firstLayer(g).in = { scale: 0.1, zeroPoint: 256 }) }), /\.in\.zeroPoint must be an integer in \[0, 255\], got 256/);
  rejects(edited(b, { graph: (g) => (firstLayer(g).in = { scale: 0.1, zeroPoint: 2.5 }) }), /zeroPoint must be an integer/);
  rejects(edited(b, { graph: (g) => ((g.nodes[0] as { std: number[] }).std[0] = 0) }), /std must be positive/);
  rejects(edited(b, { graph: (g) => (lastLayer(g).logitScale![0] = Infinity) }), /logitScale must be \d+ finite numbers/);
  rejects(edited(b, { graph: (g) => (firstLayer(g).requant = { outZp: firstLayer(g).out!.zeroPoint, lo: 200, hi: 100 }) }), /requant lo 200 is above hi 100/);
  rejects(edited(b, { graph: (g) => (firstLayer(g).requant = { outZp: 300, lo: 0, hi: 255 }) }), /requant outZp, lo, hi must be integers in \[0, 255\]/);
  rejects(edited(b, { tensors: (t) => ((t[REQUANT_TENSORS.shift]!.data as Uint8Array)[0] = 0) }), /requant.shift of channel 0 is 0, must be in \[1, 52\]/);
  rejects(edited(b, { tensors: (t) => ((t[REQUANT_TENSORS.shift]!.data as Uint8Array)[0] = 60) }), /requant.shift of channel 0 is 60/);
  // a quantization that does not match what the previous node produces would silently misread the data
  rejects(edited(b, { graph: (g) => { const l = firstLayer(g); l.in = { ...l.in, zeroPoint: (l.in.zeroPoint + 1) % 256 }; } }), /input quantization .* differs from its input node's output/);
});

test("tensors: missing, wrong dtype, wrong size, corrupt shift codes, accumulators beyond int32", () => {
  const b = base();
  const w = weightTensorName(firstLayer(b.parts.graph).name);
  rejects(edited(b, { tensors: (t) => delete t[w] }), new RegExp(`tensor "${w.replace(".", "\\.")}" of layer .* is missing`));
  rejects(edited(b, { tensors: (t) => delete t[REQUANT_TENSORS.mult] }), /tensor "requant.mult" is missing/);
  rejects(edited(b, { tensors: (t) => (t[w] = { dtype: "I8", shape: [t[w]!.shape[0]!], data: new Int8Array(t[w]!.data.length) }) }), /has dtype I8, expected U8/);
  rejects(edited(b, { tensors: (t) => (t[REQUANT_TENSORS.bias] = { dtype: "F32", shape: t[REQUANT_TENSORS.bias]!.shape, data: new Float32Array(t[REQUANT_TENSORS.bias]!.data.length) }) }), /"requant.bias" has dtype F32, expected I32/);
  rejects(edited(b, { tensors: (t) => (t[w] = { dtype: "U8", shape: [t[w]!.data.length - 1], data: (t[w]!.data as Uint8Array).slice(1) }) }), /has \d+ bytes, expected K·kh·kw·C\/groups/);
  rejects(edited(b, { tensors: (t) => { const d = t[REQUANT_TENSORS.bias]!.data as Int32Array; t[REQUANT_TENSORS.bias] = { dtype: "I32", shape: [d.length + 1], data: Int32Array.from([...d, 0]) }; } }), /"requant.bias" has \d+ entries, but the layers have \d+ output channels/);
  rejects(edited(b, { tensors: (t) => ((t[REQUANT_TENSORS.bias]!.data as Int32Array)[0] = 2 ** 31 - 1) }), /output channel 0 can reach \|accumulator·2\^biasBits \+ bias\| = \d+, beyond int32/);
  // fraction bits of the bias scale the accumulator: 255·taps·2^F + |bias| must stay within int32
  const first = firstLayer(b.parts.graph);
  const taps = b.parts.weights[first.name]!.length / first.geometry[3]!;
  const withBias = (bias: number) => edited(b, { graph: (g) => (firstLayer(g).biasBits = 12), tensors: (t) => ((t[REQUANT_TENSORS.bias]!.data as Int32Array)[first.channelOffset] = bias) });
  load(withBias(2 ** 31 - 1 - 255 * taps * 2 ** 12), { name: NAME }).dispose();
  rejects(withBias(2 ** 31 - 255 * taps * 2 ** 12), /output channel 0 can reach \|accumulator·2\^biasBits \+ bias\| = 2147483648, beyond int32/);
  rejects(edited(b, { graph: (g) => (firstLayer(g).biasBits = 17) }), /biasBits must be an integer from 0 to 16, got 17/);
  rejects(edited(b, { graph: (g) => ((firstLayer(g) as unknown as { biasBits: number }).biasBits = 1.5) }), /biasBits must be an integer from 0 to 16, got 1.5/);

  const s = base("shift", 3);
  const sw = weightTensorName(firstLayer(s.parts.graph).name);
  const fieldBits = firstLayer(s.parts.graph).shift!.fieldBits;
  // weight 0 := code 0 with the sign bit set: a pattern no packer writes
  rejects(edited(s, { tensors: (t) => { const d = t[sw]!.data as Uint8Array; for (let bit = 0; bit <= fieldBits; bit++) d[bit >> 3] &= ~(1 << (bit & 7)); d[fieldBits >> 3] |= 1 << (fieldBits & 7); } }), /zero with the sign bit set/);
  rejects(edited(s, { graph: (g) => (firstLayer(g).shift!.fieldBits = 9) }), /shift.fieldBits must be 1…5, got 9/);
  rejects(edited(s, { graph: (g) => delete firstLayer(g).shift }), /a shift layer needs shift: \{ fieldBits, base \}/);
  rejects(edited(s, { graph: (g) => (firstLayer(g).weightBits = 4) }), /weightBits is for adder and multiply layers/);

  // packed B-bit weights: the declared width must be 2–7 and the tensor exactly ⌈n·B/8⌉ bytes
  // (nonzero padding bits: test/deploy-pack-bits.test.ts)
  rejects(edited(b, { graph: (g) => (firstLayer(g).weightBits = 8) }), /weightBits must be an integer from 2 to 7, got 8/);
  rejects(edited(b, { graph: (g) => (firstLayer(g).weightBits = 4) }), /weights of 4 bits pack into \d+/);
});

test("geometry: inconsistent from node to node, impossible, or not ending in one logits vector", () => {
  const b = base();
  rejects(edited(b, { graph: (g) => (firstLayer(g).geometry[0] += 1) }), /expects a \d+×\d+×\d+ \(C×H×W\) input, but its input node produces/);
  rejects(edited(b, { graph: (g) => (firstLayer(g).geometry[4] = 99) }), /kernel does not fit the/);
  rejects(edited(b, { graph: (g) => (firstLayer(g).geometry[12] = 7) }), /do not split into 7 groups/);
  rejects(edited(b, { graph: (g) => (firstLayer(g).geometry = [1, 2, 3] as never) }), /geometry must be 6 to 13 non-negative integers/);
  rejects(edited(b, { graph: (g) => (g.classes += 1) }), /graph.classes is \d+ but the logits layer "logits" has \d+ outputs/);
  rejects(edited(b, { graph: (g) => (lastLayer(g).channelOffset += 1) }), /channelOffset is \d+, expected \d+/);
  rejects(edited(b, { graph: (g) => g.nodes.splice(1, 0, { op: "maxpool", kh: 50, kw: 50, stride: 1 }) }), /max pool does not fit/);
  rejects(edited(b, { graph: (g) => (firstLayer(g).kind = "xor" as never) }), /kind must be "mul", "adder" or "shift", got "xor"/);
});

test("checksums: a flipped byte anywhere in the tensor data is refused, naming the tensor", () => {
  const { bytes } = base("shift", 5);
  const header = decodeSafetensorsHeader(bytes, NAME);
  let checked = 0;
  for (const [name, entry] of Object.entries(header.tensors)) {
    const [begin, end] = entry.data_offsets;
    for (let at = header.dataStart + begin; at < header.dataStart + end; at++) {
      const damaged = bytes.slice();
      damaged[at]! ^= 1 << (at % 8);
      rejects(damaged, new RegExp(`^${NAME}: tensor ${JSON.stringify(name).replace(".", "\\.")} is damaged: its CRC-32 is [0-9a-f]{8}, the bundle records [0-9a-f]{8}$`));
      checked++;
    }
  }
  assert.equal(checked, bytes.length - header.dataStart, "every data byte belongs to a checked tensor");
});

test("checksums: the graph and the source are covered; a missing or malformed record is refused", () => {
  const b = base();
  const tensors = tensorsOf(b.parts);
  const graph = JSON.stringify(b.parts.graph);
  const sealed = decodeSafetensorsHeader(sealBundle({ graph, source: '{"model":"a"}' }, tensors), NAME).metadata;
  const withMeta = (meta: Record<string, string>) => encodeSafetensors(tensors, { ...sealed, ...meta });
  // another valid graph (the input's mean nudged) and another valid source under the original checksums
  const nudged = graph.replace(/"mean":\[(\d\.\d+)/, (_, v: string) => `"mean":[${Number(v) * 1.001}`);
  assert.notEqual(nudged, graph);
  rejects(withMeta({ graph: nudged }), /the graph metadata is damaged: its CRC-32 is [0-9a-f]{8}, the bundle records/);
  rejects(withMeta({ source: '{"model":"b"}' }), /the source metadata is damaged/);
  const { crc32: _, ...unsealed } = sealed;
  rejects(encodeSafetensors(tensors, unsealed), /its metadata has no "crc32" checksums/);
  rejects(withMeta({ crc32: sealed.crc32!.slice(8) }), /the "crc32" metadata must be \d+ CRC-32s \(\d+ lowercase hex digits: graph, source, \d+ tensors\)/);
  rejects(withMeta({ crc32: `G${sealed.crc32!.slice(1)}` }), /lowercase hex digits/);
  load(withMeta({}), { name: NAME }).dispose();
});

test("truncated bundles and oversized headers", () => {
  const bytes = edited(base(), {});
  const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const cuts = [0, 5, 8, 20, headerEnd - 1, headerEnd, headerEnd + 3, bytes.length - 1];
  for (const cut of cuts) {
    rejects(bytes.subarray(0, cut), /too short|larger than the file|out of range|belong to no tensor|not valid|missing/);
  }
  rejects(bytes.subarray(0, 5), /too short for a safetensors file \(5 bytes/);
  rejects(bytes.subarray(0, bytes.length - 1), /data_offsets .* out of range/);
  const big = bytes.slice();
  new DataView(big.buffer).setBigUint64(0, BigInt(bytes.length), true);
  rejects(big, /header length \d+ is larger than the file/);
  new DataView(big.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
  rejects(big, new RegExp(`header length ${MAX_HEADER_BYTES + 1} exceeds the ${MAX_HEADER_BYTES}-byte limit`));
  new DataView(big.buffer).setBigUint64(0, 2n ** 63n, true);
  rejects(big, /exceeds the \d+-byte limit/);
  const garbage = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 255);
  new DataView(garbage.buffer).setBigUint64(0, 40n, true);
  rejects(garbage, /not valid UTF-8|not a JSON object|not valid JSON/);
});

test("hostile JSON in the metadata: duplicate keys, deep nesting, null nodes, wrong types, huge names", () => {
  const b = base();
  const text = JSON.stringify(b.parts.graph);
  const both = rejects;
  both(edited(b, { graphText: text.replace(/}$/, `,"classes":${b.parts.graph.classes}}`) }), /the graph metadata is not valid JSON \(duplicate key "classes"\)/);
  both(edited(b, { graphText: text.replace('"op":"input"', '"op":"input","op":"input"') }), /the graph metadata is not valid JSON \(duplicate key "op" at nodes\[0\]\)/);
  both(edited(b, { meta: { source: '{"spec":{"model":"a","model":"b"}}' } }), /the source metadata is not valid JSON \(duplicate key "model" at spec\)/);
  const deep = 100_000;
  const start = performance.now();
  both(edited(b, { graphText: `{"nodes":${"[".repeat(deep)}${"]".repeat(deep)}}` }), /the graph metadata is not valid JSON \(nesting deeper than 64 levels/);
  both(edited(b, { meta: { source: `{"a":`.repeat(deep) } }), /the source metadata is not valid JSON \(nesting deeper than 64 levels/);
  assert.ok(performance.now() - start < 1000, "refused quickly");
  rejects(edited(b, { graph: (g) => ((g as { classes: unknown }).classes = JSON.parse("[".repeat(60) + "]".repeat(60))) }), /graph.classes must be a positive integer, got \[\[\[/);

  rejects(edited(b, { graph: (g) => ((g.nodes as unknown[])[0] = null) }), /graph.nodes\[0\] must be the input node, found null/);
  rejects(edited(b, { graph: (g) => ((g.nodes as unknown[])[2] = 7) }), /graph.nodes\[2\] is not an object/);
  rejects(edited(b, { graph: (g) => ((g.nodes[0] as { shape: unknown }).shape = 0) }), /graph.nodes\[0\].shape must be \[C, H, W\] of positive integers, got 0/);
  rejects(edited(b, { graph: (g) => ((firstLayer(g) as { name: unknown }).name = ["0"]) }), /\.name must be a non-empty string, got \["0"\]/);
  rejects(edited(b, { graph: (g) => (firstLayer(g).geometry = Array(100_000).fill(1) as never) }), /geometry must be 6 to 13 non-negative integers .*, got \[1,1,1,/);

  // a layer name is shown quoted and cut short: a name can hold anything
  const name = `evil\n${"x".repeat(10_000)}`;
  const renamed = edited(b, { graph: (g) => (firstLayer(g).name = name) });
  rejects(renamed, /tensor "evil\\nxxx.*…" of layer "evil\\nxxx.*…" \(graph.nodes\[\d+\]\) is missing/);
});

test("readBundle: provenance that is not an object reads as {}; its errors are BundleErrors", () => {
  const b = base();
  for (const source of ["null", "[1, 2]", '"text"', "3"]) assert.deepEqual(readBundle(edited(b, { meta: { source } }), NAME).source, {});
  assert.deepEqual(readBundle(edited(b, { meta: { source: '{"spec":{"model":"tiny"}}' } }), NAME).source, { spec: { model: "tiny" } });
  assert.equal(new BundleError("x").name, "BundleError");
});

test("load: wrong argument types and options", () => {
  const bytes = edited(base(), {});
  assert.throws(() => load("model.safetensors" as never, { name: NAME }), /models\/tiny.mulfree.safetensors: bundle bytes must be a Uint8Array, got string/);
  assert.throws(() => load(bytes, { backend: "gpu" as never }), /backend must be "wasm" or "reference", got "gpu"/);
  assert.throws(() => load(bytes, { threads: 0 }), /threads must be a positive integer, got 0/);
  load(bytes.slice().buffer, { name: NAME }).dispose(); // an ArrayBuffer (as from fetch) is fine
});

test("predict: wrong input types, sizes and batch counts", () => {
  const b = base();
  const m = load(b.bytes, { name: NAME });
  const size = b.shape[0] * b.shape[1] * b.shape[2];
  const shape = b.shape.join("×");
  const pixels = randomPixels(rng(2), 2, b.shape);
  const bad = (input: unknown, n: number | undefined, pattern: RegExp, type: ErrorConstructor) => {
    assert.throws(() => m.predict(input as Uint8Array, n), (e: Error) => {
      assert.ok(e instanceof type, `${e.name}: ${e.message}`);
      assert.ok(e.message.startsWith(`${NAME}: predict: `), e.message);
      assert.match(e.message, pattern);
      return true;
    });
  };
  bad(Array.from(pixels), undefined, /input must be a Float32Array .* got an Array/, TypeError);
  bad(new Float64Array(size), undefined, /got Float64Array/, TypeError);
  bad(new Int8Array(size), undefined, /got Int8Array/, TypeError);
  bad(null, undefined, /got null/, TypeError);
  bad(pixels.subarray(0, size + 1), undefined, new RegExp(`input has ${size + 1} values, not a whole number of ${shape} \\(C×H×W\\) images of ${size} values`), RangeError);
  bad(new Uint8Array(0), undefined, /input has 0 values/, RangeError);
  bad(pixels, 3, new RegExp(`input has ${2 * size} values, but 3 images of ${shape} \\(C×H×W\\) need ${3 * size}`), RangeError);
  bad(pixels, 0, /n must be a positive integer, got 0/, RangeError);
  bad(pixels, 1.5, /n must be a positive integer, got 1.5/, RangeError);
  // and the model still works afterwards
  assert.equal(m.predict(pixels, 2).classes.length, 2);
  m.dispose();
});

// ---- the command line -------------------------------------------------------------------------

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, "../src/cli/main.js");

test("mulfree run: a bad bundle is one line on stderr naming the file, exit 1", () => {
  const dir = mkdtempSync(join(tmpdir(), "mulfree-run-"));
  try {
    const bytes = edited(base(), {});
    const file = join(dir, "cut.mulfree.safetensors");
    writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    const r = spawnSync(process.execPath, [cli, "run", file, "--test-limit", "10"], { encoding: "utf8" });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^mulfree: error: ${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: .*out of range`));
    assert.equal(r.stderr.trim().split("\n").length, 1);
    const missing = spawnSync(process.execPath, [cli, "run", join(dir, "nope.safetensors")], { encoding: "utf8" });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope.safetensors/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("mulfree run: accuracy of a bundle on MNIST (--json), and a clear error for a bundle of another input shape", () => {
  const dir = mkdtempSync(join(tmpdir(), "mulfree-run-"));
  try {
    const mnistLike = randomBundle(rng(21), "adder", { shape: [1, 28, 28], classes: 10 });
    const file = join(dir, "mnist.mulfree.safetensors");
    writeFileSync(file, mnistLike.bytes);
    const r = spawnSync(process.execPath, [cli, "run", file, "--test-limit", "40", "--batch", "16", "--threads", "1", "--json"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { total: number; correct: number; testAccuracy: number; batch: number; backend: string };
    assert.equal(out.total, 40);
    assert.equal(out.batch, 16);
    assert.equal(out.backend, "wasm");
    assert.equal(out.testAccuracy, out.correct / 40);
    const ref = spawnSync(process.execPath, [cli, "run", file, "--test-limit", "40", "--backend", "reference", "--json"], { encoding: "utf8" });
    assert.equal(ref.status, 0, ref.stderr);
    assert.equal((JSON.parse(ref.stdout.trim().split("\n").pop()!) as { correct: number }).correct, out.correct, "both backends classify alike");

    const small = join(dir, "small.mulfree.safetensors");
    writeFileSync(small, randomBundle(rng(22), "mul", { shape: [1, 8, 8] }).bytes);
    const bad = spawnSync(process.execPath, [cli, "run", small, "--test-limit", "5"], { encoding: "utf8" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /small.mulfree.safetensors takes 1×8×8 images, mnist test data has 1×28×28/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// keep the helper honest: an edit that changes nothing must still load
test("encodeParts round-trips through the compact stored graph", () => {
  const b = base("shift", 4);
  load(encodeParts(b.parts)).dispose();
});
