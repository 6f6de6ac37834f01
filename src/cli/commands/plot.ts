// `mulfree plot`: training curves of runs (each RUN_DIR/log.jsonl), or, with --ops, operation
// counts and energy of models (checkpoints or bundles); SVG through vega-lite, PNG through resvg.
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { opsReport } from "../../analysis/ops_file.js";
import { opsBarsSpec, trainingCurvesSpec, type TrainingRecord, type TrainingRun } from "../../analysis/plots.js";
import { renderPng, renderSvg } from "../../analysis/render.js";
import { writeFileAtomic } from "../../io/files.js";
import type { TopLevelSpec } from "vega-lite";
import type { CommandSpec, ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import { printJson } from "../output.js";

/** One colour each in the palette (tableau10); the parser has no variadic positionals. */
const MAX_INPUTS = 10;

export const plotSpec: CommandSpec = {
  name: "plot",
  summary: "training curves of runs, or operation and energy bars of models (--ops), as SVG and PNG",
  usage: "mulfree plot RUN_DIR... [--out plots] [--name training] [--log-lr]\n" +
    "       mulfree plot --ops CHECKPOINT_OR_BUNDLE... [--out plots] [--name ops]\n\n" +
    `Up to ${MAX_INPUTS} runs or models, overlaid in one figure. A run directory is the --out of mulfree train\n` +
    "(its log.jsonl has one line per epoch). --ops counts each model as mulfree ops does.",
  positionals: ["input", ...Array<string>(MAX_INPUTS - 1).fill("input?")],
  flags: {
    ops: { type: "bool", help: "plot operation counts and energy of models instead of training curves" },
    out: { type: "string", help: "output directory (created if missing)", default: "plots" },
    name: { type: "string", help: "base name of the files written (default: training, or ops with --ops)" },
    "log-lr": { type: "bool", help: "log-scale learning-rate axis (when every learning rate is positive)" },
    scale: { type: "number", help: "PNG pixels per SVG pixel", default: 2, above: 0, max: 8 },
  },
};

const REQUIRED = ["epoch", "trainLoss", "testAccuracy", "lr"] as const;

/** Records of one log.jsonl; every problem names the file and the line. */
export function parseTrainingLog(text: string, path: string): TrainingRecord[] {
  const records: TrainingRecord[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const at = `${path} line ${i + 1}`;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      throw new CliError(`${at}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof rec !== "object" || rec === null || Array.isArray(rec)) throw new CliError(`${at}: expected a JSON object, one per epoch`);
    const r = rec as Record<string, unknown>;
    for (const key of [...REQUIRED, "testAccuracyRunningStats"]) {
      const v = r[key];
      if (v === undefined && key === "testAccuracyRunningStats") continue;
      if (typeof v !== "number" || !Number.isFinite(v)) throw new CliError(`${at}: "${key}" must be a finite number, got ${v === undefined ? "nothing" : JSON.stringify(v)}`);
    }
    records.push(r as unknown as TrainingRecord);
  });
  if (records.length === 0) throw new CliError(`${path} is empty: no epoch has finished in this run yet`);
  return records;
}

function readRun(dir: string): TrainingRecord[] {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (!stat) throw new CliError(`run directory not found: ${dir}`);
  if (!stat.isDirectory()) throw new CliError(`${dir} is not a directory; give the run directory (the --out of mulfree train)`);
  const log = join(dir, "log.jsonl");
  if (!statSync(log, { throwIfNoEntry: false })?.isFile()) throw new CliError(`${log} not found: ${dir} is not a mulfree train output directory`);
  let text: string;
  try {
    text = readFileSync(log, "utf8");
  } catch (e) {
    throw new CliError(`cannot read ${log}: ${(e as Error).message}`);
  }
  return parseTrainingLog(text, log);
}

/**
 * The shortest trailing parts of each path that tell them apart: runs/a/lenet and runs/b/lenet
 * become a/lenet and b/lenet, while runs/conv and runs/adder stay conv and adder.
 */
export function distinctPathLabels(paths: readonly string[]): string[] {
  const parts = paths.map((p) => resolve(p).split(sep).filter(Boolean));
  const depth = parts.map(() => 1);
  const label = (i: number) => parts[i].slice(-depth[i]).join("/");
  for (let changed = true; changed; ) {
    changed = false;
    const labels = parts.map((_, i) => label(i));
    labels.forEach((l, i) => {
      if (labels.indexOf(l) !== labels.lastIndexOf(l) && depth[i] < parts[i].length) {
        depth[i]++;
        changed = true;
      }
    });
  }
  return parts.map((_, i) => label(i));
}

async function writeFigure(spec: TopLevelSpec, out: string, name: string, scale: number): Promise<{ svg: string; png: string }> {
  const svg = await renderSvg(spec);
  const png = await renderPng(svg, { scale });
  mkdirSync(out, { recursive: true });
  const files = { svg: join(out, `${name}.svg`), png: join(out, `${name}.png`) };
  writeFileAtomic(files.svg, new TextEncoder().encode(svg));
  writeFileAtomic(files.png, png);
  return files;
}

export async function runPlot(f: ParsedFlags, inputs: string[]): Promise<void> {
  const ops = f.ops === true;
  const name = String(f.name ?? (ops ? "ops" : "training"));
  if (name.includes("/") || name.includes(sep)) throw new CliError(`--name is a file name without a directory, got '${name}' (use --out for the directory)`);
  const labels = distinctPathLabels(inputs);
  let spec: TopLevelSpec;
  if (ops) {
    spec = opsBarsSpec(inputs.map((path) => opsReport(path)), { names: labels });
  } else {
    const runs: TrainingRun[] = inputs.map((dir, i) => ({ name: labels[i], records: readRun(dir) }));
    spec = trainingCurvesSpec(runs, { logLr: f.logLr === true });
  }
  const files = await writeFigure(spec, String(f.out), name, Number(f.scale));
  process.stdout.write(`wrote ${files.svg} and ${files.png}\n`);
  if (f.json) printJson({ command: "plot", kind: ops ? "ops" : "training", inputs, labels, files });
}
