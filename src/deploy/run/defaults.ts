// The derivable fields of a bundle's graph and their values. The stored graph leaves out every
// field equal to the value it can be derived from, which keeps a small model's header small (the
// int8 LeNet-5 bundle must stay under 0.26× its fp32 size), and the reader fills them back in:
//
//   graph.classes        the logits layer's output channels
//   input.out            inputQuant(mean, std): the exact range of normalised [0, 1] pixels
//   <node>.from          the node before it
//   layer.in             the quantization of the node it reads
//   layer.channelOffset  the output channels of the layers before it
//   layer.geometry       a tail of defaults: stride 1, 1, padding 0, 0, dilation 1, 1, groups 1
//                        (at least [C, H, W, K, kh, kw] is stored)
//   layer.requant        defaultOutputRange(out): { outZp: out.zeroPoint, lo: 0, hi: 255 } (a ReLU
//                        output has zero point 0, so its clamp at 0 is the default too)
//   logits logitScale    logitUnit·mult[c]/2^shift[c], when logitUnit is stored (./decode_layers.ts)
//
// A field that differs from its derived value is stored, so any graph round-trips.
import { quantFromRange } from "../../kernels/reference/quant_range.js";
import type { Geometry, OutputRange, Quant } from "./format.js";

/** Scales are stored with 7 significant digits; the exporter rounds them before use, so a bundle is self-consistent. */
export const sevenDigits = (x: number): number => Number(x.toPrecision(7));

export { quantFromRange };

/** The input's quantization: the range of normalised pixels (x − mean)/std for x ∈ [0, 1], scale to 7 digits. */
export function inputQuant(mean: readonly number[], std: readonly number[]): Quant {
  let lo = Infinity, hi = -Infinity;
  mean.forEach((m, c) => {
    lo = Math.min(lo, (0 - m) / std[c]!);
    hi = Math.max(hi, (1 - m) / std[c]!);
  });
  const q = quantFromRange(lo, hi);
  return { scale: sevenDigits(q.scale), zeroPoint: q.zeroPoint };
}

export const defaultOutputRange = (out: Quant): OutputRange => ({ outZp: out.zeroPoint, lo: 0, hi: 255 });

/** The geometry after [C, H, W, K, kh, kw]: stride, padding, dilation (height, width), groups. */
const GEOMETRY_TAIL = [1, 1, 0, 0, 1, 1, 1];
export const GEOMETRY_MIN_STORED = 6;

/** A stored geometry (6 to 13 entries) with its default tail filled in. */
export function fullGeometry(stored: readonly number[]): Geometry {
  return [...stored, ...GEOMETRY_TAIL.slice(stored.length - GEOMETRY_MIN_STORED)] as Geometry;
}

/** The geometry without the tail entries that equal their defaults. */
export function shortGeometry(g: Geometry): number[] {
  let end = g.length;
  while (end > GEOMETRY_MIN_STORED && g[end - 1] === GEOMETRY_TAIL[end - 1 - GEOMETRY_MIN_STORED]) end--;
  return g.slice(0, end);
}

export const sameQuant = (a: Quant, b: Quant): boolean => a.scale === b.scale && a.zeroPoint === b.zeroPoint;
export const sameRange = (a: OutputRange, b: OutputRange): boolean => a.outZp === b.outZp && a.lo === b.lo && a.hi === b.hi;
