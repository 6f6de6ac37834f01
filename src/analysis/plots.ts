// Vega-lite figures of training runs and operation reports: pure functions from data to a spec,
// rendered by ./render.ts. Every panel carries its data inline, so a spec is self-contained
// (it can be saved as JSON and opened in the vega editor).
import type { TopLevelSpec } from "vega-lite";
import type { OpsReport } from "./op_counts.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** One line of a run's log.jsonl, as far as the plots need it (the trainer's EpochRecord). */
export interface TrainingRecord {
  epoch: number;
  trainLoss: number;
  /** 0–1; after a PreciseBN recalibration when testAccuracyRunningStats is present. */
  testAccuracy: number;
  lr: number;
  /** 0–1: the accuracy with BatchNorm's running statistics, before the recalibration. */
  testAccuracyRunningStats?: number;
}

export interface TrainingRun {
  name: string;
  records: readonly TrainingRecord[];
}

export interface TrainingCurvesOptions {
  title?: string;
  /** Log-scale learning-rate axis; ignored unless every lr is positive (log 0 is undefined). */
  logLr?: boolean;
  /** Log-scale loss axis (default true, when every loss is positive): late epochs stay apart. */
  logLoss?: boolean;
  /** Width of each panel in pixels. */
  panelWidth?: number;
}

/** Tableau 10 with green third: orange next to red is hard to tell apart. */
export const RUN_COLOURS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#ff9da6", "#9d755d", "#bab0ac"];

/** Shared look: light grid, legends under the panels (run names can be long paths). */
export const CONFIG = {
  font: "DejaVu Sans, Helvetica, Arial, sans-serif",
  view: { stroke: "#c8c8c8" },
  axis: { gridColor: "#e8e8e8", labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal" as const, titleColor: "#333", labelColor: "#333" },
  legend: { orient: "bottom" as const, direction: "horizontal" as const, labelFontSize: 12, titleFontSize: 12, titleFontWeight: "normal" as const, labelLimit: 0, titleLimit: 0, symbolStrokeWidth: 2.5 },
  title: { fontSize: 17, fontWeight: "bold" as const, subtitleFontSize: 12, subtitleColor: "#555", anchor: "start" as const, offset: 12 },
  concat: { spacing: 36 },
};

/**
 * Four significant digits, trailing zeros dropped: 94.8, 0.001, 100. Without a precision vega
 * picks one from the tick step, and "~g" then writes 100 as "1e+2".
 */
export const TICK_FORMAT = ".4~r";

/** What every figure has at its top level: schema, white background, title and look. */
export function figure(text: string, subtitle: string) {
  return { $schema: SCHEMA, background: "white", padding: 16, title: { text, subtitle }, config: CONFIG };
}

export const PANEL_TITLE = { fontSize: 13, fontWeight: "bold" as const, anchor: "middle" as const };

/**
 * A log axis fitted to the data, ticks and grid lines at powers of ten (vega's default also
 * draws 2× and 5× lines, which crowd a small panel); at 1-2-5 steps when fewer than two powers
 * of ten fall inside. `values` must all be positive.
 */
export function logAxis(values: readonly number[], format: string): { scale: { type: "log"; domain: number[]; nice: false }; axis: { values: number[]; format: string } } {
  const lo = Math.min(...values) / 1.2, hi = Math.max(...values) * 1.2;
  const ticks = (steps: number[]) => {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) for (const m of steps) out.push(m * 10 ** e);
    // 10 ** e is inexact for negative e; rounding to 12 significant digits gives 0.001, not 0.0010000000000000002
    return out.map((v) => Number(v.toPrecision(12))).filter((v) => v >= lo && v <= hi);
  };
  const decades = ticks([1]);
  return { scale: { type: "log", domain: [lo, hi], nice: false }, axis: { values: decades.length >= 2 ? decades : ticks([1, 2, 5]), format } };
}

/** Names as given, with " (2)", " (3)" … added to repeats so that no two series merge. */
export function distinctNames(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n} (${k})`;
  });
}

/** Labels of the two accuracy line styles, shown only when some record has PreciseBN data. */
export const BN_RECALIBRATED = "recalibrated (PreciseBN)";
export const BN_RUNNING = "running averages";

/**
 * Three panels side by side: train loss, test accuracy (%) and learning rate against the epoch,
 * one colour per run. When any record has testAccuracyRunningStats, the accuracy panel tells the
 * two BatchNorm statistics apart: solid for the recalibrated accuracy, dashed for the running
 * averages. A record without that field was evaluated with the running averages, so in such a
 * figure it is drawn dashed too: the line style always means the same statistics.
 */
export function trainingCurvesSpec(runs: readonly TrainingRun[], opts: TrainingCurvesOptions = {}): TopLevelSpec {
  if (runs.length === 0) throw new RangeError("trainingCurvesSpec: no runs to plot");
  const names = distinctNames(runs.map((r) => r.name));
  const rows = runs.flatMap((r, i) => [...r.records].sort((a, b) => a.epoch - b.epoch).map((rec) => ({ ...rec, run: names[i], rank: i })));
  // what every plotted row carries: the series and the x value
  const key = (r: (typeof rows)[number]) => ({ run: r.run, rank: r.rank, epoch: r.epoch });
  const precise = rows.some((r) => r.testAccuracyRunningStats !== undefined);
  const accuracy = rows.flatMap((r) => {
    if (r.testAccuracyRunningStats !== undefined) {
      return [
        { ...key(r), accuracy: 100 * r.testAccuracy, statistics: BN_RECALIBRATED },
        { ...key(r), accuracy: 100 * r.testAccuracyRunningStats, statistics: BN_RUNNING },
      ];
    }
    // evaluated with the running averages (the line style only shows when `precise`)
    return [{ ...key(r), accuracy: 100 * r.testAccuracy, statistics: BN_RUNNING }];
  });
  const logLr = opts.logLr === true && rows.every((r) => r.lr > 0);
  const logLoss = opts.logLoss !== false && rows.every((r) => r.trainLoss > 0);
  const epochs = rows.map((r) => r.epoch);
  const lo = Math.min(...epochs), hi = Math.max(...epochs);
  const width = opts.panelWidth ?? 300;
  // markers help while there are few epochs; on long runs they only blur the line
  const points = new Set(epochs).size <= 40;
  // points as a layer of their own: a line's `point` option makes vega-lite hide the dash legend's symbols
  const markers = points ? [{ mark: { type: "point" as const, filled: true, size: 28, opacity: 1 } }] : [];
  const x = {
    field: "epoch",
    type: "quantitative" as const,
    title: "epoch",
    // half an epoch either side of a single epoch, so the domain is never empty
    scale: { domain: lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi], nice: false },
    axis: { tickMinStep: 1, format: "d" },
  };
  const strokeLegend = { symbolType: "stroke", symbolSize: 400, symbolStrokeWidth: 2.5 };
  // at most four runs a row, so long run names do not make the legend wider than the figure
  const color = { field: "run", type: "nominal" as const, title: "run", scale: { domain: names, range: RUN_COLOURS }, legend: { ...strokeLegend, columns: Math.min(4, names.length) } };
  // earlier runs are drawn wider, so a later run on exactly the same values leaves them as an outline
  const widths = names.map((_, i) => 3.25 - (1.25 * i) / Math.max(1, names.length - 1));
  // by rank, not run: vega-lite would merge a legend-less channel on "run" into the colour legend
  const strokeWidth = { field: "rank", type: "ordinal" as const, scale: { domain: names.map((_, i) => i), range: widths }, legend: null };
  const panel = (title: string, subtitle: string, values: object[], y: object, extra: object = {}) => ({
    title: { text: title, subtitle, ...PANEL_TITLE, subtitleFontSize: 11, subtitleColor: "#666" },
    width,
    height: 230,
    data: { values },
    encoding: { x, y, color },
    layer: [{ mark: { type: "line" as const }, encoding: { strokeWidth, ...extra } }, ...markers],
  });
  return {
    ...figure(opts.title ?? "Training curves", `${runs.length} run${runs.length === 1 ? "" : "s"}: ${names.join(", ")}`),
    hconcat: [
      panel("Training loss", "mean over each epoch", rows.map((r) => ({ ...key(r), loss: r.trainLoss })), {
        field: "loss", type: "quantitative", title: logLoss ? "cross-entropy (log scale)" : "cross-entropy",
        ...(logLoss ? logAxis(rows.map((r) => r.trainLoss), TICK_FORMAT) : { scale: { zero: true }, axis: { format: TICK_FORMAT } }),
      }),
      panel("Test accuracy", "after each epoch", accuracy, {
        field: "accuracy", type: "quantitative", title: "accuracy (%)", scale: { zero: false }, axis: { format: TICK_FORMAT },
      }, precise ? {
        strokeDash: {
          field: "statistics", type: "nominal", title: "accuracy with BatchNorm statistics",
          scale: { domain: [BN_RECALIBRATED, BN_RUNNING], range: [[1, 0], [6, 4]] },
          legend: { ...strokeLegend, direction: "vertical", symbolStrokeColor: "#555" },
        },
      } : {}),
      panel("Learning rate", "during each epoch", rows.map((r) => ({ ...key(r), lr: r.lr })), {
        field: "lr", type: "quantitative", title: logLr ? "learning rate (log scale)" : "learning rate",
        ...(logLr ? logAxis(rows.map((r) => r.lr), TICK_FORMAT) : { scale: { zero: true }, axis: { format: TICK_FORMAT } }),
      }),
    ],
    resolve: { scale: { color: "shared", strokeDash: "shared" } },
  } as TopLevelSpec;
}

// ---- operation counts and energy ----

/** The operation kinds of an OpsReport summary, in plotting order, with their axis labels. */
export const OP_KINDS = [
  { key: "mults", label: "multiplications" },
  { key: "adds", label: "additions" },
  { key: "shifts", label: "shifts" },
  { key: "compares", label: "comparisons" },
  { key: "divExp", label: "div / exp / √" },
] as const;

const KIND_COLOURS = ["#d62728", "#4c78a8", "#54a24b", "#9d9d9d", "#b279a2"];

/** Where the arithmetic energy goes, by the row's op (float and integer graphs alike). */
export const ENERGY_PARTS = ["weight layers", "BatchNorm / requantization", "everything else"] as const;
export type EnergyPart = (typeof ENERGY_PARTS)[number];

const PART_COLOURS = ["#4c78a8", "#f58518", "#c9c9c9"];

const WEIGHT_OPS = new Set(["conv", "linear", "adder", "shift", "int8 mul", "int8 adder"]);
const NORMALISATION_OPS = new Set(["batchnorm", "requant"]);

export function energyPart(op: string): EnergyPart {
  if (WEIGHT_OPS.has(op)) return "weight layers";
  if (NORMALISATION_OPS.has(op)) return "BatchNorm / requantization";
  return "everything else";
}

/** "1,958.5", or "0.042" below one nanojoule (as mulfree ops prints energies). */
function nanojoules(pj: number): string {
  const digits = pj < 1000 ? 3 : 1;
  return (pj / 1000).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export interface OpsBarsOptions {
  /** One per report, e.g. the file name; the model, op and graph are added underneath. */
  names?: readonly string[];
  title?: string;
}

/** The label of a report on the x axis: "name\nmodel op, float|integer graph" (two lines). */
function reportLabel(r: OpsReport, name: string | undefined): string {
  const what = `${r.model} ${r.op}, ${r.graph}`;
  return name ? `${name}\n${what}` : what;
}

/**
 * Two panels: operation counts per kind (grouped bars, log scale, each bar labelled with its
 * count, so zeros show as "0") and arithmetic energy per image, stacked by where it goes.
 */
export function opsBarsSpec(reports: readonly OpsReport[], opts: OpsBarsOptions = {}): TopLevelSpec {
  if (reports.length === 0) throw new RangeError("opsBarsSpec: no reports to plot");
  if (opts.names && opts.names.length !== reports.length) throw new RangeError(`opsBarsSpec: ${opts.names.length} names for ${reports.length} reports`);
  const labels = distinctNames(reports.map((r, i) => reportLabel(r, opts.names?.[i])));
  const counts = reports.flatMap((r, i) => OP_KINDS.map(({ key, label }) => ({ model: labels[i], kind: label, count: r.total[key] })));
  const energy = reports.flatMap((r, i) => ENERGY_PARTS.map((part) => ({
    model: labels[i],
    part,
    order: ENERGY_PARTS.indexOf(part),
    nJ: r.layers.filter((l) => energyPart(l.op) === part).reduce((a, l) => a + l.energyPJ, 0) / 1000,
  })));
  const totals = reports.map((r, i) => {
    const normalisation = energy.find((e) => e.model === labels[i] && e.part === "BatchNorm / requantization")!.nJ;
    const share = r.total.energyPJ > 0 ? Math.round((100 * 1000 * normalisation) / r.total.energyPJ) : 0;
    return { model: labels[i], nJ: r.total.energyPJ / 1000, label: `${nanojoules(r.total.energyPJ)} nJ, ${share} % in BN / requant` };
  });
  // each model's band is as wide as its longest label line (about 6.5 px a character at 11 px)
  const longest = Math.max(...labels.flatMap((l) => l.split("\n").map((line) => line.length)));
  const band = Math.max(110, Math.ceil(longest * 6.5) + 24);
  const modelAxis = {
    field: "model", type: "nominal" as const, title: null, sort: labels,
    scale: { paddingInner: 0.15, paddingOuter: 0.1 },
    axis: { labelAngle: 0, labelExpr: "split(datum.label, '\\n')", labelFontSize: 11, labelLimit: 0, labelPadding: 6, ticks: false },
  };
  const legend = { orient: "right" as const, direction: "vertical" as const };
  // a log axis cannot show 0: bars start at 1, and the text label above says "0"; the top
  // decade leaves room for the labels over the tallest bar
  const maxCount = Math.max(1, ...counts.map((c) => c.count));
  const countAxis = logAxis([1, maxCount * 10 ** 0.7], "~s");
  const kinds = OP_KINDS.map((k) => k.label);
  const countsPanel = {
    title: { text: "Operations per image", ...PANEL_TITLE },
    width: { step: band, for: "position" as const },
    height: 280,
    data: { values: counts.map((c) => ({ ...c, shown: Math.max(1, c.count) })) },
    encoding: {
      x: modelAxis,
      xOffset: { field: "kind", type: "nominal" as const, sort: kinds, scale: { paddingInner: 0.1 } },
      y: {
        field: "shown", type: "quantitative" as const, title: "count (log scale)", ...countAxis,
      },
    },
    layer: [
      {
        transform: [{ filter: "datum.count > 0" }],
        mark: { type: "bar" as const },
        encoding: {
          y: { field: "shown", type: "quantitative" as const, stack: null },
          y2: { datum: 1 },
          color: { field: "kind", type: "nominal" as const, title: "operation", sort: kinds, scale: { domain: kinds, range: KIND_COLOURS }, legend },
        },
      },
      {
        mark: { type: "text" as const, angle: 270, align: "left" as const, baseline: "middle" as const, dx: 3, fontSize: 10, color: "#333" },
        encoding: { text: { field: "count", type: "quantitative" as const, format: ".3~s" } },
      },
    ],
  };
  const energyPanel = {
    title: { text: "Arithmetic energy per image", ...PANEL_TITLE },
    width: { step: band, for: "position" as const },
    height: 240,
    encoding: { x: modelAxis },
    layer: [
      {
        data: { values: energy },
        mark: { type: "bar" as const },
        encoding: {
          y: { field: "nJ", type: "quantitative" as const, aggregate: "sum" as const, stack: "zero" as const, title: "energy (nJ per image)" },
          color: { field: "part", type: "nominal" as const, title: "energy in", sort: [...ENERGY_PARTS], scale: { domain: [...ENERGY_PARTS], range: PART_COLOURS }, legend },
          order: { field: "order", type: "quantitative" as const, sort: "ascending" as const },
        },
      },
      {
        data: { values: totals },
        mark: { type: "text" as const, baseline: "bottom" as const, dy: -3, fontSize: 11, color: "#333" },
        encoding: { y: { field: "nJ", type: "quantitative" as const }, text: { field: "label", type: "nominal" as const } },
      },
    ],
  };
  return {
    ...figure(opts.title ?? "Operations and energy per image", "arithmetic energy at 45 nm, 0.9 V (Horowitz, ISSCC 2014); weight reads from memory not included"),
    // stacked, so each model's bars line up in one column
    vconcat: [countsPanel, energyPanel],
    resolve: { scale: { color: "independent", y: "independent" } },
  } as TopLevelSpec;
}
