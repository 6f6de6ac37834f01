// Every bad input and misuse a user reported (issue 9), each refused with one clear line or handled
// as documented: checkpoints that lie, runs that collide or diverge, files that are not files,
// flags that are not flags.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { decodeSafetensors } from "../src/io/safetensors.js";
import { CLI, editMetadataJson, editSafetensors, expectCleanError, expectOk, lastJson, mnistSubset, mulfree, tempDir, writeIdxPair } from "./cli-helpers.js";

const dir = tempDir("robust");
const quick = ["--train-limit", "256", "--test-limit", "100", "--epochs", "1", "--batch", "64", "--threads", "1", "--quiet"];
const base = join(dir, "base");
const ckpt = join(base, "checkpoint.safetensors");
const model = join(base, "model.safetensors");
expectOk(["train", ...quick, "--out", base]);

const edited = (name: string) => join(dir, name);

test("a run folder is never overwritten silently: --resume or --force, and train says what it wrote", () => {
  expectCleanError(["train", ...quick, "--out", base], /already holds a run \(checkpoint\.safetensors, model\.safetensors, best\.safetensors, log\.jsonl\); add --resume to continue it, --force to start it over/);
  const copy = join(dir, "forced");
  expectOk(["train", ...quick, "--out", copy]);
  writeFileSync(join(copy, "notes.txt"), "mine");
  const r = expectOk(["train", ...quick, "--out", copy, "--force", "--seed", "3"]);
  assert.match(r.stdout, new RegExp(`wrote ${copy}/checkpoint\\.safetensors, ${copy}/model\\.safetensors, ${copy}/best\\.safetensors, ${copy}/log\\.jsonl`));
  assert.equal(readFileSync(join(copy, "notes.txt"), "utf8"), "mine", "--force deletes the run's files only");
  assert.equal(readFileSync(join(copy, "log.jsonl"), "utf8").trim().split("\n").length, 1);
});

test("a run folder in use by a live process is refused; a stale lock (killed run) is taken over", () => {
  const locked = join(dir, "locked");
  mkdirSync(locked);
  writeFileSync(join(locked, ".lock"), JSON.stringify({ pid: process.pid, host: hostname(), started: "now" }));
  expectCleanError(["train", ...quick, "--out", locked], new RegExp(`in use by another mulfree process \\(pid ${process.pid}`));
  // a pid that cannot exist: the lock is stale
  writeFileSync(join(locked, ".lock"), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), started: "then" }));
  expectOk(["train", ...quick, "--out", locked]);
  assert.equal(existsSync(join(locked, ".lock")), false, "the lock is released at the end");
});

test("two runs started on the same --out at once: one trains, the other is refused", async () => {
  const out = join(dir, "race");
  const args = [CLI, "train", ...quick, "--train-limit", "3000", "--out", out];
  const child = spawn(process.execPath, args, { stdio: "ignore" });
  const started = Date.now();
  while (!existsSync(join(out, ".lock")) && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 20));
  expectCleanError(["train", ...quick, "--out", out], /in use by another mulfree process/);
  const code = await new Promise((resolve) => child.on("exit", resolve));
  assert.equal(code, 0);
  assert.equal(readFileSync(join(out, "log.jsonl"), "utf8").trim().split("\n").length, 1, "one run's log, not two interleaved");
});

test("divergence stops the run with an error and keeps the last good checkpoint", () => {
  expectCleanError(["train", ...quick, "--lr", "1e6", "--out", join(dir, "nan")], /training diverged: the loss became \S+ at step \d+ \(epoch 1, lr 1000000\); lower --lr; nothing was saved/, { midRun: true });
  assert.equal(existsSync(join(dir, "nan", "checkpoint.safetensors")), false);
  // epoch 1 is fine, epoch 2 runs at lr × 1e12
  const out = join(dir, "nan2");
  expectCleanError(["train", ...quick, "--epochs", "2", "--schedule", "multistep", "--milestones", "1", "--gamma", "1e12", "--out", out], /training diverged: .*the checkpoint of epoch 1 .* is kept/, { midRun: true });
  const kept = decodeSafetensors(new Uint8Array(readFileSync(join(out, "checkpoint.safetensors"))), "ckpt");
  assert.equal(JSON.parse(kept.metadata.training!).epoch, 1);
  for (const [name, t] of Object.entries(kept.tensors)) assert.ok((t.data as Float32Array).every(Number.isFinite), `${name} is finite`);
});

test("a last batch of one image is skipped instead of failing in BatchNorm", () => {
  for (const m of ["lenet5", "resnet20"]) {
    const r = expectOk(["train", "--model", m, "--train-limit", "65", "--batch", "64", "--test-limit", "20", "--epochs", "1", "--threads", "1", "--quiet", "--out", join(dir, `one-${m}`), "--json"]);
    assert.equal(lastJson(r.stdout).epochs, 1);
  }
});

test("the best epoch is kept as best.safetensors", () => {
  const out = join(dir, "best");
  const r = expectOk(["train", ...quick, "--epochs", "3", "--out", out, "--json"]);
  const j = lastJson(r.stdout);
  const accs = j.history.map((h: { testAccuracy: number }) => h.testAccuracy);
  assert.equal(j.bestEpoch, accs.indexOf(Math.max(...accs)) + 1);
  const e = expectOk(["eval", join(out, "best.safetensors"), "--json"]);
  assert.equal(lastJson(e.stdout).testAccuracy, Math.max(...accs));
});

test("--resume keeps the run's flags: a changed flag is refused, --epochs extends the cosine schedule", () => {
  const out = join(dir, "extend");
  expectOk(["train", ...quick, "--epochs", "3", "--lr", "0.1", "--out", out]);
  expectCleanError(["train", "--resume", "--out", out, "--lr", "0.2", "--seed", "9"], /these differ: --lr 0\.2 \(the run has 0\.1\); --seed 9 \(the run has 1\)/);
  expectCleanError(["train", "--resume", "--out", out, "--epochs", "2"], /--epochs 2 is fewer than the 3 epochs/);
  const r = expectOk(["train", "--resume", "--out", out, "--epochs", "10", "--json"]);
  const lrs = lastJson(r.stdout).history.map((h: { lr: number }) => h.lr);
  assert.equal(lrs.length, 10);
  // epochs 1–3 ran on the 3-epoch cosine; epochs 4–10 follow the cosine over 10, from where it was
  for (let e = 1; e <= 3; e++) assert.ok(Math.abs(lrs[e - 1] - 0.05 * (1 + Math.cos((Math.PI * (e - 1)) / 3))) < 1e-12);
  for (let e = 4; e <= 10; e++) {
    assert.ok(Math.abs(lrs[e - 1] - 0.05 * (1 + Math.cos((Math.PI * (e - 1)) / 10))) < 1e-12, `epoch ${e}: lr ${lrs[e - 1]}`);
    assert.ok(lrs[e - 1] > 0.002, "never lr 0");
  }
  // the checkpoint now stores the extended run: resuming again without --epochs changes nothing
  const again = expectOk(["train", "--resume", "--out", out]);
  assert.match(again.stderr, /already trained 10 epochs/);
});

test("corrupt training state is refused when --resume starts, not an epoch later", () => {
  const cases: Array<[string, (t: any) => void, RegExp]> = [
    ["history", (t) => (t.history = "x"), /history must list one record per finished epoch/],
    ["history-null", (t) => (t.history = [null]), /history record 0 is not the record of epoch 1/],
    ["optimizer", (t) => (t.optimizer = "x"), /optimizer must hold groups and scalars/],
    ["scalars", (t) => (t.optimizer.scalars = null), /optimizer must hold groups and scalars/],
    ["epoch-neg", (t) => (t.epoch = -1), /epoch must be a non-negative integer, got -1/],
    ["epoch-str", (t) => (t.epoch = "x"), /epoch must be a non-negative integer, got "x"/],
    ["options", (t) => (t.options.lr = "fast"), /--lr must be a number > 0/],
  ];
  for (const [name, edit, pattern] of cases) {
    const out = join(dir, `state-${name}`);
    mkdirSync(out);
    editMetadataJson(ckpt, join(out, "checkpoint.safetensors"), "training", (t) => (edit(t), t));
    expectCleanError(["train", "--resume", "--out", out, "--epochs", "2"], pattern);
    assert.deepEqual(readdirSync(out), ["checkpoint.safetensors"], "nothing written");
  }
});

test("a corrupt log line stops a resume instead of being dropped", () => {
  const out = join(dir, "badlog");
  expectOk(["train", ...quick, "--epochs", "2", "--out", out]);
  writeFileSync(join(out, "log.jsonl"), "{{ not json\n" + readFileSync(join(out, "log.jsonl"), "utf8"));
  expectCleanError(["train", "--resume", "--out", out, "--epochs", "3"], /log\.jsonl: line 1 is not JSON; repair or delete the log/);
});

test("checkpoints that lie about their contents are refused by every command", () => {
  const nulled = edited("null-spec.safetensors");
  editSafetensors(model, nulled, (m) => (m.spec = "null"));
  const nanW = edited("nan.safetensors");
  editSafetensors(model, nanW, (_m, t) => ((t["conv1.weight"]!.data as Float32Array)[3] = NaN));
  const infW = edited("inf.safetensors");
  editSafetensors(model, infW, (_m, t) => ((t["fc3.weight"]!.data as Float32Array)[0] = Infinity));
  const negVar = edited("negvar.safetensors");
  editSafetensors(model, negVar, (_m, t) => (t["bn1.running_var"]!.data as Float32Array).fill(-1));
  const bits = edited("bits.safetensors");
  editMetadataJson(model, bits, "spec", (s) => ({ ...s, opOptions: { weightBits: 99 } }));
  const dup = edited("dup.safetensors");
  editSafetensors(model, dup, (m) => (m.spec = m.spec!.replace('{"model":"lenet5"', '{"model":"resnet20","model":"lenet5"')));
  const deep = edited("deep.safetensors");
  editSafetensors(model, deep, (m) => (m.spec = "[".repeat(100_000) + "]".repeat(100_000)));
  for (const cmd of ["eval", "inspect", "export", "ops"]) {
    const extra = cmd === "export" ? ["-o", edited("x.mulfree.safetensors")] : [];
    expectCleanError([cmd, nulled, ...extra], /null-spec\.safetensors: the model spec must be an object, got null/);
    expectCleanError([cmd, nanW, ...extra], /nan\.safetensors: tensor conv1\.weight holds NaN at index 3: the weights are not finite/);
    expectCleanError([cmd, infW, ...extra], /tensor fc3\.weight holds Infinity/);
    expectCleanError([cmd, negVar, ...extra], /tensor bn1\.running_var holds a negative variance -1/);
    expectCleanError([cmd, bits, ...extra], /op conv takes no options, got 'weightBits'/);
    expectCleanError([cmd, deep, ...extra], /deep\.safetensors: metadata 'spec' is not valid JSON \(.*deeper than/);
    expectCleanError([cmd, dup, ...extra], /dup\.safetensors: metadata 'spec' is not valid JSON \(duplicate key "model"/);
  }
  expectCleanError(["train", ...quick, "--from", nulled, "--out", edited("from")], /the model spec must be an object/);
  assert.equal(existsSync(edited("x.mulfree.safetensors")), false);
});

test("files that are not regular files, and output folders that cannot exist, fail at once", () => {
  const fifo = join(dir, "fifo");
  execFileSync("mkfifo", [fifo]);
  for (const args of [["eval", fifo], ["ops", fifo], ["run", fifo], ["eval", model, "--test-images", fifo, "--test-labels", fifo], ["predict", model, "--input", fifo]]) {
    expectCleanError(args, /fifo.*not a regular file|not a regular file.*fifo/, { timeout: 15_000 });
  }
  expectCleanError(["train", ...quick, "--out", "/proc/mulfree-test/run"], /cannot create directory \/proc\/mulfree-test\/run/, { timeout: 15_000 });
  writeFileSync(join(dir, "afile"), "x");
  expectCleanError(["train", ...quick, "--out", join(dir, "afile")], /afile is not a directory/);
});

test("data that does not fit the model or the dataset is refused, naming the file", () => {
  const { images, labels } = mnistSubset(100);
  const big = writeIdxPair(dir, "big-labels", images, labels.map((l) => l + 90));
  expectCleanError(["eval", model, "--test-images", big.images, "--test-labels", big.labels, "--other-data"], /big-labels-labels-idx1-ubyte: label 0 is 97, mnist has 10 classes/);
  const empty = writeIdxPair(dir, "empty", new Uint8Array(0), new Uint8Array(0));
  expectCleanError(["eval", model, "--test-images", empty.images, "--test-labels", empty.labels, "--other-data"], /empty-images-idx3-ubyte: holds no images/);
  const narrow = writeIdxPair(dir, "narrow", new Uint8Array(100 * 28 * 20), labels, [28, 20]);
  expectCleanError(["eval", model, "--test-images", narrow.images, "--test-labels", narrow.labels, "--other-data"], /mnist images are 1×28×28, this file holds 1×28×20 images/);
  expectCleanError(["train", ...quick, "--model", "resnet20", "--test-images", narrow.images, "--test-labels", narrow.labels, "--out", edited("narrow-run")], /1×28×20/);
  // the right dataset, other files: refused unless asked for
  const other = writeIdxPair(dir, "other", images, labels);
  expectCleanError(["eval", model, "--test-images", other.images, "--test-labels", other.labels], /are not the mnist test files it was trained with; add --other-data/);
  expectOk(["eval", model, "--test-images", other.images, "--test-labels", other.labels, "--other-data"]);
});

test("flags: Object.prototype names are unknown options; --version; --help lists the op kinds and recipes", () => {
  for (const flag of ["--constructor", "--toString=1", "--__proto__=1", "--valueOf", "--hasOwnProperty"]) {
    expectCleanError(["eval", model, flag], /unknown option --(constructor|toString|__proto__|valueOf|hasOwnProperty) for 'eval'/);
  }
  const v = expectOk(["--version"]);
  assert.match(v.stdout, /^mulfree \d+\.\d+\.\d+\n$/);
  const h = expectOk(["train", "--help"]);
  assert.match(h.stdout, /--op <str>.*one of: conv, .*adder/);
  assert.match(h.stdout, /adder +mnist +50 epochs, batch 256, sgd lr 0\.1 momentum 0\.9/);
  assert.match(h.stdout, /shift-ps mnist +10 epochs, batch 64, radam lr 0\.01/);
});

test("PreciseBN: on by default for adder (both accuracies logged), off with --no-precise-bn", () => {
  const on = lastJson(expectOk(["train", ...quick, "--op", "adder", "--out", edited("pbn-on"), "--json"]).stdout);
  assert.equal(on.options.preciseBn, 8192 / 64, "8,192 images' worth of batches");
  assert.equal(typeof on.history[0].testAccuracyRunningStats, "number");
  assert.equal(on.spec.opOptions.form, "min", "a new adder model records the min form");
  const off = lastJson(expectOk(["train", ...quick, "--op", "adder", "--no-precise-bn", "--adder-form", "direct", "--out", edited("pbn-off"), "--json"]).stdout);
  assert.equal(off.spec.opOptions.form, "direct");
  assert.equal(off.options.preciseBn, 0);
  assert.equal(off.history[0].testAccuracyRunningStats, undefined);
  expectCleanError(["train", ...quick, "--no-precise-bn=3", "--out", edited("pbn-bad")], /--no-precise-bn takes no value/);
});

test("with --json, a failure still ends stdout with one JSON object", () => {
  const r = mulfree(["eval", edited("missing.safetensors"), "--json"]);
  assert.equal(r.status, 1);
  const j = lastJson(r.stdout);
  assert.match(j.error, /missing\.safetensors/);
  assert.equal(j.exitCode, 1);
  const u = mulfree(["train", "--epochs", "zero", "--json"]);
  assert.equal(lastJson(u.stdout).exitCode, 2);
});

test("flags that would be ignored are refused: op options of another op kind, schedule options of another schedule", () => {
  expectCleanError(["train", ...quick, "--eta", "0.3", "--out", edited("e1")], /op conv takes no options, got 'eta'/);
  expectCleanError(["train", ...quick, "--op", "adder", "--weight-bits", "3", "--out", edited("e2")], /unknown option 'weightBits' for op adder/);
  expectCleanError(["train", ...quick, "--adder-form", "direct", "--out", edited("e7")], /op conv takes no options, got 'form'/);
  expectCleanError(["train", ...quick, "--op", "adder", "--adder-form", "exact", "--out", edited("e8")], /--adder-form/);
  expectCleanError(["train", ...quick, "--milestones", "2", "--out", edited("e3")], /--milestones applies to --schedule multistep, not cosine/);
  expectCleanError(["train", ...quick, "--schedule", "multistep", "--milestones", "5,2", "--out", edited("e4")], /--milestones must be increasing positive integers/);
  expectCleanError(["train", ...quick, "--from", model, "--op", "adder", "--out", edited("e5")], /--op adder conflicts with --from .*a lenet5 \(conv\) model/);
  expectCleanError(["train", ...quick, "--data", dir, "--out", edited("e6")], /--data is for fashion-mnist and cifar10/);
  for (const e of ["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"]) assert.equal(existsSync(edited(e)), false, `${e}: no run directory left behind`);
});
