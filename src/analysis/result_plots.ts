// Figures of the experiment grid (experiments/, docs/results.md): accuracy against energy per image
// with each panel's Pareto front, and accuracy against bit width. One panel per model and dataset,
// one colour per op kind; pure functions from result points to vega-lite specs, like ./plots.ts.
import type { TopLevelSpec } from "vega-lite";
import { figure, RUN_COLOURS, TICK_FORMAT } from "./plots.js";

/** How a model was run: the float model, or a B-bit bundle after calibration alone or after QAT. */
export const PRECISIONS = ["fp32", "int8", "6-bit", "4-bit", "4-bit QAT"] as const;
export type Precision = (typeof PRECISIONS)[number];

export interface ResultPoint {
  dataset: string;
  model: string;
  op: string;
  precision: Precision;
  /** 0–1. */
  accuracy: number;
  /** Arithmetic energy per image in picojoules (mulfree ops). */
  energyPJ: number;
}

const SHAPES = ["circle", "square", "triangle-up", "diamond", "cross"];

/** The points no other point of the same panel beats: at most its energy and more accuracy. */
export function paretoFront(points: readonly ResultPoint[]): ResultPoint[] {
  const sorted = [...points].sort((a, b) => a.energyPJ - b.energyPJ || b.accuracy - a.accuracy);
  const front: ResultPoint[] = [];
  for (const p of sorted) if (!front.length || p.accuracy > front[front.length - 1]!.accuracy) front.push(p);
  return front;
}

/** 1, 2, 5 × powers of ten from below the smallest value to above the largest. */
function steps125(values: readonly number[]): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(Math.min(...values))); e <= Math.ceil(Math.log10(Math.max(...values))); e++) {
    for (const m of [1, 2, 5]) out.push(Number((m * 10 ** e).toPrecision(12)));
  }
  return out;
}

const panelKey = (p: ResultPoint) => `${p.model} · ${p.dataset}`;

function panels(points: readonly ResultPoint[]): string[] {
  return [...new Set(points.map(panelKey))];
}

function opScale(points: readonly ResultPoint[]) {
  const ops = [...new Set(points.map((p) => p.op))];
  return { domain: ops, range: RUN_COLOURS.slice(0, ops.length) };
}

/**
 * Accuracy (%) against arithmetic energy per image (nJ, log scale), a panel per model and dataset
 * (its own accuracy axis), colour for the op kind, shape for the precision, and a line through
 * each panel's Pareto front.
 */
export function accuracyEnergySpec(points: readonly ResultPoint[], opts: { title?: string; subtitle?: string } = {}): TopLevelSpec {
  if (!points.length) throw new RangeError("accuracyEnergySpec: no points");
  const rows = points.map((p) => ({ ...p, panel: panelKey(p), accuracyPct: 100 * p.accuracy, nJ: p.energyPJ / 1000, front: false }));
  const fronts = panels(points).flatMap((panel) =>
    paretoFront(points.filter((p) => panelKey(p) === panel)).map((p) => ({ ...p, panel, accuracyPct: 100 * p.accuracy, nJ: p.energyPJ / 1000, front: true })),
  );
  // ticks at 1-2-5 steps over all panels; each panel shows the ones inside its own domain
  const x = { field: "nJ", type: "quantitative" as const, title: "arithmetic energy per image (nJ, log scale)", scale: { type: "log" as const }, axis: { values: steps125(rows.map((r) => r.nJ)), format: "~s" } };
  const y = { field: "accuracyPct", type: "quantitative" as const, title: "test accuracy (%)", scale: { zero: false }, axis: { format: TICK_FORMAT } };
  return {
    ...figure(opts.title ?? "Accuracy against energy", opts.subtitle ?? "one point per op kind and precision; the grey line joins each panel's Pareto front"),
    data: { values: [...rows, ...fronts] },
    facet: { field: "panel", type: "nominal", title: null, sort: panels(points), header: { labelFontSize: 13, labelFontWeight: "bold" } },
    columns: 2,
    spec: {
      width: 320,
      height: 240,
      layer: [
        { transform: [{ filter: "datum.front" }], mark: { type: "line", color: "#9a9a9a", strokeWidth: 1.5, interpolate: "step-after" }, encoding: { x, y } },
        {
          transform: [{ filter: "!datum.front" }],
          mark: { type: "point", filled: true, size: 70, opacity: 0.9 },
          encoding: {
            x, y,
            color: { field: "op", type: "nominal", title: "op kind", scale: opScale(points) },
            shape: { field: "precision", type: "nominal", title: "precision", scale: { domain: [...PRECISIONS], range: SHAPES } },
            tooltip: [{ field: "op" }, { field: "precision" }, { field: "accuracyPct", format: ".2f" }, { field: "nJ", format: ".4~s" }],
          },
        },
      ],
    },
    // each panel its own axes: LeNet-5 and mobile differ 30× in energy and by points in accuracy
    resolve: { scale: { x: "independent", y: "independent" } },
  } as TopLevelSpec;
}

/**
 * Accuracy (%) against the precision (4-bit, 6-bit, int8, fp32), one line per op kind, a panel
 * per model and dataset; the 4-bit accuracy after QAT as an open marker over "4-bit".
 */
export function accuracyBitsSpec(points: readonly ResultPoint[], opts: { title?: string; subtitle?: string } = {}): TopLevelSpec {
  if (!points.length) throw new RangeError("accuracyBitsSpec: no points");
  const order = ["4-bit", "6-bit", "int8", "fp32"];
  const rows = points.map((p) => ({ ...p, panel: panelKey(p), accuracyPct: 100 * p.accuracy, qat: p.precision === "4-bit QAT", width: p.precision === "4-bit QAT" ? "4-bit" : p.precision }));
  const x = { field: "width", type: "ordinal" as const, title: "precision of weights and activations", sort: order, scale: { domain: order }, axis: { labelAngle: 0 } };
  const y = { field: "accuracyPct", type: "quantitative" as const, title: "test accuracy (%)", scale: { zero: false }, axis: { format: TICK_FORMAT } };
  const color = { field: "op", type: "nominal" as const, title: "op kind", scale: opScale(points) };
  return {
    ...figure(opts.title ?? "Accuracy against bit width", opts.subtitle ?? "post-training quantization (filled, joined); open markers: 4 bits after quantization-aware fine-tuning"),
    data: { values: rows },
    facet: { field: "panel", type: "nominal", title: null, sort: panels(points), header: { labelFontSize: 13, labelFontWeight: "bold" } },
    columns: 2,
    spec: {
      width: 300,
      height: 220,
      layer: [
        { transform: [{ filter: "!datum.qat" }], mark: { type: "line", strokeWidth: 2 }, encoding: { x, y, color } },
        { transform: [{ filter: "!datum.qat" }], mark: { type: "point", filled: true, size: 45, opacity: 1 }, encoding: { x, y, color } },
        { transform: [{ filter: "datum.qat" }], mark: { type: "point", filled: false, size: 110, strokeWidth: 2, shape: "diamond" }, encoding: { x, y, color } },
      ],
    },
    resolve: { scale: { y: "independent" } },
  } as TopLevelSpec;
}
