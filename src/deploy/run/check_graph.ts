// The JSON schema of a bundle's graph, node by node: types, integer ranges, required fields. It
// runs on the graph as stored (derivable fields may be absent, ./defaults.ts); what depends on
// other nodes (shapes, quantizations, offsets) is ./shapes.ts's job. Every message names the node.
import { preview, quoted } from "../../io/json.js";
import { MAX_ADD_SHIFT, MAX_BIAS_BITS } from "../../kernels/reference/int8.js";
import { GEOMETRY_MIN_STORED } from "./defaults.js";
import { NODE_OPS, type IntGraph } from "./format.js";
import { MAX_PACKED_BITS, MIN_PACKED_BITS } from "./pack_bits.js";
import { MAX_FIELD_BITS } from "./pack_shift.js";

export type Fail = (problem: string) => Error;

/** 2^base is folded into a float scale; no float32 weight needs more than this. */
const MAX_BASE = 160;
/** The pool kernels pack kh, kw and stride into 10-bit fields. */
const MAX_WINDOW = 1023;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const show = (v: unknown) => preview(v, 80);

/** Throws `fail(problem)` unless `raw` is a graph whose every node is well-formed on its own. */
export function checkGraph(raw: unknown, fail: Fail): IntGraph {
  if (!isObject(raw)) throw fail("the graph is not a JSON object");
  const { nodes, classes } = raw;
  if (!Array.isArray(nodes) || nodes.length < 2) throw fail("graph.nodes must be an array holding at least an input and a layer node");
  if (classes !== undefined && (!isInt(classes) || classes < 1)) throw fail(`graph.classes must be a positive integer, got ${show(classes)}`);
  const opOf = (n: unknown) => (isObject(n) ? n.op : undefined);
  if (opOf(nodes[0]) !== "input") throw fail(`graph.nodes[0] must be the input node, found ${show(nodes[0])}`);
  if (opOf(nodes[nodes.length - 1]) !== "layer") throw fail(`the last node must be the logits layer, found ${show(nodes[nodes.length - 1])}`);
  nodes.forEach((n, i) => checkNode(n, i, i === nodes.length - 1, fail));
  return raw as unknown as IntGraph;
}

function checkNode(n: unknown, i: number, isLast: boolean, fail: Fail): void {
  const at = `graph.nodes[${i}]`;
  if (!isObject(n)) throw fail(`${at} is not an object`);
  if (!NODE_OPS.includes(n.op as never)) throw fail(`${at}.op ${show(n.op)} is not one of ${NODE_OPS.join(", ")}`);
  if (n.op === "input") {
    if (i !== 0) throw fail(`${at}: only nodes[0] may be the input`);
    return checkInput(n, at, fail);
  }
  const earlier = (v: unknown) => isInt(v) && v >= 0 && v < i;
  if (n.op === "add") return checkAdd(n, at, earlier, fail);
  if (n.from !== undefined && !earlier(n.from)) throw fail(`${at}.from must be the index of an earlier node (0…${i - 1}), got ${show(n.from)}`);
  if (n.op === "layer") return checkLayer(n, at, isLast, fail);
  if (n.op === "maxpool" || (n.op === "avgpool" && (n.kh !== undefined || n.kw !== undefined || n.stride !== undefined))) {
    for (const key of ["kh", "kw", "stride"]) {
      if (!isInt(n[key]) || n[key] < 1 || n[key] > MAX_WINDOW) throw fail(`${at}.${key} must be an integer from 1 to ${MAX_WINDOW}, got ${show(n[key])}`);
    }
  }
}

function checkAdd(n: Record<string, unknown>, at: string, earlier: (v: unknown) => boolean, fail: Fail): void {
  const { from, mult, shift } = n;
  if (!Array.isArray(from) || from.length !== 2 || !from.every(earlier)) throw fail(`${at}.from must be two indices of earlier nodes, got ${show(from)}`);
  if (!Array.isArray(mult) || mult.length !== 2 || !mult.every((m) => isInt(m) && Math.abs(m) < 2 ** 15)) throw fail(`${at}.mult must be two integers of magnitude below 2^15, got ${show(mult)}`);
  if (!isInt(shift) || shift < 1 || shift > MAX_ADD_SHIFT) throw fail(`${at}.shift must be an integer from 1 to ${MAX_ADD_SHIFT}, got ${show(shift)}`);
  checkQuant(n.out, `${at}.out`, fail);
  if (n.requant !== undefined) checkOutputRange(n.requant, n.out as { zeroPoint: number }, at, fail);
}

function checkInput(n: Record<string, unknown>, at: string, fail: Fail): void {
  const shape = n.shape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => isInt(d) && d >= 1 && d <= 65536)) {
    throw fail(`${at}.shape must be [C, H, W] of positive integers, got ${show(shape)}`);
  }
  const C = shape[0] as number;
  for (const key of ["mean", "std"] as const) {
    const v = n[key];
    if (!Array.isArray(v) || v.length !== C || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw fail(`${at}.${key} must be ${C} finite numbers (one per channel), got ${show(v)}`);
    }
  }
  if (!(n.std as number[]).every((s) => s > 0)) throw fail(`${at}.std must be positive, got ${show(n.std)}`);
  if (n.out !== undefined) checkQuant(n.out, `${at}.out`, fail);
}

function checkLayer(n: Record<string, unknown>, at: string, isLast: boolean, fail: Fail): void {
  if (typeof n.name !== "string" || n.name === "") throw fail(`${at}.name must be a non-empty string, got ${show(n.name)}`);
  const named = `${at} (${quoted(n.name)})`;
  if (n.kind !== "mul" && n.kind !== "adder" && n.kind !== "shift") throw fail(`${named}: kind must be "mul", "adder" or "shift", got ${show(n.kind)}`);
  const g = n.geometry;
  if (!Array.isArray(g) || g.length < GEOMETRY_MIN_STORED || g.length > 13 || !g.every((d) => isInt(d) && d >= 0 && d <= 1 << 24)) {
    throw fail(`${named}: geometry must be 6 to 13 non-negative integers [C, H, W, K, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups], got ${show(g)}`);
  }
  if (n.in !== undefined) checkQuant(n.in, `${named}.in`, fail);
  if (n.channelOffset !== undefined && (!isInt(n.channelOffset) || n.channelOffset < 0)) throw fail(`${named}: channelOffset must be a non-negative integer, got ${show(n.channelOffset)}`);
  if (n.biasBits !== undefined && (!isInt(n.biasBits) || n.biasBits < 0 || n.biasBits > MAX_BIAS_BITS)) {
    throw fail(`${named}: biasBits must be an integer from 0 to ${MAX_BIAS_BITS}, got ${show(n.biasBits)}`);
  }
  if (n.kind === "shift") {
    const s = n.shift;
    if (!isObject(s) || !isInt(s.fieldBits) || !isInt(s.base)) throw fail(`${named}: a shift layer needs shift: { fieldBits, base } (integers), got ${show(s)}`);
    if (s.fieldBits < 1 || s.fieldBits > MAX_FIELD_BITS) throw fail(`${named}: shift.fieldBits must be 1…${MAX_FIELD_BITS}, got ${s.fieldBits}`);
    if (Math.abs(s.base) > MAX_BASE) throw fail(`${named}: shift.base ${s.base} is outside ±${MAX_BASE}`);
  }
  if (n.weightBits !== undefined) {
    if (n.kind === "shift") throw fail(`${named}: weightBits is for adder and multiply layers (shift layers have shift.fieldBits)`);
    if (!isInt(n.weightBits) || n.weightBits < MIN_PACKED_BITS || n.weightBits > MAX_PACKED_BITS) throw fail(`${named}: weightBits must be an integer from ${MIN_PACKED_BITS} to ${MAX_PACKED_BITS}, got ${show(n.weightBits)}`);
  }
  if (isLast) return checkLogits(n, named, g[3] as number, fail);
  checkQuant(n.out, `${named}.out`, fail);
  if (n.requant !== undefined) checkOutputRange(n.requant, n.out as { zeroPoint: number }, named, fail);
}

function checkLogits(n: Record<string, unknown>, named: string, K: number, fail: Fail): void {
  if (n.requant !== undefined || n.out !== undefined) throw fail(`${named}: the logits layer has no requant or out (its accumulators become f32 logits)`);
  const ls = n.logitScale, unit = n.logitUnit;
  if (unit !== undefined && (typeof unit !== "number" || !Number.isFinite(unit) || unit <= 0)) {
    throw fail(`${named}: logitUnit must be a finite positive number, got ${show(unit)}`);
  }
  if (ls === undefined && unit === undefined) throw fail(`${named}: the logits layer needs logitScale (or logitUnit)`);
  if (ls !== undefined && (!Array.isArray(ls) || ls.length !== K || !ls.every((x) => typeof x === "number" && Number.isFinite(x)))) {
    throw fail(`${named}: logitScale must be ${K} finite numbers (one per output), got ${show(ls)}`);
  }
}

/** A requantization's output side: integers in [0, 255], lo ≤ hi, the zero point of `out`. */
export function checkOutputRange(r: unknown, out: { zeroPoint: number }, named: string, fail: Fail): void {
  if (!isObject(r)) throw fail(`${named}: requant must be { outZp, lo, hi }, got ${show(r)}`);
  const { outZp, lo, hi } = r;
  if (![outZp, lo, hi].every((v) => isInt(v) && v >= 0 && v <= 255)) throw fail(`${named}: requant outZp, lo, hi must be integers in [0, 255], got ${show(r)}`);
  if ((lo as number) > (hi as number)) throw fail(`${named}: requant lo ${lo} is above hi ${hi}`);
  if (out.zeroPoint !== outZp) throw fail(`${named}: requant.outZp ${outZp} differs from out.zeroPoint ${out.zeroPoint}`);
}

export function checkQuant(q: unknown, where: string, fail: Fail): void {
  if (!isObject(q)) throw fail(`${where} must be { scale, zeroPoint }, got ${show(q)}`);
  if (typeof q.scale !== "number" || !Number.isFinite(q.scale) || q.scale <= 0) throw fail(`${where}.scale must be a finite positive number, got ${show(q.scale)}`);
  if (!isInt(q.zeroPoint) || q.zeroPoint < 0 || q.zeroPoint > 255) throw fail(`${where}.zeroPoint must be an integer in [0, 255], got ${show(q.zeroPoint)}`);
}
