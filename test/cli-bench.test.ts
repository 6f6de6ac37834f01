// `mulfree bench` as a smoke test: help, argument errors, a tiny end-to-end run of mulfree's own
// engines (no peers, no timing assertions), and the pure parts: the speed-goal arithmetic, peer
// detection, and the waiting budget that keeps a busy machine from stalling a run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, UsageError } from "../src/cli/args.js";
import { benchSpec, runBench } from "../src/cli/commands/bench.js";
import { cleanRepeats, summarize, waitBudget, type Sample, type Throughput } from "../src/cli/bench/measure.js";
import { loadBenchData } from "../src/cli/bench/data.js";
import { top1Agreement } from "../src/cli/bench/engines.js";
import { benchModels, floatTensors, modelFiles, randomModel } from "../src/cli/bench/models.js";
import { peerAvailability } from "../src/cli/bench/peers.js";
import { resolveSpec } from "../src/models/zoo.js";
import { encodeCheckpoint } from "../src/train/checkpoint.js";
import { reportText, speedGoals, type Row } from "../src/cli/bench/report.js";
import { mergeRounds, pairedRatio } from "../src/cli/bench/rounds.js";

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [CLI, "bench", ...args], { encoding: "utf8" });
const tmp = () => mkdtempSync(join(tmpdir(), "mulfree-bench-test-"));

function expectUsageError(args: string[], pattern: RegExp): void {
  const r = run(args);
  assert.equal(r.status, 2, `exit 2 for ${args.join(" ")}; stderr: ${r.stderr}`);
  assert.match(r.stderr.trim(), /^mulfree: error: /);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split("\n").length, 1);
}

test("bench --help lists its options", () => {
  const r = run(["--help"]);
  assert.equal(r.status, 0);
  for (const flag of ["--batches", "--threads", "--engines", "--repeats", "--models", "--json", "--out", "--quiet-wait"]) assert.match(r.stdout, new RegExp(flag));
  assert.match(r.stdout, /int8-adder, int8-shift, int8-conv, f32-conv, ort-node, ort-web, tfjs-wasm/);
});

test("bench rejects bad arguments with one clear line", async () => {
  expectUsageError(["--engines", "int8-adder,gpu"], /--engines: unknown engine 'gpu'; valid: int8-adder/);
  // the rest in-process: the same checks, without a process each
  const bench = (args: string[]) => runBench(parseArgs(benchSpec, args).flags);
  await assert.rejects(bench(["--batches", "1,0"]), (e: Error) => e instanceof UsageError && /--batches expects positive integers separated by commas, got '1,0'/.test(e.message));
  await assert.rejects(bench(["--threads", "two"]), /--threads expects positive integers/);
  await assert.rejects(bench(["--engines", ","]), /--engines: unknown engine \(none given\)/);
  assert.throws(() => parseArgs(benchSpec, ["--repeats", "0"]), /--repeats must be at least 1/);
  assert.throws(() => parseArgs(benchSpec, ["extra"]), /unexpected argument 'extra'/);
  await assert.rejects(bench(["--models", join(tmp(), "nope.safetensors"), "--engines", "int8-adder", "--no-save"]), /--models: .*nope\.safetensors not found/);
  const notModel = join(tmp(), "x.safetensors");
  writeFileSync(notModel, new Uint8Array(4));
  await assert.rejects(bench(["--models", notModel, "--engines", "int8-adder", "--no-save"]), /x\.safetensors/);
});

test("a tiny run of mulfree's engines prints the tables and writes the results JSON", () => {
  const out = join(tmp(), "results.json");
  const engines = ["int8-adder", "int8-shift", "int8-conv", "f32-conv"];
  const r = run(["--engines", engines.join(","), "--batches", "1,3", "--threads", "1", "--repeats", "1", "--min-ms", "5", "--warmup-ms", "0", "--quiet-wait", "0", "--calibration-images", "32", "--out", out, "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  const json = JSON.parse(lines[lines.length - 1]!);
  const saved = JSON.parse(readFileSync(out, "utf8"));
  assert.deepEqual(saved.rows, json.rows);
  for (const key of ["date", "machine", "commandLine", "options", "models", "goals"]) assert.ok(key in saved, key);
  assert.equal(saved.rows.length, engines.length * 2);
  for (const row of saved.rows) {
    assert.ok(row.result, `${row.engine} b=${row.batch}: ${row.error}`);
    assert.equal(row.result.imgPerSec.samples.length, 1);
    assert.ok(row.result.imgPerSec.median > 0);
  }
  // the int8 models compute the same network as their float models on most images
  assert.match(saved.rows.find((x: Row) => x.engine === "int8-conv").check, /top-1 = float model on \d/);
  assert.match(r.stdout, /\| int8-adder \| 1 +\| 3 +\|/);
  assert.match(r.stdout, /random LeNet-5 adder \(seed 1/);
  assert.match(r.stdout, /n\/a +int8-adder ÷ ort-web, batch 256, 2 threads/);
});

const result = (imgPerSec: number, batch: number): Throughput => ({
  imgPerSec: summarize([imgPerSec]), msPerCall: summarize([(1e3 * batch) / imgPerSec]), cpuPerWall: 1, otherLoad: 0, retries: 0,
});
const row = (engine: string, threads: number, batch: number, imgPerSec: number): Row => ({
  engine, side: engine.startsWith("int8") ? "mulfree" : "peer", threads, batch, result: result(imgPerSec, batch),
});

test("speed goals: the int8 adder against ort-node and ort-web at b256 on 1 and 2 threads, its thread scaling, and batch-1 latency at each one's best thread count", () => {
  const goals = speedGoals([
    row("int8-adder", 1, 256, 20000), row("int8-adder", 2, 256, 36000), row("ort-web", 1, 256, 7000), row("ort-web", 2, 256, 16000),
    row("ort-node", 1, 256, 25000), row("ort-node", 2, 256, 30000),
    row("int8-adder", 1, 1, 10000), row("int8-adder", 2, 1, 8000), row("ort-node", 1, 1, 9000), row("ort-node", 2, 1, 12000),
  ]);
  const by = (prefix: string) => goals.find((g) => g.name.startsWith(prefix))!;
  assert.equal(goals.length, 6);
  assert.equal(by("int8-adder ÷ ort-node, batch 256, 1 thread ").value, 0.8);
  assert.equal(by("int8-adder ÷ ort-node, batch 256, 1 thread ").met, false);
  assert.equal(by("int8-adder ÷ ort-node, batch 256, 2 threads").value, 1.2);
  assert.equal(by("int8-adder ÷ ort-node, batch 256, 2 threads").met, true);
  assert.ok(Math.abs(by("int8-adder ÷ ort-web, batch 256, 1 thread ").value! - 20000 / 7000) < 1e-12);
  assert.equal(by("int8-adder ÷ ort-web, batch 256, 2 threads").met, false); // 2.25 < 2.5
  assert.ok(Math.abs(by("int8-adder, batch 256, 2 threads ÷ 1 thread").value! - 1.8) < 1e-12);
  // best latencies: adder 100 µs (1T), ort-node 83.3 µs (2T): 1.2, not ≤ 0.8
  const latency = by("int8-adder ÷ ort-node, batch-1 latency");
  assert.ok(Math.abs(latency.value! - 12000 / 10000) < 1e-12);
  assert.equal(latency.met, false);
  const none = speedGoals([row("int8-adder", 1, 256, 1)]);
  assert.deepEqual(none.map((g) => g.met), [null, null, null, null, null, null]);
});

test("rounds: ratios pair the samples of the same round, so a drifting machine cancels out", () => {
  // the machine runs 2× slower in round 2; a is 1.5× faster than b in every round
  const rounds: Row[][] = [
    [row("int8-adder", 1, 256, 30000), row("ort-node", 1, 256, 20000)],
    [row("int8-adder", 1, 256, 15000), row("ort-node", 1, 256, 10000)],
    [row("int8-adder", 1, 256, 33000), row("ort-node", 1, 256, 22000)],
  ];
  rounds[1]![1]!.result = undefined;
  rounds[1]![1]!.error = "child process failed";
  const merged = mergeRounds(rounds);
  assert.equal(merged.length, 2);
  const [a, b] = merged as [Row, Row];
  assert.deepEqual(a.perRound, [30000, 15000, 33000]);
  assert.deepEqual(b.perRound, [20000, null, 22000]);
  assert.equal(a.result!.imgPerSec.median, 30000);
  assert.equal(b.error, "1 of 3 rounds failed");
  // medians alone would say 30000 / 21000 = 1.43; the same-round ratios say 1.5
  assert.equal(pairedRatio(a, b), 1.5);
  assert.ok(Math.abs(pairedRatio(a, b, true) - 1 / 1.5) < 1e-12);
  const failed = mergeRounds([[{ engine: "ort-web", side: "peer", threads: 1, batch: 1, error: "no wasm" }]]);
  assert.equal(failed[0]!.error, "no wasm");
  assert.equal(failed[0]!.result, undefined);
});

test("without the bench package the report keeps the mulfree rows and says how to install the peers", () => {
  const dir = tmp();
  const { ready, missing } = peerAvailability(dir, ["ort-node", "tfjs-wasm"]);
  assert.deepEqual(ready, []);
  assert.deepEqual(missing.map((m) => m.peer), ["ort-node", "tfjs-wasm"]);
  assert.match(missing[0]!.why, /no bench package/);
  const rows = [row("int8-adder", 1, 1, 5000), row("int8-adder", 1, 256, 20000)];
  const text = reportText({
    title: "t", models: { "int8-adder": "random" }, bundleBytes: { "int8-adder": 1000 }, peerModel: null, data: "d", rows,
    mulfreeEngines: ["int8-adder"], goals: speedGoals(rows), contended: false, missing, seconds: 1, waitedSeconds: 0,
  });
  assert.match(text, /\| int8-adder \| 1 +\| 256 +\| 20,000 \(20,000–20,000\)/);
  assert.doesNotMatch(text, /mulfree ÷ peer/);
  assert.equal(text.split("\n").filter((l) => l.includes("cd bench && npm ci")).length, 1);
  assert.match(text, /ort-node not run: no bench package/);
});

test("disturbed repeats are retried only while the waiting budget lasts", async () => {
  const busy = (load: number): Sample => ({ wall: 0.001, cpu: 0.001, cpuPerWall: 1, otherLoad: load, iters: 1 });
  let calls = 0;
  // no budget: take exactly `repeats` samples however busy the machine is
  let r = await cleanRepeats(async () => (calls++, busy(1.5)), 3, waitBudget(0));
  assert.equal(calls, 3);
  assert.equal(r.samples.length, 3);
  assert.equal(r.retries, 0);
  // a budget: retries (the real machine's load decides how many), bounded by the budget and
  // 3·repeats samples; the least disturbed samples fill in
  calls = 0;
  const budget = waitBudget(300);
  const t0 = Date.now();
  r = await cleanRepeats(async () => busy(1 + 0.1 * calls++), 3, budget);
  assert.ok(Date.now() - t0 < 2000, "bounded by the budget");
  assert.ok(budget.spent > 0);
  assert.ok(calls >= 3 && calls <= 9, `calls ${calls}`);
  assert.equal(r.samples.length, 3);
  assert.equal(r.retries, calls - 3);
  assert.deepEqual(r.samples.map((s) => s.otherLoad), [1, 1.1, 1.2]);
  // a quiet machine: no retries
  calls = 0;
  r = await cleanRepeats(async () => (calls++, busy(0)), 4, waitBudget(1000));
  assert.equal(calls, 4);
  assert.equal(r.retries, 0);
});

test("--models takes checkpoints and bundles by kind; the rest are random models", () => {
  const data = loadBenchData(16, 32);
  const dir = tmp();
  const adder = randomModel("adder", data, 3);
  const adderCkpt = encodeCheckpoint(resolveSpec({ model: "lenet5", op: "adder" }), adder.float!, null);
  // a training run's folder: model.safetensors and checkpoint.safetensors hold the same weights
  mkdirSync(join(dir, "run-adder"));
  writeFileSync(join(dir, "run-adder", "model.safetensors"), adderCkpt);
  writeFileSync(join(dir, "run-adder", "checkpoint.safetensors"), adderCkpt);
  mkdirSync(join(dir, "run-conv"));
  const conv = randomModel("conv", data, 4);
  writeFileSync(join(dir, "run-conv", "conv.mulfree.safetensors"), conv.bundle);
  const files = modelFiles(dir);
  assert.equal(files.length, 2);
  const models = benchModels(files, ["conv", "adder", "shift"], data, 1, () => {});
  assert.match(models.adder!.source, /^checkpoint .*run-adder\/model\.safetensors$/);
  assert.ok(models.adder!.float);
  assert.match(models.conv!.source, /^bundle .*conv\.mulfree\.safetensors$/);
  assert.equal(models.conv!.float, null);
  assert.match(models.shift!.source, /^random LeNet-5 shift-ps 5-bit/);
  // the checkpoint's float model and its in-memory export agree
  assert.ok(top1Agreement(models.adder!, data.test)! >= 0.9);
  // the peers' weights carry the keys bench/lib/lenet.mjs reads
  const keys = Object.keys(floatTensors(conv.float!));
  for (const k of ["conv1.weight", "bn1.running_var", "conv2.weight", "fc1.weight", "bn3.running_mean", "fc2.weight", "bn4.weight", "fc3.weight", "fc3.bias"]) assert.ok(keys.includes(k), k);
  writeFileSync(join(dir, "adder2.safetensors"), adderCkpt);
  assert.throws(() => benchModels(modelFiles(dir), ["adder"], data, 1, () => {}), /two adder models given/);
});
