// `mulfree plot`: the vega-lite specs (series, fields, scales), their rendering to SVG and PNG,
// and the CLI's handling of run directories and logs (one-line errors naming file and line).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildReport, layerRow, type OpsReport } from "../src/analysis/op_counts.js";
import { BN_RECALIBRATED, BN_RUNNING, ENERGY_PARTS, energyPart, OP_KINDS, opsBarsSpec, trainingCurvesSpec, type TrainingRecord } from "../src/analysis/plots.js";
import { renderPng, renderSvg } from "../src/analysis/render.js";
import { accuracyBitsSpec, accuracyEnergySpec, paretoFront, type ResultPoint } from "../src/analysis/result_plots.js";
import { distinctPathLabels, parseTrainingLog, runPlot } from "../src/cli/commands/plot.js";

type Panel = { data: { values: Array<Record<string, unknown>> }; encoding: Record<string, { field?: string; scale?: { type?: string; domain?: unknown[] } }>; layer: Array<{ mark: { type: string }; encoding?: Record<string, unknown> }> };

const records = (lr0: number, accuracy: number[]): TrainingRecord[] =>
  accuracy.map((a, i) => ({ epoch: i + 1, trainLoss: 2 / (i + 1), testAccuracy: a, lr: lr0 * (1 - i / accuracy.length) }));

const RUNS = [
  { name: "lenet5-conv", records: records(0.05, [0.9, 0.95, 0.97]) },
  { name: "lenet5-adder", records: records(0.1, [0.2, 0.6, 0.9]) },
];

const panelsOf = (spec: object) => (spec as { hconcat: Panel[] }).hconcat;
const runsIn = (p: Panel) => [...new Set(p.data.values.map((v) => v.run))];

test("training curves: loss, accuracy in percent and learning rate against the epoch, one colour per run", () => {
  const [loss, acc, lr] = panelsOf(trainingCurvesSpec(RUNS));
  for (const [p, field] of [[loss, "loss"], [acc, "accuracy"], [lr, "lr"]] as const) {
    assert.equal(p.encoding.x.field, "epoch");
    assert.equal(p.encoding.y.field, field);
    assert.equal(p.encoding.color.field, "run");
    assert.deepEqual(p.encoding.color.scale?.domain, ["lenet5-conv", "lenet5-adder"]);
    assert.deepEqual(runsIn(p), ["lenet5-conv", "lenet5-adder"]);
    assert.equal(p.data.values.length, 6, `${field}: one point per run and epoch`);
    assert.deepEqual(p.layer.map((l) => l.mark.type), ["line", "point"]);
  }
  assert.deepEqual(acc.data.values.filter((v) => v.run === "lenet5-adder").map((v) => v.accuracy), [20, 60, 90]);
  assert.equal(acc.layer[0].encoding?.strokeDash, undefined, "no dashed series without PreciseBN data");
  assert.equal(loss.encoding.y.scale?.type, "log", "loss on a log axis by default");
  assert.notEqual(lr.encoding.y.scale?.type, "log", "linear learning rate unless asked");
});

test("training curves: running-statistics accuracy is a dashed series of the same run; log lr only when every lr > 0", () => {
  const precise = records(0.1, [0.5, 0.8]).map((r, i) => ({ ...r, testAccuracyRunningStats: [0.3, 0.7][i] }));
  const [, acc] = panelsOf(trainingCurvesSpec([RUNS[0], { name: "adder", records: precise }]));
  const dash = acc.layer[0].encoding?.strokeDash as { field: string; scale: { domain: string[] } };
  assert.equal(dash.field, "statistics");
  assert.deepEqual(dash.scale.domain, [BN_RECALIBRATED, BN_RUNNING]);
  const series = (run: string, statistics: string) => acc.data.values.filter((v) => v.run === run && v.statistics === statistics).map((v) => v.accuracy);
  assert.deepEqual(series("adder", BN_RECALIBRATED), [50, 80]);
  assert.deepEqual(series("adder", BN_RUNNING), [30, 70]);
  // the conv run was evaluated with running averages: same style as the adder's before recalibration
  assert.deepEqual(series("lenet5-conv", BN_RUNNING), [90, 95, 97]);
  assert.deepEqual(series("lenet5-conv", BN_RECALIBRATED), []);

  assert.equal(panelsOf(trainingCurvesSpec(RUNS, { logLr: true }))[2].encoding.y.scale?.type, "log");
  const withZero = [{ name: "z", records: [...records(0.1, [0.5]), { epoch: 2, trainLoss: 0.5, testAccuracy: 0.6, lr: 0 }] }];
  assert.notEqual(panelsOf(trainingCurvesSpec(withZero, { logLr: true }))[2].encoding.y.scale?.type, "log", "log 0 is undefined");
  assert.deepEqual(runsIn(panelsOf(trainingCurvesSpec([RUNS[0], RUNS[0]]))[0]), ["lenet5-conv", "lenet5-conv (2)"], "repeated names stay apart");
});

/** A small report: a weight layer, BatchNorm and a ReLU, with made-up counts. */
function report(op: string, mults: number, adds: number): OpsReport {
  return buildReport("float", "lenet5", op, [
    layerRow("conv1", op, "", [{ kind: "mul", type: "fp32", count: mults, what: "x·w" }, { kind: "add", type: "fp32", count: adds, what: "accumulate" }], 600),
    layerRow("bn1", "batchnorm", "", [{ kind: "mul", type: "fp32", count: 100, what: "scale" }, { kind: "sqrt", type: "fp32", count: 4, what: "√" }]),
    layerRow("relu", "relu", "", [{ kind: "cmp", type: "fp32", count: 100, what: "max" }]),
  ], []);
}

test("ops bars: counts per kind and model, energy per model split by where it goes", () => {
  const reports = [report("conv", 1000, 1000), report("adder", 0, 2000)];
  const spec = opsBarsSpec(reports, { names: ["a.safetensors", "b.safetensors"] }) as unknown as { vconcat: Panel[] };
  const [counts, energy] = spec.vconcat;
  const labels = ["a.safetensors\nlenet5 conv, float", "b.safetensors\nlenet5 adder, float"];
  assert.deepEqual(counts.encoding.x.field, "model");
  assert.equal(counts.encoding.y.scale?.type, "log");
  const count = (model: string, kind: string) => counts.data.values.find((v) => v.model === model && v.kind === kind)?.count;
  OP_KINDS.forEach(({ key, label }) => reports.forEach((r, i) => assert.equal(count(labels[i], label), r.total[key], `${label} of ${labels[i]}`)));
  assert.equal(count(labels[1], "multiplications"), 100, "BatchNorm's, the adder layer has none");
  assert.equal(count(labels[1], "shifts"), 0);
  assert.deepEqual((counts.layer[0] as unknown as { transform: unknown[] }).transform, [{ filter: "datum.count > 0" }], "no bar for a zero on the log axis");

  const bars = (energy.layer[0] as unknown as Panel).data.values;
  assert.deepEqual([...new Set(bars.map((v) => v.part))], [...ENERGY_PARTS]);
  reports.forEach((r, i) => {
    const parts = bars.filter((v) => v.model === labels[i]);
    const sum = parts.reduce((a, v) => a + (v.nJ as number), 0);
    assert.ok(Math.abs(sum - r.total.energyPJ / 1000) < 1e-9, "the parts add up to the total");
    assert.equal(parts.find((v) => v.part === "BatchNorm / requantization")!.nJ, (100 * 3.7 + 4 * 3.7) / 1000);
  });
  assert.equal(energyPart("int8 adder"), "weight layers");
  assert.equal(energyPart("requant"), "BatchNorm / requantization");
  assert.equal(energyPart("softmax"), "everything else");
  assert.throws(() => opsBarsSpec(reports, { names: ["one"] }), /1 names for 2 reports/);
});

test("rendering: an SVG naming every run and model, and a PNG", async () => {
  const svg = await renderSvg(trainingCurvesSpec(RUNS));
  assert.ok(svg.startsWith("<svg") && svg.length > 10_000);
  for (const t of ["lenet5-conv", "lenet5-adder", "Training loss", "Test accuracy", "Learning rate", "accuracy (%)"]) assert.ok(svg.includes(`>${t}<`), `has the text ${t}`);
  const png = await renderPng(svg, { scale: 1 });
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const ops = await renderSvg(opsBarsSpec([report("conv", 1000, 1000), report("adder", 0, 2000)], { names: ["cnn.safetensors", "adder.safetensors"] }));
  for (const t of ["cnn.safetensors", "adder.safetensors", "lenet5 adder, float", "multiplications"]) assert.ok(ops.includes(`>${t}<`), `has the text ${t}`);
  await assert.rejects(renderPng(svg, { scale: 0 }), /scale must be a positive number/);
});

// ---- the command ----

const dir = mkdtempSync(join(tmpdir(), "mulfree-plot-"));
const line = (r: TrainingRecord) => JSON.stringify({ ...r, imagesPerSecond: 1000, seconds: 1, time: "2026-01-01T00:00:00Z" });

function runDir(name: string, log: string | null): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  if (log !== null) writeFileSync(join(d, "log.jsonl"), log);
  return d;
}

const conv = runDir("conv", RUNS[0].records.map(line).join("\n") + "\n");
const adder = runDir("adder", RUNS[1].records.map(line).join("\n") + "\n");

test("log parsing: records in, each problem one line naming the file and line", () => {
  assert.equal(parseTrainingLog(readFileSync(join(conv, "log.jsonl"), "utf8"), "log.jsonl").length, 3);
  const bad = (text: string, pattern: RegExp) => assert.throws(() => parseTrainingLog(text, "runs/x/log.jsonl"), (e: Error) => !e.message.includes("\n") && pattern.test(e.message));
  bad(`${line(RUNS[0].records[0])}\n{"epoch": 2, "trainLoss"`, /^runs\/x\/log\.jsonl line 2: not valid JSON/);
  bad(`${line(RUNS[0].records[0])}\n\n[1, 2]\n`, /^runs\/x\/log\.jsonl line 3: expected a JSON object/);
  bad(JSON.stringify({ epoch: 1, trainLoss: 1, lr: 0.1 }), /line 1: "testAccuracy" must be a finite number, got nothing/);
  bad(JSON.stringify({ ...RUNS[0].records[0], testAccuracyRunningStats: "0.5" }), /line 1: "testAccuracyRunningStats" must be a finite number, got "0\.5"/);
  bad("\n\n", /^runs\/x\/log\.jsonl is empty/);
});

test("run directories: missing, not a directory, without a log; labels from the shortest distinct path ends", async () => {
  const flags = { out: join(dir, "never"), scale: 1 };
  await assert.rejects(runPlot(flags, [conv, join(dir, "nope")]), new RegExp(`^Error: run directory not found: .*nope$`));
  await assert.rejects(runPlot(flags, [join(conv, "log.jsonl")]), /conv\/log\.jsonl is not a directory/);
  await assert.rejects(runPlot(flags, [runDir("empty-run", null)]), /empty-run\/log\.jsonl not found: .* is not a mulfree train output directory/);
  await assert.rejects(runPlot({ ...flags, name: "a/b" }, [conv]), /--name is a file name without a directory/);
  assert.deepEqual(distinctPathLabels(["runs/conv", "runs/adder/"]), ["conv", "adder"]);
  assert.deepEqual(distinctPathLabels(["a/lenet/checkpoint.safetensors", "b/lenet/checkpoint.safetensors", "c/x.safetensors"]), ["a/lenet/checkpoint.safetensors", "b/lenet/checkpoint.safetensors", "x.safetensors"]);
});

// the command as main.ts runs it (parse, run, one-line errors), without registering it there
const HARNESS = `
const [{ parseArgs }, { plotSpec, runPlot }, { reportError }] = await Promise.all([
  import(${JSON.stringify(new URL("../src/cli/args.js", import.meta.url).href)}),
  import(${JSON.stringify(new URL("../src/cli/commands/plot.js", import.meta.url).href)}),
  import(${JSON.stringify(new URL("../src/cli/errors.js", import.meta.url).href)}),
]);
try {
  const p = parseArgs(plotSpec, process.argv.slice(1));
  await runPlot(p.flags, p.positionals);
} catch (e) {
  process.exitCode = reportError(e, false);
}`;

const plot = (...args: string[]) => spawnSync(process.execPath, ["--input-type=module", "-e", HARNESS, ...args], { encoding: "utf8" });

test("mulfree plot writes training.svg and training.png; --json ends with the files; a bad line is one line of stderr", () => {
  const out = join(dir, "plots");
  const r = plot(conv, adder, "--out", out, "--json", "--scale", "1");
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { command: string; files: { svg: string; png: string }; labels: string[] };
  assert.equal(json.command, "plot");
  assert.deepEqual(json.files, { svg: join(out, "training.svg"), png: join(out, "training.png") });
  assert.deepEqual(json.labels, ["conv", "adder"]);
  assert.ok(readFileSync(json.files.svg, "utf8").includes(">adder<"));
  assert.equal(readFileSync(json.files.png).subarray(1, 4).toString(), "PNG");

  const broken = runDir("broken", `${line(RUNS[0].records[0])}\n{"epoch": 2,\n`);
  const e = plot(conv, broken, "--out", out);
  assert.equal(e.status, 1);
  assert.equal(e.stderr.trim().split("\n").length, 1, e.stderr);
  assert.match(e.stderr, new RegExp(`^mulfree: error: ${join(broken, "log.jsonl").replace(/[.]/g, "\\.")} line 2: not valid JSON`));
  const m = plot(join(dir, "missing-run"), "--out", out);
  assert.equal(m.stderr.trim().split("\n").length, 1, m.stderr);
  assert.match(m.stderr, /^mulfree: error: run directory not found: .*missing-run$/m);
});

// ---- the experiment grid's figures (src/analysis/result_plots.ts) ----

const point = (op: string, precision: ResultPoint["precision"], accuracy: number, energyPJ: number, model = "lenet5"): ResultPoint => ({ dataset: "mnist", model, op, precision, accuracy, energyPJ });

test("Pareto front: the points that no cheaper-or-equal point beats, in order of energy", () => {
  const pts = [point("conv", "fp32", 0.99, 2000), point("adder", "int8", 0.985, 80), point("adder", "4-bit", 0.97, 80), point("conv", "int8", 0.991, 150), point("shift-q", "int8", 0.98, 110)];
  assert.deepEqual(paretoFront(pts).map((p) => `${p.op} ${p.precision}`), ["adder int8", "conv int8"]);
  assert.deepEqual(paretoFront([]), []);
});

test("results figures: a panel per model and dataset, colour per op kind, shape per precision, the front drawn only from its own panel", async () => {
  const pts = [point("conv", "fp32", 0.99, 2e6), point("adder", "int8", 0.985, 8e4), point("adder", "4-bit QAT", 0.98, 8e4), point("conv", "int8", 0.96, 1e5, "mobile"), point("adder", "fp32", 0.95, 3e5, "mobile")];
  const spec = accuracyEnergySpec(pts) as unknown as { data: { values: Array<Record<string, unknown>> }; facet: { sort: string[] }; spec: { layer: Array<{ encoding: Record<string, { field?: string }> }> } };
  assert.deepEqual(spec.facet.sort, ["lenet5 · mnist", "mobile · mnist"]);
  const front = spec.data.values.filter((v) => v.front).map((v) => `${v.panel}: ${v.op} ${v.precision}`);
  assert.deepEqual(front, ["lenet5 · mnist: adder int8", "lenet5 · mnist: conv fp32", "mobile · mnist: conv int8"]);
  assert.equal(spec.spec.layer[1]!.encoding.color!.field, "op");
  assert.equal(spec.spec.layer[1]!.encoding.shape!.field, "precision");
  const bits = accuracyBitsSpec(pts) as unknown as { data: { values: Array<Record<string, unknown>> } };
  const qat = bits.data.values.find((v) => v.precision === "4-bit QAT")!;
  assert.equal(qat.width, "4-bit", "QAT sits over the 4-bit column");
  assert.equal(qat.qat, true);
  for (const s of [spec, bits]) assert.match(await renderSvg(s as never), /<svg[\s\S]*lenet5 · mnist[\s\S]*mobile · mnist/);
  assert.throws(() => accuracyEnergySpec([]), /no points/);
});
