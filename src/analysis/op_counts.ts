// The shape of an operation report, shared by the float-graph counter (ops.ts) and the
// integer-graph counter (ops_int.ts): rows of typed operation counts, and totals and energy
// derived from them, so that "total = sum of rows" and "energy = counts × table" hold by
// construction.
import { ENERGY_SOURCE, energyOf, SRAM_READ_32BIT_PJ, type OpKind, type OpType } from "./energy.js";

export interface OpCount {
  kind: OpKind;
  type: OpType;
  count: number;
  /** What the operations are, e.g. "x − w", "accumulate", "(acc + bias)·mult". */
  what: string;
}

export interface Summary {
  mults: number;
  adds: number;
  shifts: number;
  compares: number;
  /** Divisions, exp and square roots: rarer and dearer than a multiply, so counted apart. */
  divExp: number;
  energyPJ: number;
}

export interface LayerOps extends Summary {
  /** Dotted module name, or a step such as "input" or "softmax". */
  name: string;
  /** The arithmetic, e.g. "conv", "adder", "shift", "batchnorm", "requant", "relu". */
  op: string;
  /** Shapes, in words. */
  detail: string;
  ops: OpCount[];
  weightBytes: number;
}

export interface OpsReport {
  graph: "float" | "integer";
  /** Model name and op kind, as far as the file says. */
  model: string;
  op: string;
  /** Operations are counted for one image. */
  batch: 1;
  layers: LayerOps[];
  total: Summary & { weightBytes: number };
  /** Weights read once per image from SRAM at the table's 32-bit read energy (not in energyPJ). */
  weightReadPJ: number;
  energySource: string;
  /** "type kind = pJ" for every table row the energies here use. */
  tableRows: string[];
  /** "type kind: reason" for every energy used here that is not a row of the table. */
  assumptions: string[];
  notes: string[];
}

function summarise(ops: OpCount[]): Summary {
  const s: Summary = { mults: 0, adds: 0, shifts: 0, compares: 0, divExp: 0, energyPJ: 0 };
  for (const o of ops) {
    if (o.kind === "mul") s.mults += o.count;
    else if (o.kind === "add") s.adds += o.count;
    else if (o.kind === "shift") s.shifts += o.count;
    else if (o.kind === "cmp") s.compares += o.count;
    else s.divExp += o.count;
    s.energyPJ += o.count * energyOf(o.kind, o.type).pj;
  }
  return s;
}

/** One row; operations with a zero count are dropped. */
export function layerRow(name: string, op: string, detail: string, ops: OpCount[], weightBytes = 0): LayerOps {
  const kept = ops.filter((o) => o.count > 0);
  return { name, op, detail, ops: kept, weightBytes, ...summarise(kept) };
}

/** Totals, the weight-read energy and the assumptions behind the energies actually used. */
export function buildReport(graph: "float" | "integer", model: string, op: string, layers: LayerOps[], notes: string[]): OpsReport {
  const all = layers.flatMap((l) => l.ops);
  const weightBytes = layers.reduce((a, l) => a + l.weightBytes, 0);
  const assumptions = new Set<string>();
  const tableRows = new Set<string>();
  for (const o of all) {
    const e = energyOf(o.kind, o.type);
    if (e.assumed) assumptions.add(`${o.type} ${o.kind} = ${e.pj} pJ: ${e.assumed}`);
    else tableRows.add(`${o.type} ${o.kind} = ${e.pj} pJ`);
  }
  return {
    graph,
    model,
    op,
    batch: 1,
    layers,
    total: { ...summarise(all), weightBytes },
    weightReadPJ: Math.ceil(weightBytes / 4) * SRAM_READ_32BIT_PJ,
    energySource: ENERGY_SOURCE,
    tableRows: [...tableRows].sort(),
    assumptions: [...assumptions].sort(),
    notes,
  };
}

/** Row names for repeated steps: "relu", "relu#2", … (a shared module is called several times). */
export function uniqueNamer(): (base: string) => string {
  const seen = new Map<string, number>();
  return (base) => {
    const k = (seen.get(base) ?? 0) + 1;
    seen.set(base, k);
    return k === 1 ? base : `${base}#${k}`;
  };
}
