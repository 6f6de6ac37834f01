// The operation and energy counter: exact counts for LeNet-5 as CNN, AdderNet and DeepShift,
// BatchNorm and the steps around the model counted, totals = Σ rows, energy = counts × table,
// an integer graph counted node by node, and clear errors for files that are not models.
import { test } from "node:test";
import { expectCleanError, mulfree } from "./cli-helpers.js";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { energyOf } from "../src/analysis/energy.js";
import { countFloatOps } from "../src/analysis/ops.js";
import { countIntOps } from "../src/analysis/ops_int.js";
import type { LayerOps, OpsReport } from "../src/analysis/op_counts.js";
import { opsReport } from "../src/analysis/ops_file.js";
import type { Bundle } from "../src/deploy/run/bundle.js";
import { readBundle } from "../src/deploy/run/decode.js";
import { encodeBundle, sealBundle } from "../src/deploy/run/encode.js";
import { BUNDLE_FORMAT, type Geometry, type IntGraph, type LayerNode } from "../src/deploy/run/format.js";
import { exportModel } from "../src/deploy/export/export_model.js";
import { decodeSafetensors, encodeSafetensors, type TensorEntry } from "../src/io/safetensors.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { createModel, resolveSpec } from "../src/models/zoo.js";
import { manualSeed } from "../src/tensor/random.js";
import { encodeCheckpoint } from "../src/train/checkpoint.js";

initRuntime({ threads: 1 });

function floatReport(model: string, op: string, opOptions?: Record<string, unknown>): OpsReport {
  manualSeed(1);
  const spec = resolveSpec({ model, op, opOptions });
  return countFloatOps(createModel(spec), spec);
}

const row = (r: OpsReport, name: string): LayerOps => {
  const found = r.layers.find((l) => l.name === name);
  assert.ok(found, `row ${name} in ${r.layers.map((l) => l.name).join(", ")}`);
  return found;
};

/** Count of one (kind, type) pair in a row. */
const typed = (l: LayerOps, kind: string, type: string) => l.ops.filter((o) => o.kind === kind && o.type === type).reduce((a, o) => a + o.count, 0);

function assertTotalsAreSums(r: OpsReport): void {
  for (const k of ["mults", "adds", "shifts", "compares", "divExp", "weightBytes"] as const) {
    assert.equal(r.total[k], r.layers.reduce((a, l) => a + l[k], 0), `total ${k}`);
  }
  assert.ok(Math.abs(r.total.energyPJ - r.layers.reduce((a, l) => a + l.energyPJ, 0)) < 1e-6 * r.total.energyPJ);
  for (const l of r.layers) {
    const e = l.ops.reduce((a, o) => a + o.count * energyOf(o.kind, o.type).pj, 0);
    assert.ok(Math.abs(l.energyPJ - e) <= 1e-9 * Math.max(1, e), `${l.name}: energy = counts × table`);
  }
}

const LENET_MACS = { conv1: 117_600, conv2: 240_000, fc1: 48_000, fc2: 10_080, fc3: 840 };
const LENET_WEIGHTS = { conv1: 150, conv2: 2400, fc1: 48_000, fc2: 10_080, fc3: 840 };
const BN_VALUES = { bn1: 4704, bn2: 1600, bn3: 120, bn4: 84 };
const BN_CHANNELS = { bn1: 6, bn2: 16, bn3: 120, bn4: 84 };

test("LeNet-5 CNN: 416.5k MACs (conv1 117.6k, conv2 240k, FC 58.9k), BatchNorm and softmax counted", () => {
  const r = floatReport("lenet5", "conv");
  assert.equal(r.graph, "float");
  for (const [name, macs] of Object.entries(LENET_MACS)) {
    const l = row(r, name);
    assert.equal(l.mults, macs, `${name} mults`);
    assert.equal(typed(l, "mul", "fp32"), macs);
    assert.equal(l.adds, macs + (name === "fc3" ? 10 : 0), `${name} accumulations (+ fc3's bias)`);
    assert.equal(l.energyPJ, macs * 3.7 + l.adds * 0.9);
  }
  assert.equal(Object.values(LENET_MACS).reduce((a, b) => a + b), 416_520);
  assert.equal(LENET_MACS.fc1 + LENET_MACS.fc2 + LENET_MACS.fc3, 58_920);
  for (const [name, values] of Object.entries(BN_VALUES)) {
    const l = row(r, name), C = BN_CHANNELS[name as keyof typeof BN_CHANNELS];
    assert.equal(l.op, "batchnorm");
    assert.equal(l.mults, values, `${name}: one multiply per value`);
    assert.equal(l.adds, 2 * values + C, `${name}: x − mean, + β per value, var + ε per channel`);
    assert.equal(l.divExp, 2 * C, `${name}: √ and γ/√ per channel`);
    assert.equal(l.weightBytes, 4 * 4 * C, `${name}: γ, β, mean, var`);
  }
  assert.equal(row(r, "input").mults, 784);
  assert.equal(row(r, "relu").compares, 4704);
  assert.equal(row(r, "relu#4").compares, 84);
  assert.equal(row(r, "pool").compares, 6 * 14 * 14 * 3);
  assert.equal(row(r, "pool#2").compares, 16 * 5 * 5 * 3);
  const sm = row(r, "softmax");
  assert.deepEqual([sm.compares, sm.adds, sm.divExp], [9, 19, 20]);
  assert.equal(r.total.mults, 416_520 + 784 + 4704 + 1600 + 120 + 84);
  assert.equal(r.total.weightBytes, 4 * 62_384, "every float the model holds (62,384 of them)");
  assertTotalsAreSums(r);
});

test("LeNet-5 AdderNet: no multiplication in any weight layer, #Add = 2 × the CNN's #Mul (the paper's count)", () => {
  const cnn = floatReport("lenet5", "conv");
  const r = floatReport("lenet5", "adder");
  for (const [name, macs] of Object.entries(LENET_MACS)) {
    const l = row(r, name);
    assert.equal(l.op, "adder");
    assert.equal(l.mults, 0);
    const biases = l.weightBytes / 4 - LENET_WEIGHTS[name as keyof typeof LENET_WEIGHTS]; // bias parameters, if any
    assert.equal(l.adds, 2 * macs + biases, name);
    assert.equal(l.energyPJ, l.adds * 0.9);
  }
  // what is left: the input normalisation and BatchNorm
  assert.equal(r.total.mults, 784 + 4704 + 1600 + 120 + 84);
  assert.ok(r.total.energyPJ < cnn.total.energyPJ / 2);
  assertTotalsAreSums(r);
});

test("LeNet-5 DeepShift-PS: shifts and adds on 16.16 fixed point, float conversions counted", () => {
  const r = floatReport("lenet5", "shift-ps", { weightBits: 5 });
  const inputs = { conv1: 784, conv2: 6 * 14 * 14, fc1: 400, fc2: 120, fc3: 84 };
  const outputs = { conv1: 4704, conv2: 1600, fc1: 120, fc2: 84, fc3: 10 };
  for (const [name, macs] of Object.entries(LENET_MACS)) {
    const l = row(r, name);
    const k = name as keyof typeof inputs;
    assert.equal(l.op, "shift");
    assert.equal(l.mults, 0);
    assert.equal(typed(l, "shift", "int32"), macs);
    assert.equal(typed(l, "add", "int32"), macs + (name === "fc3" ? 10 : 0));
    assert.equal(typed(l, "shift", "fp32"), inputs[k] + outputs[k], "to and from fixed point");
    assert.equal(typed(l, "cmp", "fp32"), 2 * inputs[k], "fixed-point clamp");
    assert.equal(l.weightBytes, 4 * (LENET_WEIGHTS[k] + (name === "fc3" ? 10 : 0)), "one float per effective weight, not P and S");
  }
  assert.ok(r.assumptions.some((a) => a.startsWith("int32 shift")), "the shift energy is marked as an assumption");
  assertTotalsAreSums(r);
});

test("ResNet-20: residual adds found between module calls; first conv and classifier stay multiplicative", () => {
  const r = floatReport("resnet20", "adder");
  const adds = r.layers.filter((l) => l.op === "residual add");
  assert.equal(adds.length, 9);
  assert.deepEqual(adds.map((l) => l.adds), [...Array(3).fill(16 * 32 * 32), ...Array(3).fill(32 * 16 * 16), ...Array(3).fill(64 * 8 * 8)]);
  assert.equal(adds[0].name, "layer1.0.add");
  assert.equal(row(r, "conv1").op, "conv");
  assert.equal(row(r, "conv1").mults, 16 * 32 * 32 * 27);
  assert.equal(row(r, "fc").op, "conv");
  assert.equal(row(r, "layer1.0.conv1").op, "adder");
  assert.equal(row(r, "pool").mults, 64, "AvgPool(8): one multiply per channel");
  assertTotalsAreSums(r);
});

// ---- integer graph ----

const Q = { scale: 0.02, zeroPoint: 0 };

function layer(name: string, kind: LayerNode["kind"], geometry: Geometry, channelOffset: number, last = false): LayerNode {
  return {
    op: "layer", name, kind, geometry, in: Q, channelOffset,
    ...(kind === "shift" ? { shift: { fieldBits: 4, base: -7 } } : {}),
    ...(last ? { logitScale: Array(geometry[3]).fill(0.1) } : { requant: { outZp: 0, lo: 0, hi: 255 }, out: Q }),
  };
}

function lenetGraph(kind: LayerNode["kind"]): IntGraph {
  return {
    classes: 10,
    nodes: [
      { op: "input", shape: [1, 28, 28], mean: [0.1307], std: [0.3081], out: Q },
      layer("conv1", kind, [1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1], 0),
      { op: "maxpool", kh: 2, kw: 2, stride: 2 },
      layer("conv2", kind, [6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1], 6),
      { op: "maxpool", kh: 2, kw: 2, stride: 2 },
      { op: "flatten" },
      layer("fc1", kind, [400, 1, 1, 120, 1, 1, 1, 1, 0, 0, 1, 1, 1], 22),
      layer("fc2", kind, [120, 1, 1, 84, 1, 1, 1, 1, 0, 0, 1, 1, 1], 142),
      layer("fc3", kind, [84, 1, 1, 10, 1, 1, 1, 1, 0, 0, 1, 1, 1], 226, true),
    ],
  };
}

/** The LeNet-5 graph's tensors: zero weights (packed shift codes of 5 bits), requantization of 236 channels. */
function lenetTensors(kind: LayerNode["kind"]): Record<string, TensorEntry> {
  const t: Record<string, TensorEntry> = {};
  for (const [name, n] of Object.entries(LENET_WEIGHTS)) {
    const bytes = kind === "shift" ? Math.ceil((n * 5) / 8) : n;
    t[`${name}.weight`] = { dtype: "U8", shape: [bytes], data: new Uint8Array(bytes) };
  }
  t["requant.bias"] = { dtype: "I32", shape: [236], data: new Int32Array(236) };
  t["requant.mult"] = { dtype: "I16", shape: [236], data: new Int16Array(236) };
  t["requant.shift"] = { dtype: "U8", shape: [236], data: new Uint8Array(236).fill(1) };
  return t;
}

/** A LeNet-5 bundle of `kind` layers, through the one reader. */
function lenetBundle(kind: LayerNode["kind"], edit?: (g: IntGraph, t: Record<string, TensorEntry>) => void): Bundle {
  const graph = lenetGraph(kind), tensors = lenetTensors(kind);
  edit?.(graph, tensors);
  return readBundle(sealBundle({ graph: JSON.stringify(graph) }, tensors), "m.bundle");
}

test("integer graph of an int8 adder LeNet-5: SAD taps, requantization multiplies, exact bytes", () => {
  const bundle = lenetBundle("adder");
  const r = countIntOps(bundle, { model: "lenet5", op: "adder", fileBytes: 70_000 });
  assert.equal(r.graph, "integer");
  for (const [name, macs] of Object.entries(LENET_MACS)) {
    const l = row(r, name);
    assert.equal(l.mults, 0);
    assert.equal(typed(l, "add", "int8"), macs, `${name}: one u8 subtraction per tap`);
    assert.equal(typed(l, "add", "int32"), macs, `${name}: one i32 accumulation per tap`);
    assert.ok(Math.abs(l.energyPJ - macs * 0.13) < 1e-6 * macs, `${name}: 0.03 + 0.1 pJ per tap (int8 subtraction, int32 accumulation)`);
  }
  const requant = { conv1: 4704, conv2: 1600, fc1: 120, fc2: 84 };
  for (const [name, values] of Object.entries(requant)) {
    const l = row(r, `${name}.requant`);
    assert.equal(l.mults, values, `${name}: one i32 × i16 multiply per output value`);
    assert.equal(l.adds, 3 * values);
    assert.equal(l.shifts, values);
    assert.equal(l.compares, 2 * values);
  }
  assert.equal(row(r, "conv1.requant").weightBytes, 6 * 7, "bias i32 + mult i16 + shift u8 per channel");
  const logits = row(r, "fc3.logits");
  assert.equal(logits.mults, 10);
  assert.equal(logits.weightBytes, 10 * 7, "the logits layer's requant slots: bias, and mult and shift (for logitUnit)");
  assert.equal(row(r, "pool").compares, 1176 * 3);
  assert.equal(row(r, "pool#2").compares, 400 * 3);
  assert.equal(row(r, "input").mults, 784);
  const total = Object.values(bundle.tensorBytes).reduce((a, b) => a + b, 0);
  assert.equal(r.total.weightBytes, total, "every tensor byte is attributed");
  assert.equal(r.total.mults, 784 + 4704 + 1600 + 120 + 84 + 10);
  assertTotalsAreSums(r);
});

test("integer graph: multiply and shift layers", () => {
  const mul = countIntOps(lenetBundle("mul"));
  assert.equal(row(mul, "conv2").mults, 240_000);
  assert.equal(typed(row(mul, "conv2"), "mul", "int8"), 240_000);
  assert.equal(row(mul, "conv2").energyPJ, 240_000 * 0.2 + 240_000 * 0.1);
  const shift = countIntOps(lenetBundle("shift"));
  assert.equal(row(shift, "fc1").shifts, 48_000);
  assert.equal(row(shift, "fc1").mults, 0);
  assert.equal(row(shift, "fc1").weightBytes, 30_000);
  assertTotalsAreSums(shift);
});

test("integer graph: what the counter would trip on never reaches it (the one reader refuses it)", () => {
  assert.throws(() => lenetBundle("adder", (g) => ((g.nodes[3] as LayerNode).geometry = [6, 10, 10, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1])), /m\.bundle: layer "conv2" \(graph.nodes\[3\]\) expects a 6×10×10 \(C×H×W\) input, but its input node produces 6×14×14/);
  assert.throws(() => lenetBundle("adder", (g) => g.nodes.splice(2, 1, { op: "resize" } as never)), /graph.nodes\[2\].op "resize" is not one of/);
  assert.throws(() => lenetBundle("adder", (_, t) => delete t["fc2.weight"]), /tensor "fc2\.weight" of layer "fc2" .* is missing/);
  assert.throws(() => lenetBundle("adder", (_, t) => (t.extra = { dtype: "U8", shape: [12], data: new Uint8Array(12) })), /tensor "extra" belongs to no layer of the graph/);
});

test("integer graph of a ResNet-20: residual adds as in the float graph, with two multiplies per value", () => {
  manualSeed(4);
  const spec = resolveSpec({ model: "resnet20", op: "adder", inChannels: 1, inputSize: 8 });
  const model = createModel(spec);
  const n = 4, images = Float32Array.from({ length: n * 64 }, (_, i) => ((i * 7919) % 255) / 255);
  const r = exportModel(model, images, n, [1, 8, 8], { mean: [0.1307], std: [0.3081] });
  const int = countIntOps(readBundle(encodeBundle(r.graph, r.tensors, {})), { model: "resnet20", op: "adder" });
  const float = countFloatOps(model, spec);
  const adds = (rep: OpsReport) => rep.layers.filter((l) => l.op === "residual add");
  assert.deepEqual(adds(int).map((l) => l.name), adds(float).map((l) => l.name), "one integer add per float add, named by its block");
  assert.equal(adds(int).length, 9);
  adds(int).forEach((l, i) => {
    const values = adds(float)[i]!.adds;
    assert.equal(l.mults, 2 * values, `${l.name}: two multiplies per value`);
    assert.equal(typed(l, "mul", "int16"), 2 * values);
  });
  assertTotalsAreSums(int);
});

// ---- files ----

const dir = mkdtempSync(join(tmpdir(), "mulfree-ops-"));

/** A real bundle: a random-weight LeNet-5 exported by the deploy code, calibrated on noise. */
function exportedBundle(op: string): { bytes: Uint8Array; tensorBytes: number } {
  manualSeed(2);
  const spec = resolveSpec({ model: "lenet5", op });
  const model = createModel(spec);
  const n = 8, images = new Float32Array(n * 784);
  for (let i = 0; i < images.length; i++) images[i] = (i * 7919) % 255 / 255;
  const r = exportModel(model, images, n, [1, 28, 28], { mean: [0.1307], std: [0.3081] });
  const tensorBytes = Object.values(r.tensors).reduce((a, t) => a + t.data.byteLength, 0);
  return { bytes: encodeBundle(r.graph, r.tensors, { model: "lenet5", op }), tensorBytes };
}

test("opsReport tells checkpoints from bundles by their metadata", () => {
  manualSeed(1);
  const spec = resolveSpec({ model: "lenet5", op: "adder" });
  const ckpt = join(dir, "ckpt.safetensors");
  writeFileSync(ckpt, encodeCheckpoint(spec, createModel(spec), null));
  const f = opsReport(ckpt);
  assert.equal(f.graph, "float");
  assert.equal(f.op, "adder");
  for (const op of ["conv", "adder", "shift-ps"]) {
    const bundle = join(dir, `${op}.mulfree.safetensors`);
    const { bytes, tensorBytes } = exportedBundle(op);
    writeFileSync(bundle, bytes);
    const i = opsReport(bundle);
    assert.equal(i.graph, "integer");
    assert.equal(i.model, "lenet5");
    assert.equal(i.op, op);
    assert.equal(i.total.weightBytes, tensorBytes, "every tensor byte, attributed to the layers");
    assert.equal(i.layers.find((l) => l.name === "other tensors"), undefined);
    assert.ok(i.notes.some((n) => n.includes(`${bytes.length} bytes`)));
    for (const [name, macs] of Object.entries(LENET_MACS)) {
      assert.equal(row(i, name).mults, op === "conv" ? macs : 0, `${op} ${name}`);
      assert.equal(row(i, name).shifts, op === "shift-ps" ? macs : 0, `${op} ${name}`);
    }
    assert.equal(i.total.mults - (op === "conv" ? 416_520 : 0), 784 + 4704 + 1600 + 120 + 84 + 10, "input, requant, logits");
    assertTotalsAreSums(i);
  }
});

const expectOpsError = (args: string[], pattern: RegExp) => expectCleanError(["ops", ...args], pattern);

test("bad files: each error names the file and the problem", () => {
  assert.throws(() => opsReport(join(dir, "missing.safetensors")), /not found: .*missing\.safetensors/);
  writeFileSync(join(dir, "junk.bin"), new Uint8Array([1, 2, 3]));
  assert.throws(() => opsReport(join(dir, "junk.bin")), /junk\.bin: too short for a safetensors file/);
  const good = exportedBundle("adder").bytes;
  writeFileSync(join(dir, "trunc.safetensors"), good.subarray(0, good.length - 100));
  assert.throws(() => opsReport(join(dir, "trunc.safetensors")), /trunc\.safetensors: tensor "[^"]+": data_offsets .* out of range/);
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setUint32(0, 200_000_000, true);
  writeFileSync(join(dir, "huge.safetensors"), huge);
  assert.throws(() => opsReport(join(dir, "huge.safetensors")), /huge\.safetensors: header length 200000000 exceeds/);
  writeFileSync(join(dir, "other.safetensors"), encodeSafetensors({}, { format: "pt" }));
  assert.throws(() => opsReport(join(dir, "other.safetensors")), /neither a mulfree checkpoint .* nor a deployment bundle .*format is 'pt'/);
  writeFileSync(join(dir, "badgraph.safetensors"), encodeSafetensors({}, { format: BUNDLE_FORMAT, graph: "{nodes" }));
  assert.throws(() => opsReport(join(dir, "badgraph.safetensors")), /badgraph\.safetensors: the graph metadata is not valid JSON/);
});

test("mulfree ops: one clear line on stderr for a bad file; --json ends with the report", () => {
  expectOpsError([join(dir, "missing.safetensors")], /not found: .*missing\.safetensors/);
  writeFileSync(join(dir, "other2.safetensors"), encodeSafetensors({}, { format: "gguf" }));
  expectOpsError([join(dir, "other2.safetensors")], /other2\.safetensors: neither a mulfree checkpoint/);
  const good = exportedBundle("adder").bytes;

  const path = join(dir, "ok.mulfree.safetensors");
  writeFileSync(path, good);
  const r = mulfree(["ops", path, "--json", "--detail"]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  const json = JSON.parse(lines.at(-1)!) as OpsReport & { command: string };
  assert.equal(json.command, "ops");
  assert.equal(json.graph, "integer");
  assert.match(r.stdout, /^total\s/m);
  assert.match(r.stdout, /Horowitz, "Computing's energy problem \(and what we can do about it\)", ISSCC 2014, 45 nm/);
  assert.doesNotMatch(r.stdout, /reference\/(addernet|deepshift)\.md|DESIGN/, "no pointer to a file outside this repository");
  assert.match(r.stdout, /x − w \(u8, \|·\| free\): 117,600 × int8 add @ 0\.03 pJ/);
});

/** A good bundle re-encoded after `edit` changes its tensors or metadata. */
function editedBundle(edit: (tensors: Record<string, TensorEntry>, meta: Record<string, string>) => void): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(exportedBundle("adder").bytes);
  edit(tensors, metadata);
  return encodeSafetensors(tensors, metadata);
}

test("mulfree ops reads bundles as strictly as mulfree run: malformed graphs and wrong dtypes are one-line errors", () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ["null-nodes", editedBundle((_, m) => { m.graph = JSON.stringify({ ...JSON.parse(m.graph), nodes: [null] }); }), /graph\.nodes must be an array holding at least an input and a layer node/],
    ["null-node", editedBundle((_, m) => {
      const g = JSON.parse(m.graph);
      g.nodes.splice(2, 0, null);
      m.graph = JSON.stringify(g);
    }), /graph\.nodes\[2\] is not an object/],
    ["dtype", editedBundle((t) => {
      const w = t["conv1.weight"];
      t["conv1.weight"] = { dtype: "I8", shape: w.shape, data: new Int8Array(w.data.buffer, w.data.byteOffset, w.data.length) };
    }), /tensor "conv1\.weight" has dtype I8, expected U8/],
  ];
  for (const [name, bytes, problem] of cases) {
    const path = join(dir, `${name}.mulfree.safetensors`);
    writeFileSync(path, bytes);
    assert.throws(() => opsReport(path), (e: Error) => e.message.startsWith(`${path}: `) && problem.test(e.message), name);
    expectOpsError([path], new RegExp(`${name}\\.mulfree\\.safetensors: .*${problem.source}`));
  }
});

