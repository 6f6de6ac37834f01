// Every file reader meets bad bytes cleanly. Each reader starts from valid files built here and
// reads thousands of damaged copies: cut short, bytes flipped, runs of bytes inserted or deleted,
// and (for the safetensors-based formats) edits to the JSON header and to the JSON stored in its
// metadata strings: wrong types, nulls, huge numbers, deep nesting, duplicate keys, renamed or
// removed fields, garbage text. The property: the reader returns, or throws its own error class
// with a one-line message; never a TypeError, RangeError or stack overflow; and quickly.
// A new reader (a PyTorch .pth reader, say) is one more entry in READERS.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { CIFAR_RECORD, cifarFromBytes, parseCifar, syntheticCifar } from "../src/data/cifar.js";
import { DataError } from "../src/data/errors.js";
import { encodeIdx, parseIdx } from "../src/data/idx.js";
import { mnistFromIdx } from "../src/data/mnist.js";
import { BundleError } from "../src/deploy/run/bundle.js";
import { readBundle } from "../src/deploy/run/decode.js";
import { CHECKSUM_KEY, checksumRecord } from "../src/deploy/run/checksum.js";
import { encodeBundle } from "../src/deploy/run/encode.js";
import { exportModel } from "../src/deploy/export/export_model.js";
import { IoError } from "../src/io/errors.js";
import { defineEntry } from "../src/io/json.js";
import { decodeSafetensors, encodeSafetensors } from "../src/io/safetensors.js";
import { readTorchStateDict } from "../src/io/torch_state_dict.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { createModel, resolveSpec } from "../src/models/zoo.js";
import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from "../src/train/checkpoint.js";
import { MEAN, SHAPE, STD, settle, tinyChain, tinyDepthwise, tinyImages, type TinyKind } from "./deploy-tiny-models.js";
import { fixture } from "./torch-files.js";

initRuntime({ threads: 1 });

// A fixed seed so failures reproduce; FUZZ_SEED and FUZZ_SCALE (a run multiplier) explore further.
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
/** A case slower than this fails: a reader must refuse, not grind through, a hostile file. */
const MAX_CASE_MS = 2000;
/** Messages quote only bounded excerpts of the input, so they stay short whatever the file holds. */
const MAX_MESSAGE = 320;

type ErrorClass = abstract new (...args: never[]) => Error;

/** A file reader under test. */
interface Reader {
  name: string;
  /** Valid files to damage. */
  seeds: () => Uint8Array[];
  /** Read one file; what it returns is not looked at. */
  read: (bytes: Uint8Array) => unknown;
  /** The error classes it documents: anything else it throws is a bug. */
  errors: ErrorClass[];
  /** Its files are safetensors, so header edits apply. */
  safetensors: boolean;
  /** A record length: inserted and deleted runs are sometimes whole records. */
  record?: number;
  /** The longest message it may throw (default MAX_MESSAGE). */
  maxMessage?: number;
  runs: number;
}

// ---- the valid files ------------------------------------------------------------------------------

function safetensorsSeeds(): Uint8Array[] {
  const spec = JSON.stringify({ model: "lenet5", op: "adder", opOptions: { eta: 0.1, grad: ["sign", { deep: [1, 2] }] } });
  return [
    encodeSafetensors(
      {
        "conv.weight": { dtype: "F32", shape: [2, 1, 2, 2], data: Float32Array.from({ length: 8 }, (_, i) => i - 3.5) },
        "fc.bias": { dtype: "F16", shape: [3], data: Uint16Array.from([0x3c00, 0x8000, 0x7bff]) },
        steps: { dtype: "I64", shape: [1], data: BigInt64Array.from([42n]) },
        mask: { dtype: "BOOL", shape: [2, 2], data: Uint8Array.from([0, 1, 1, 0]) },
        empty: { dtype: "U8", shape: [0, 4], data: new Uint8Array(0) },
      },
      { format: "pt", spec, note: "not JSON" },
    ),
    encodeSafetensors({ x: { dtype: "I8", shape: [5], data: Int8Array.from([-128, -1, 0, 1, 127]) } }),
  ];
}

const IDX_LABELS = encodeIdx({ type: "u8", shape: [4], data: Uint8Array.from([0, 3, 1, 9]) });
const pixels = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 53) & 255);
const IDX_IMAGES = [
  encodeIdx({ type: "u8", shape: [4, 6, 4], data: pixels(96) }),
  encodeIdx({ type: "u8", shape: [4, 1, 4, 2], data: pixels(32) }),
];

/** An MNIST-style dataset from images and labels, with the default options, with padding, and unnormalised. */
function readMnist(images: Uint8Array, labels: Uint8Array): void {
  const idx = { images: parseIdx(images, "images.idx"), labels: parseIdx(labels, "labels.idx") };
  const names = { images: "images.idx", labels: "labels.idx" };
  mnistFromIdx(idx.images, idx.labels, {}, names);
  mnistFromIdx(idx.images, idx.labels, { padTo: 8, limit: 2 }, names);
  mnistFromIdx(idx.images, idx.labels, { normalize: false }, names);
}

function checkpointSeeds(): Uint8Array[] {
  const adder = resolveSpec({ model: "lenet5", op: "adder" });
  const shift = resolveSpec({ model: "lenet5", op: "shift-ps" });
  const record = (epoch: number) => ({ epoch, trainLoss: 0.5, testAccuracy: 0.9, lr: 0.1 });
  const training = {
    epoch: 2, step: 40, config: { lr: 0.1, schedule: { kind: "cosine", warmup: [1, 2] } },
    optimizer: { groups: [{ lr: 0.1, momentum: 0.9 }], scalars: [] }, scheduler: { last: 1 }, loader: { seed: 3, order: [2, 0, 1] }, history: [record(1), record(2)],
  };
  return [
    encodeCheckpoint(adder, createModel(adder), null),
    encodeCheckpoint(shift, createModel(shift), training, [{ momentum: new Float32Array(6), step: 3 }]),
  ];
}

/** Bundles exported from tiny float models of every layer kind (as `mulfree export` makes them). */
function bundleSeeds(): Uint8Array[] {
  const kinds: Array<[typeof tinyChain, TinyKind]> = [[tinyChain, "mul"], [tinyChain, "adder"], [tinyChain, "shift"], [tinyDepthwise, "shift"]];
  return kinds.map(([build, kind], i) => {
    const model = build(kind, i + 1);
    const calib = tinyImages(32, i + 10);
    settle(model, calib.normalized, 32, i + 20);
    const r = exportModel(model, calib.normalized, 32, SHAPE, { mean: MEAN, std: STD });
    return encodeBundle(r.graph, r.tensors, { spec: { model: "tiny", op: kind }, calibration: { images: 32, seed: [i, 10] } });
  });
}

/** The file with its "crc32" metadata recomputed, when it still decodes as safetensors (else as it is). */
function resealed(bytes: Uint8Array): Uint8Array {
  let file;
  try {
    file = decodeSafetensors(bytes);
  } catch {
    return bytes;
  }
  const data: Record<string, Uint8Array> = {};
  for (const [k, t] of Object.entries(file.tensors)) defineEntry(data, k, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  const { graph = "", source = "" } = file.metadata;
  return encodeSafetensors(file.tensors, { ...file.metadata, [CHECKSUM_KEY]: checksumRecord({ graph, source, tensors: data }) });
}

// ---- the readers ------------------------------------------------------------------------------------

const READERS: Reader[] = [
  { name: "decodeSafetensors", seeds: safetensorsSeeds, read: (b) => decodeSafetensors(b, "x.safetensors"), errors: [IoError], safetensors: true, runs: 800 },
  { name: "parseIdx + mnistFromIdx (images)", seeds: () => IDX_IMAGES, read: (b) => readMnist(b, IDX_LABELS), errors: [DataError], safetensors: false, runs: 1000 },
  { name: "parseIdx + mnistFromIdx (labels)", seeds: () => [IDX_LABELS], read: (b) => readMnist(IDX_IMAGES[0]!, b), errors: [DataError], safetensors: false, runs: 500 },
  {
    name: "parseCifar + cifarFromBytes", seeds: () => [syntheticCifar(3, 1)], errors: [DataError], safetensors: false, record: CIFAR_RECORD, runs: 1000,
    read: (b) => {
      parseCifar(b, "data_batch_1.bin");
      return cifarFromBytes([{ bytes: b, name: "data_batch_1.bin" }, { bytes: b, name: "copy.bin" }], { limit: 2 });
    },
  },
  // CheckpointError for what it checks itself; the safetensors layer's IoError passes through
  { name: "decodeCheckpoint", seeds: checkpointSeeds, read: (b) => decodeCheckpoint(b, "ckpt.safetensors"), errors: [CheckpointError, IoError], safetensors: true, runs: 600 },
  // the one bundle reader: damaged files as they are (the checksums catch most damage) and with the
  // checksums recomputed after the damage, so every check behind them meets the damage too
  { name: "readBundle", seeds: bundleSeeds, read: (b) => readBundle(b, "m.mulfree.safetensors"), errors: [BundleError], safetensors: true, runs: 2000 },
  { name: "readBundle, checksums recomputed", seeds: bundleSeeds, read: (b) => readBundle(resealed(b), "m.mulfree.safetensors"), errors: [BundleError], safetensors: true, runs: 1000 },
  // PyTorch files made with PyTorch: both containers (the zip's CRCs catch most damage to its
  // entries, so the legacy files are where damaged pickles reach the interpreter)
  {
    name: "readTorchStateDict (.pth)", errors: [IoError], safetensors: false, runs: 1000,
    seeds: () => ["tensors_legacy.pth", "conv_lenet5.pth", "tensors_zip.pth"].map(fixture),
    read: (b) => readTorchStateDict(b, "model.pth"),
  },
];

// ---- byte edits ---------------------------------------------------------------------------------------

type ByteEdit =
  | { op: "truncate"; at: number; near: boolean }
  | { op: "flip"; at: number; near: boolean; mask: number }
  | { op: "insert"; at: number; near: boolean; bytes: Uint8Array }
  | { op: "delete"; at: number; near: boolean; length: number };

/** Edits at `at` (modulo the length); `near` ones fall in the leading structure (hotBytes). */
function byteEdits(record?: number): fc.Arbitrary<ByteEdit> {
  const position = { at: fc.nat(), near: fc.boolean() };
  const length = record ? fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 3 }).map((k) => k * record)) : fc.integer({ min: 1, max: 5000 });
  return fc.oneof(
    fc.record({ op: fc.constant("truncate" as const), ...position }),
    { weight: 2, arbitrary: fc.record({ op: fc.constant("flip" as const), ...position, mask: fc.integer({ min: 1, max: 255 }) }) },
    fc.record({
      op: fc.constant("insert" as const), ...position,
      bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.tuple(fc.integer({ min: 0, max: 255 }), length).map(([v, n]) => new Uint8Array(n).fill(v))),
    }),
    fc.record({ op: fc.constant("delete" as const), ...position, length }),
  );
}

/** Where a safetensors header ends (8 + its length prefix), if the prefix fits the file. */
function headerEnd(bytes: Uint8Array): number | undefined {
  if (bytes.length < 8) return undefined;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return n <= BigInt(bytes.length - 8) ? 8 + Number(n) : undefined;
}

/** How many leading bytes hold the structure: a safetensors header, or else the first 64. */
const hotBytes = (bytes: Uint8Array) => headerEnd(bytes) ?? Math.min(64, bytes.length);

function join(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
  return out;
}

function applyByteEdit(bytes: Uint8Array, e: ByteEdit): Uint8Array {
  const at = e.at % ((e.near ? hotBytes(bytes) : bytes.length) + 1);
  switch (e.op) {
    case "truncate": return bytes.slice(0, at);
    case "flip": {
      const out = bytes.slice();
      if (at < out.length) out[at]! ^= e.mask;
      return out;
    }
    case "insert": return resized(bytes, at, join(bytes.subarray(0, at), e.bytes, bytes.subarray(at)), e.near);
    case "delete": return resized(bytes, at, join(bytes.subarray(0, at), bytes.subarray(at + e.length)), e.near);
  }
}

/**
 * After a `near` insertion or deletion inside a safetensors header, the length prefix follows
 * it (so the edit reaches the JSON reader instead of failing the length check); `out` otherwise.
 */
function resized(before: Uint8Array, at: number, out: Uint8Array, near: boolean): Uint8Array {
  const end = headerEnd(before);
  if (!near || end === undefined || at < 8 || at > end) return out;
  const newEnd = Math.max(8, Math.min(out.length, end + out.length - before.length));
  new DataView(out.buffer, out.byteOffset, 8).setBigUint64(0, BigInt(newEnd - 8), true);
  return out;
}

// ---- header edits ---------------------------------------------------------------------------------------

/** JSON text written as is: what JSON.stringify cannot write (1e999, deep nesting, broken JSON). */
class Raw {
  constructor(readonly text: string) {}
}
/** A metadata string holding JSON, edited as a tree and written back as a string. */
class Embedded {
  constructor(public value: unknown) {}
}
/** Extra [key, value] pairs an object writes after its own: duplicate keys. */
const DUPLICATES = Symbol("duplicates");
type Tree = Record<string | symbol, unknown> | unknown[];

type Change =
  | { op: "set"; value: unknown }
  | { op: "raw"; text: string }
  | { op: "nest"; depth: number; brackets: [string, string] }
  | { op: "remove" }
  | { op: "duplicate"; value: unknown }
  | { op: "rename"; to: string }
  | { op: "nudge"; by: number; scale: boolean }
  | { op: "cut"; at: number }
  | { op: "retext"; text: string; everywhere: boolean };

interface HeaderEdit {
  op: "header";
  /** Which value of the header (any depth, metadata JSON included), modulo their number. */
  target: number;
  change: Change;
}

const oddValue = fc.oneof(
  fc.constantFrom(
    null, true, 0, -1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, -1e308, "", "F32", "U8", "I64", "BOOL", "F16",
    "input", "layer", "shift", "adder", "maxpool", "mulfree-int8/1", "mulfree-checkpoint/1", [], {}, [0], [-1, 2], [1e15, 1e15], [2 ** 31, 0], "x".repeat(300), `line\nbreak${"x".repeat(1000)}`,
  ),
  fc.jsonValue({ maxDepth: 3 }),
);
const change: fc.Arbitrary<Change> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("set" as const), value: oddValue }) },
  fc.record({ op: fc.constant("raw" as const), text: fc.constantFrom("1e999", "-1e999", "-0", "123456789012345678901234567890", "1e-400", "9007199254740993", "[1,", '"\\ud800"') }),
  fc.record({
    op: fc.constant("nest" as const), depth: fc.constantFrom(63, 64, 65, 1000, 100_000),
    brackets: fc.constantFrom<[string, string]>(["[", "]"], ['{"a":', "}"], ['[{"nodes":', "}]"]),
  }),
  fc.record({ op: fc.constant("remove" as const) }),
  fc.record({ op: fc.constant("duplicate" as const), value: oddValue }),
  fc.record({ op: fc.constant("rename" as const), to: fc.oneof(fc.constantFrom("__proto__", "constructor", "toString", "__metadata__", "", "a\nb", "format", "graph", "source", "spec", "dtype", "shape", "nodes", "op"), fc.string()) }),
  { weight: 2, arbitrary: fc.record({ op: fc.constant("nudge" as const), by: fc.integer({ min: -3, max: 3 }), scale: fc.boolean() }) },
  fc.record({ op: fc.constant("cut" as const), at: fc.nat() }),
  { weight: 2, arbitrary: fc.record({ op: fc.constant("retext" as const), text: fc.constantFrom(`line\nbreak${"x".repeat(1000)}`, "y".repeat(5000), "\u2028", 'quo"te\\', "__proto__", "", " ", "é😀\ud800"), everywhere: fc.boolean() }) },
);
const headerEdit: fc.Arbitrary<HeaderEdit> = fc.record({ op: fc.constant("header" as const), target: fc.nat(), change });

const isTree = (v: unknown): v is Tree => typeof v === "object" && v !== null && !(v instanceof Raw) && !(v instanceof Embedded);

/** The header as a tree (metadata strings that hold JSON as Embedded trees) and the data after it. */
function splitSafetensors(bytes: Uint8Array): { header: Tree; data: Uint8Array } | undefined {
  const end = headerEnd(bytes);
  if (end === undefined) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, end)));
  } catch {
    return undefined;
  }
  if (!isTree(header) || Array.isArray(header)) return undefined;
  const meta = header.__metadata__;
  if (isTree(meta) && !Array.isArray(meta)) {
    for (const [k, v] of Object.entries(meta)) {
      try {
        const inner: unknown = typeof v === "string" ? JSON.parse(v) : undefined;
        if (isTree(inner)) defineEntry(meta, k, new Embedded(inner));
      } catch { /* a plain string */ }
    }
  }
  return { header, data: bytes.slice(end) };
}

/** Trees deeper than this (a header an earlier edit nested deep) are left alone: write() recurses. */
const EDITABLE_DEPTH = 100;

/**
 * Every non-empty object and array of the tree, Embedded trees included (so every one is as
 * likely to be edited, however many values it holds); undefined if it nests too deep.
 */
function holders(root: Tree): Tree[] | undefined {
  const out: Tree[] = [];
  const pending: Array<[unknown, number]> = [[root, 0]];
  while (pending.length > 0) {
    const [v, depth] = pending.pop()!;
    const node = v instanceof Embedded ? v.value : v;
    if (!isTree(node)) continue;
    if (depth > EDITABLE_DEPTH) return undefined;
    const keys = Object.keys(node);
    if (keys.length > 0) out.push(node);
    for (const key of keys) pending.push([(node as Record<string, unknown>)[key], depth + 1]);
  }
  return out;
}

function write(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Embedded) return JSON.stringify(write(v.value));
  if (Array.isArray(v)) return `[${v.map(write).join(",")}]`;
  if (isTree(v)) {
    const pairs = [...Object.entries(v), ...((v as Record<symbol, Array<[string, unknown]> | undefined>)[DUPLICATES] ?? [])];
    return `{${pairs.map(([k, x]) => `${JSON.stringify(k)}:${write(x)}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/** Every use of the string `from` in the tree becomes `to`: values, keys, and key prefixes ("<layer>.weight"). */
function retext(root: Tree, from: string, to: string): void {
  for (const holder of holders(root) ?? []) {
    for (const key of Object.keys(holder)) {
      const h = holder as Record<string, unknown>;
      if (h[key] === from) h[key] = to;
      if (Array.isArray(holder) || (key !== from && !key.startsWith(`${from}.`))) continue;
      const value = h[key];
      delete h[key];
      defineEntry(holder, to + key.slice(from.length), value);
    }
  }
}

function change1(root: Tree, holder: Tree, key: string, c: Change): void {
  const value = (holder as Record<string, unknown>)[key];
  const put = (v: unknown) => (Array.isArray(holder) ? (holder[Number(key)] = v) : defineEntry(holder, key, v));
  switch (c.op) {
    case "set": return void put(c.value);
    case "raw": return void put(new Raw(c.text));
    case "nest": return void put(new Raw(`${c.brackets[0].repeat(c.depth)}0${c.brackets[1].repeat(c.depth)}`));
    case "remove": return void (Array.isArray(holder) ? holder.splice(Number(key), 1) : delete holder[key]);
    case "duplicate": {
      if (Array.isArray(holder)) return void holder.push(value);
      const extra = ((holder[DUPLICATES] as Array<[string, unknown]> | undefined) ??= []);
      return void extra.push([key, c.value]);
    }
    case "rename": {
      if (Array.isArray(holder)) return void put(c.to);
      delete holder[key];
      return defineEntry(holder, c.to, value);
    }
    case "nudge": {
      const n = typeof value === "number" ? value : 0;
      return void put(c.scale ? n * 2 ** c.by : n + c.by);
    }
    case "cut": {
      const text = typeof value === "string" ? value : value instanceof Embedded ? write(value.value) : write(value);
      const cut = text.slice(0, c.at % (text.length + 1));
      return void put(typeof value === "string" || value instanceof Embedded ? cut : new Raw(cut));
    }
    case "retext": return typeof value === "string" && c.everywhere ? retext(root, value, c.text) : void put(c.text);
  }
}

/** A value of a random container (each container as likely, however many values it holds). */
function pick(all: Tree[], target: number): { holder: Tree; key: string } {
  const holder = all[target % all.length]!;
  const keys = Object.keys(holder);
  return { holder, key: keys[Math.floor(target / all.length) % keys.length]! };
}

/** The file with one header value changed, the length prefix rewritten; unchanged if the header is not JSON. */
function applyHeaderEdit(bytes: Uint8Array, e: HeaderEdit): Uint8Array {
  const split = splitSafetensors(bytes);
  if (!split) return bytes;
  const all = holders(split.header);
  // names, kinds, dtypes are few among all the values, and retext is about them: it picks among strings
  const slots = all?.flatMap((holder) => Object.keys(holder).map((key) => ({ holder, key })));
  const strings = slots?.filter(({ holder, key }) => typeof (holder as Record<string, unknown>)[key] === "string");
  if (!all || all.length === 0 || !strings || (e.change.op === "retext" && strings.length === 0)) return bytes;
  const { holder, key } = e.change.op === "retext" ? strings[e.target % strings.length]! : pick(all, e.target);
  change1(split.header, holder, key, e.change);
  const text = new TextEncoder().encode(write(split.header));
  const out = new Uint8Array(8 + text.length + split.data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(split.data, 8 + text.length);
  return out;
}

// ---- the property ---------------------------------------------------------------------------------------

type Edit = ByteEdit | HeaderEdit;

function damage(seed: Uint8Array, edits: Edit[]): Uint8Array {
  return edits.reduce((bytes, e) => (e.op === "header" ? applyHeaderEdit(bytes, e) : applyByteEdit(bytes, e)), seed);
}

/** Read `bytes`; fail unless the reader returned or threw one of its own errors, in one line, in time. */
function readsCleanly(reader: Reader, bytes: Uint8Array): void {
  const start = performance.now();
  try {
    reader.read(bytes);
  } catch (e) {
    const err = e as Error;
    const what = `${err?.name}: ${String(err?.message).slice(0, 300)}`;
    assert.ok(reader.errors.some((E) => e instanceof E), `${reader.name} threw ${what}\n${err?.stack?.split("\n").slice(1, 4).join("\n")}`);
    assert.ok(!/[\n\r\u2028\u2029]/.test(err.message), `${reader.name}: the message is not one line: ${what}`);
    assert.ok(err.message.length <= (reader.maxMessage ?? MAX_MESSAGE), `${reader.name}: a ${err.message.length}-character message: ${what}`);
  }
  const ms = performance.now() - start;
  assert.ok(ms < MAX_CASE_MS, `${reader.name} took ${ms.toFixed(0)} ms`);
}

for (const reader of READERS) {
  const runs = Math.round(reader.runs * SCALE);
  test(`fuzz: ${reader.name} returns or throws its own one-line error on ${runs} damaged files`, () => {
    const seeds = reader.seeds();
    for (const s of seeds) reader.read(s); // the undamaged files are valid
    const bytes = byteEdits(reader.record);
    const edit: fc.Arbitrary<Edit> = reader.safetensors ? fc.oneof({ weight: 3, arbitrary: headerEdit }, { weight: 1, arbitrary: bytes }) : bytes;
    const cases = fc.tuple(fc.nat(seeds.length - 1), fc.array(edit, { minLength: 1, maxLength: 3 }));
    fc.assert(fc.property(cases, ([which, edits]) => readsCleanly(reader, damage(seeds[which]!, edits))), { numRuns: runs, seed: SEED, includeErrorInReport: true });
  });
}
