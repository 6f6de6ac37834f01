// PyTorch import end to end: every fixture (the authors' ResNet20-AdderNet, AdderNet, DeepShift-Q,
// DeepShift-PS and plain LeNets made with PyTorch 1.13) imports and gives PyTorch's logits; the
// layout mapping explains what does not fit; the command line refuses hostile and damaged files
// in one line and writes nothing.
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseArgs, UsageError, type ParsedFlags } from "../src/cli/args.js";
import { importSpec, runImport } from "../src/cli/commands/import.js";
import { COMMANDS } from "../src/cli/commands/index.js";
import { CliError } from "../src/cli/errors.js";
import { IoError } from "../src/io/errors.js";
import { parseNpy } from "../src/io/npy.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { importStateDict, type ImportOptions } from "../src/models/import_match.js";
import { createModel, resolveSpec } from "../src/models/zoo.js";
import { importCheckpoint } from "../src/tasks/import_torch.js";
import { loadModel } from "../src/train/load_model.js";
import { predictLogits } from "../src/train/metrics.js";
import { assertCleanError, lastJson, mulfree, tempDir } from "./cli-helpers.js";
import { FIXTURES, fixture } from "./torch-files.js";

initRuntime({ threads: 1 });

interface Reference {
  arch: string;
  op: string;
  inputSize: number;
  container: string;
  input: string;
  logits: number[][];
}
const REFERENCE = JSON.parse(readFileSync(FIXTURES + "logits.json", "utf8")).fixtures as Record<string, Reference>;

/** max |Δlogit| / max |logit|: the acceptance measure. */
function relativeError(got: ArrayLike<number>, want: number[][]): number {
  const flat = want.flat();
  assert.equal(got.length, flat.length);
  let diff = 0, scale = 0;
  flat.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(got[i]! - v));
    scale = Math.max(scale, Math.abs(v));
  });
  return diff / scale;
}

/**
 * Per fixture, the largest relative error allowed. Float layers differ from PyTorch only in
 * summation order (about 1e-6). DeepShift floors every shift layer's input to the 2^-16 grid, so
 * a last-bit difference before it can move an input by 2^-16 (measured 1e-5). The adder ResNet's
 * outputs are about −3000 before BatchNorm divides by σ ≈ 2–13; fp32 sums of 576 terms in another
 * order leave 3e-4…7e-4 (the acceptance: 1e-3).
 */
const TOLERANCE: Record<string, number> = {
  "ResNet20-AdderNet.pth": 1e-3,
  "adder_lenet5.pth": 1e-5,
  "conv_lenet5.pth": 1e-5,
  "shift_q_lenet5.pth": 1e-4,
  "shift_ps_lenet5.pth": 1e-4,
};

/** What import needs beyond the file: DeepShift-Q looks like a CNN, and the LeNets take 12×12 images. */
function optionsFor(r: Reference): ImportOptions {
  return { ...(r.op === "shift-q" ? { op: "shift-q" } : {}), ...(r.inputSize === 12 ? { inputSize: 12 } : {}) };
}

for (const [file, r] of Object.entries(REFERENCE)) {
  test(`${file} (${r.container}, ${r.arch} ${r.op}) imports and gives PyTorch's logits`, () => {
    const out = join(tempDir("import"), "model.safetensors");
    const summary = importCheckpoint(FIXTURES + file, { out, ...optionsFor(r) });
    assert.equal(summary.container, r.container);
    assert.equal(summary.spec.model, r.arch);
    assert.equal(summary.spec.op, r.op);
    const loaded = loadModel(out);
    const x = parseNpy(fixture(r.input), r.input);
    const { logits } = predictLogits(loaded.model, x.data, x.shape[0]!, x.shape.slice(1) as [number, number, number]);
    const err = relativeError(logits, r.logits);
    assert.ok(err <= TOLERANCE[file]!, `${file}: max |Δlogit| / max |logit| = ${err.toExponential(2)} > ${TOLERANCE[file]}`);
  });
}

test("each layout maps as its code defines it", () => {
  const run = (file: string) => importCheckpoint(FIXTURES + file, { out: join(tempDir("import"), "m.safetensors"), ...optionsFor(REFERENCE[file]!) });
  const resnet = run("ResNet20-AdderNet.pth");
  assert.equal(resnet.prefix, "module.");
  assert.equal(resnet.dropped.length, 22); // one num_batches_tracked per BatchNorm
  assert.deepEqual(resnet.multiplicativeLayers, ["conv1", "fc"]);
  assert.equal(resnet.opLayers.length, 20); // 18 3×3 adders and 2 strided 1×1 shortcut adders
  assert.deepEqual({ ...resnet.spec, opOptions: undefined }, { model: "resnet20", op: "adder", inChannels: 3, inputSize: 32, numClasses: 10, opOptions: undefined });

  const ps = run("shift_ps_lenet5.pth");
  assert.deepEqual(ps.spec.opOptions, { convLayers: ["conv1"] });
  assert.equal(ps.spec.allLayers, true);
  assert.ok(ps.notes.some((n) => /shift values below -14 are clamped/.test(n)), ps.notes.join("; "));

  const q = run("shift_q_lenet5.pth");
  assert.deepEqual(q.opLayers, ["conv1", "conv2", "fc1", "fc2", "fc3"]);
  assert.ok(q.notes.some((n) => /not rounded to powers of two/.test(n)));

  const conv = run("conv_lenet5.pth");
  assert.equal(conv.stateDictKey, "state_dict");
  assert.deepEqual(conv.opLayers, []);
});

// ---- the mapping on made-up state dicts -----------------------------------------------------------

/** A zoo model's state dict under PyTorch's names (adder layers as adder.py names them). */
function torchStateDict(spec: Parameters<typeof resolveSpec>[0], rename: (key: string) => string = (k) => k): Map<string, { shape: number[]; data: Float32Array }> {
  const model = createModel(resolveSpec(spec));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, t] of model.stateDict()) out.set(rename(k), { shape: [...t.shape], data: Float32Array.from(t.data) });
  return out;
}

const mapError = (tensors: Map<string, { shape: number[]; data: Float32Array }>, options: ImportOptions, pattern: RegExp) =>
  assert.throws(() => importStateDict(tensors, options), (e: Error) => (assert.match(e.message, pattern), assert.ok(!e.message.includes("\n")), true));

test("DeepShift-Q: rounded layers are told apart from multiplicative ones; a rounded file alone hints at shift-q", () => {
  const sd = torchStateDict({ model: "lenet5", inputSize: 12 });
  for (const name of ["conv2", "fc1", "fc2"]) {
    const w = sd.get(`${name}.weight`)!.data;
    for (let i = 0; i < w.length; i++) w[i] = (i % 3 === 0 ? -1 : 1) * 2 ** -(i % 16);
  }
  const q = importStateDict(sd, { op: "shift-q", inputSize: 12 });
  assert.deepEqual(q.opLayers, ["conv2", "fc1", "fc2"]);
  assert.deepEqual(q.multiplicativeLayers, ["conv1", "fc3"]);
  assert.deepEqual(q.spec.opOptions, { convLayers: ["conv1", "fc3"] });

  for (const name of ["conv1", "fc3"]) sd.get(`${name}.weight`)!.data.fill(0.25);
  const conv = importStateDict(sd, { inputSize: 12 });
  assert.equal(conv.spec.op, "conv");
  assert.ok(conv.notes.some((n) => /give --op shift-q/.test(n)));
});

test("a linear classifier fits a 1×1 conv one and the other way round", () => {
  const sd = torchStateDict({ model: "resnet20", op: "adder" }, (k) => k.replace(/^(layer.*conv\d|layer.*downsample\.0)\.weight$/, "$1.adder"));
  const fc = sd.get("fc.weight")!;
  sd.set("fc.weight", { shape: [10, 64], data: fc.data });
  const imported = importStateDict(sd);
  assert.equal(imported.spec.model, "resnet20");
  assert.equal(imported.spec.op, "adder");
});

test("what does not fit is named: keys, shapes, layers, op kinds, values", () => {
  const adder = () => torchStateDict({ model: "lenet5", op: "adder", inputSize: 12 }, (k) => `module.${k.replace(/^(conv\d|fc\d)\.weight$/, "$1.adder")}`);
  mapError(adder(), { arch: "resnet20" }, /does not fit resnet20 \(adder.*missing module\.conv1\.weight.*unexpected module\.conv1\.adder/);
  mapError(adder(), { op: "conv", inputSize: 12 }, /--op conv, but its layers are adder layers/);
  mapError(adder(), {}, /does not fit lenet5 \(adder, 1×28×28 input.*module\.fc1\.adder has shape \[120, 16\], the model's is \[120, 400\].*give --input-size/);
  const withBias = adder();
  withBias.set("module.conv1.b", { shape: [6], data: new Float32Array(6) });
  mapError(withBias, { inputSize: 12 }, /unexpected module\.conv1\.b/);
  const mixed = adder();
  mixed.set("module.fc3.shift", { shape: [10, 84], data: new Float32Array(840) });
  mixed.set("module.fc3.sign", { shape: [10, 84], data: new Float32Array(840) });
  mixed.delete("module.fc3.adder");
  mapError(mixed, {}, /mixes adder layers .* and shift layers/);
  const partial = adder();
  partial.set("module.fc2.weight", partial.get("module.fc2.adder")!);
  partial.delete("module.fc2.adder");
  mapError(partial, { inputSize: 12 }, /mulfree's adder lenet5 makes either every weight layer an adder or all but/);
  mapError(torchStateDict({ model: "resnet20" }), { arch: "resnet32" }, /does not fit resnet32 .*missing layer1\.3\.conv1\.weight/);
  const strange = new Map([["encoder.weight", { shape: [3, 3], data: new Float32Array(9) }], ["line\nbreak.weight", { shape: [1], data: new Float32Array(1) }]]);
  mapError(strange, {}, /its layers match no zoo model .*the closest, \S+, lacks layers .* has no encoder, "line\\nbreak"/);
  const nan = torchStateDict({ model: "lenet5", inputSize: 12 });
  nan.get("fc2.weight")!.data[5] = NaN;
  mapError(nan, { inputSize: 12 }, /tensor fc2\.weight holds NaN at index 5/);
  const variance = torchStateDict({ model: "lenet5", inputSize: 12 });
  variance.get("bn1.running_var")!.data[0] = -1;
  mapError(variance, { inputSize: 12 }, /bn1\.running_var holds a negative variance/);
  mapError(torchStateDict({ model: "lenet5", inputSize: 12 }), { inputSize: 12, weightBits: 4 }, /apply to shift ops, not conv/);
});

// ---- the command line ------------------------------------------------------------------------------

const registered = COMMANDS.some((c) => c.spec.name === "import");

/**
 * `mulfree import` run the way src/cli/main.ts runs a command (flags, one-line errors, exit
 * codes), while the command is not yet listed in src/cli/commands/index.ts; the real command
 * line once it is.
 */
const SHIM = `
  const url = (p) => new URL(p, ${JSON.stringify(import.meta.url)});
  const { parseArgs } = await import(url("../src/cli/args.js"));
  const { importSpec, runImport } = await import(url("../src/cli/commands/import.js"));
  const { reportError } = await import(url("../src/cli/errors.js"));
  const argv = process.argv.slice(1);
  try {
    const parsed = parseArgs(importSpec, argv);
    runImport(parsed.flags, parsed.positionals);
  } catch (e) {
    process.exitCode = reportError(e, { debug: false, json: argv.includes("--json") });
  }`;

function importCli(args: string[], cwd?: string): SpawnSyncReturns<string> {
  const argv = registered ? [fileURLToPath(new URL("../src/cli/main.js", import.meta.url)), "import", ...args] : ["--input-type=module", "-e", SHIM, "--", ...args];
  return spawnSync(process.execPath, argv, { encoding: "utf8", timeout: 120_000, cwd });
}

test("CLI: import the authors' ResNet20-AdderNet, then predict gives PyTorch's logits (the acceptance path)", () => {
  const dir = tempDir("import");
  const out = join(dir, "r.safetensors");
  const r = importCli([FIXTURES + "ResNet20-AdderNet.pth", "-o", out, "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const summary = lastJson(r.stdout);
  assert.equal(summary.model, "resnet20");
  assert.equal(summary.op, "adder");
  assert.match(r.stdout, /legacy torch\.save file, a state dict of 132 tensors \(prefix module\. removed, 22 num_batches_tracked dropped\)/);
  assert.match(r.stderr, /note: a state dict records no dataset: eval, export and predict assume cifar10/);
  const p = mulfree(["predict", out, "--input", FIXTURES + "cifar_inputs.npy", "--json"]);
  assert.equal(p.status, 0, p.stderr);
  const logits = (lastJson(p.stdout).images as Array<{ logits: number[] }>).flatMap((i) => i.logits);
  assert.ok(relativeError(logits, REFERENCE["ResNet20-AdderNet.pth"]!.logits) <= 1e-3);
});

test("hostile, corrupt, truncated and random files: one line, exit ≠ 0 from the command line, nothing written", () => {
  const dir = tempDir("import-bad");
  const zip = fixture("adder_lenet5.pth");
  const flipped = zip.slice();
  flipped[20_000] ^= 0xff; // inside a storage: its CRC-32 no longer matches
  const random = Uint8Array.from({ length: 5000 }, (_, i) => (i * 2654435761) >>> 24);
  const write = (name: string, bytes: Uint8Array) => (writeFileSync(join(dir, name), bytes), join(dir, name));
  const viaCli: Array<[string, RegExp]> = [
    [FIXTURES + "evil_os_system.pth", /evil_os_system\.pth: refused: .*posix\.system/],
    [write("flipped.pth", flipped), /flipped\.pth: zip entry .* fails its CRC-32 check/],
    [write("truncated.pth", fixture("ResNet20-AdderNet.pth").subarray(0, 600_000)), /truncated\.pth: truncated/],
    [write("random.pth", random), /random\.pth: not a PyTorch checkpoint/],
  ];
  for (const [path, pattern] of viaCli) {
    const out = join(dir, "out.safetensors");
    // in an empty working directory: a pickle that ran would leave mulfree_pwned_marker there
    const cwd = tempDir("import-cwd");
    const args = [path, "-o", out, "--json"];
    const r = assertCleanError(importCli(args, cwd), ["import", ...args], pattern, { status: 1 });
    assert.match(lastJson(r.stdout).error, pattern);
    assert.ok(!existsSync(out), `${path}: wrote ${out}`);
    assert.deepEqual(readdirSync(cwd), []);
  }
  // the same refusals in-process, for the other files
  const inProcess: Array<[string, RegExp]> = [
    [FIXTURES + "evil_eval_legacy.pth", /__builtin__\.eval/],
    [FIXTURES + "whole_model.pth", /a whole model/],
    [write("truncated-zip.pth", zip.subarray(0, zip.length / 2)), /end-of-central-directory/],
    [write("empty.pth", new Uint8Array(0)), /not a PyTorch checkpoint/],
  ];
  for (const [path, pattern] of inProcess) {
    assert.throws(() => importCheckpoint(path, { out: join(dir, "out.safetensors") }), (e: Error) => (assert.ok(e instanceof IoError), assert.match(e.message, pattern), true));
  }
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".safetensors")), []);
});

test("import's flags: -o required, never over the input, values checked", () => {
  const input = FIXTURES + "conv_lenet5.pth";
  const run = (flags: Record<string, unknown>) => runImport(flags as ParsedFlags, [input]);
  assert.throws(() => run({}), (e: Error) => e instanceof UsageError && /import needs -o/.test(e.message));
  assert.throws(() => run({ out: input }), (e: Error) => e instanceof CliError && /would overwrite the input/.test(e.message));
  assert.throws(() => importCheckpoint(input, { out: input }), /would overwrite the input/);
  assert.throws(() => run({ out: join(tempDir("import"), "m.safetensors"), activationBits: "16" }), /--activation-bits must be INT,FRAC/);
  assert.throws(() => parseArgs(importSpec, [input, "-o", "m.safetensors", "--arch", "nope"]), /--arch must be one of lenet5/);
  assert.throws(() => run({ out: join(tempDir("import"), "m.safetensors") }), /give --input-size/);
});
