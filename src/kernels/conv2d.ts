// f32 conv2d entry points (NCHW, zero padding, stride, dilation, groups) on the wasm kernels.
// General convolutions run as im2col + GEMM (assembly/im2col.ts); depthwise ones (groups == C,
// any channel multiplier K = m·C) run as direct loops (assembly/depthwise.ts).
import { runtime, type Runtime } from "./runtime.js";
import { alignUp, grainFor, inMemory, SCRATCH_PARAMS, threadScratch } from "./gemm.js";

/** Geometry of one convolution. Weight is [K, C/groups, kh, kw]; output is [N, K, OH, OW]. */
export interface Conv2dShape {
  N: number; C: number; H: number; W: number;
  /** output channels */
  K: number;
  kh: number; kw: number;
  strideH: number; strideW: number;
  padH: number; padW: number;
  dilationH: number; dilationW: number;
  groups: number;
  OH: number; OW: number;
}

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

/** Knobs for the im2col blocking; measured, see bench/kernels/conv.mjs. */
export const convTuning = {
  /** Floats of im2col columns per block (R × blockP): 32768 floats = 128 KiB, well inside L2. */
  blockFloats: 32768,
  /** Columns of dW accumulated per pass over the images in backward weight (a multiple of 4). */
  weightColumns: 256,
};

/** Shape record from an NCHW input shape, a [K, C/groups, kh, kw] weight shape and options. */
export function conv2dShape(input: readonly number[], weight: readonly number[], opts: Conv2dOptions = {}): Conv2dShape {
  if (input.length !== 4) throw new Error(`conv2d: input shape must be [N, C, H, W], got [${input.join(", ")}]`);
  if (weight.length !== 4) throw new Error(`conv2d: weight shape must be [K, C/groups, kh, kw], got [${weight.join(", ")}]`);
  const [N, C, H, W] = input;
  const [K, Cg, kh, kw] = weight;
  const groups = opts.groups ?? 1;
  const [strideH, strideW] = pair("stride", opts.stride, 1);
  const [padH, padW] = pair("padding", opts.padding, 0);
  const [dilationH, dilationW] = pair("dilation", opts.dilation, 1);
  const OH = outSize(H, kh, strideH, padH, dilationH);
  const OW = outSize(W, kw, strideW, padW, dilationW);
  const s: Conv2dShape = { N, C, H, W, K, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups, OH, OW };
  checkConv2dShape(s);
  if (Number.isInteger(groups) && groups >= 1 && Cg * groups !== C) {
    throw new Error(`conv2d: weight has ${Cg} input channels per group, but input has ${C} channels in ${groups} group(s)`);
  }
  return s;
}

function pair(name: string, v: number | [number, number] | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  if (typeof v === "number") return [v, v];
  if (!Array.isArray(v) || v.length !== 2) throw new Error(`conv2d: ${name} must be a number or [h, w], got ${JSON.stringify(v)}`);
  return v;
}

function outSize(size: number, k: number, stride: number, pad: number, dilation: number): number {
  return Math.floor((size + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

/** Validate a shape record (also those built by other layers); the message names the bad field. */
export function checkConv2dShape(s: Conv2dShape): void {
  const atLeast = (name: keyof Conv2dShape, min: number) => {
    const v = s[name];
    if (!Number.isInteger(v) || v < min) throw new Error(`conv2d: ${name} must be an integer ≥ ${min}, got ${v}`);
  };
  for (const f of ["N", "C", "H", "W", "K", "kh", "kw", "strideH", "strideW", "dilationH", "dilationW", "groups"] as const) atLeast(f, 1);
  atLeast("padH", 0);
  atLeast("padW", 0);
  if (s.C % s.groups !== 0) throw new Error(`conv2d: input channels C = ${s.C} are not divisible by groups = ${s.groups}`);
  if (s.K % s.groups !== 0) throw new Error(`conv2d: output channels K = ${s.K} are not divisible by groups = ${s.groups}`);
  const OH = outSize(s.H, s.kh, s.strideH, s.padH, s.dilationH);
  const OW = outSize(s.W, s.kw, s.strideW, s.padW, s.dilationW);
  if (OH < 1 || OW < 1) {
    throw new Error(
      `conv2d: a ${s.kh}×${s.kw} kernel (dilation ${s.dilationH},${s.dilationW}) does not fit a ${s.H}×${s.W} input with padding ${s.padH},${s.padW}`,
    );
  }
  if (s.OH !== OH || s.OW !== OW) throw new Error(`conv2d: output size ${s.OH}×${s.OW} should be ${OH}×${OW}`);
}

export function checkLength(op: string, name: string, x: Float32Array | null, want: number, dims: string): void {
  if (x === null) return;
  if (!(x instanceof Float32Array)) throw new Error(`${op}: ${name} must be a Float32Array`);
  if (x.length !== want) throw new Error(`${op}: ${name} has ${x.length} elements, expected ${dims} = ${want}`);
}

/** Which of a conv's tensors an array holds (or its gradient): the shape fixes its length. */
export type ConvRole = "input" | "output" | "weight" | "channels";

function roleSize(s: Conv2dShape, role: ConvRole): [number, string] {
  switch (role) {
    case "input": return [s.N * s.C * s.H * s.W, "N·C·H·W"];
    case "output": return [s.N * s.K * s.OH * s.OW, "N·K·OH·OW"];
    case "weight": return [s.K * (s.C / s.groups) * s.kh * s.kw, "K·(C/groups)·kh·kw"];
    case "channels": return [s.K, "K"];
  }
}

/** Validate s, then each named array's length for its role, in order; null arrays (no bias) pass. */
export function checkConvArrays(op: string, s: Conv2dShape, arrays: Record<string, [Float32Array | null, ConvRole]>): void {
  checkConv2dShape(s);
  for (const [name, [a, role]] of Object.entries(arrays)) checkLength(op, name, a, ...roleSize(s, role));
}

const isDepthwise = (s: Conv2dShape) => s.groups === s.C && s.C > 1;

/** What the kernels need besides the arrays: the shape block in wasm memory and sizes. */
export interface Plan {
  rt: Runtime;
  shape: number;
  R: number;
  P: number;
  Kg: number;
  blockP: number;
  /** backward weight: columns of dW per pass over the images */
  dwCols: number;
  /** floats of the zero-padded copy of one group's input planes (im2col path) */
  padFloats: number;
  /** floats of one zero-padded depthwise plane */
  plane: number;
  rowV: number;
}

export function plan(s: Conv2dShape): Plan {
  const rt = runtime();
  const Kg = s.K / s.groups;
  const R = (s.C / s.groups) * s.kh * s.kw;
  const P = s.OH * s.OW;
  // im2col block: a multiple of 16 positions (the GEMM panel width) within the float budget
  const blockP = Math.min(alignUp(P, 16), Math.max(16, Math.floor(convTuning.blockFloats / R / 16) * 16));
  // backward weight: at most 256 columns of dW per pass bound the accumulators to Kg × 4 KiB
  const dwCols = Math.max(1, Math.min(R, convTuning.weightColumns));
  // im2col: padded planes of the group, plus slack for the stride-2 vector loads at the end
  const padFloats = alignUp((s.C / s.groups) * (s.H + 2 * s.padH) * (s.W + 2 * s.padW) + 8, 16);
  // depthwise: the padded plane is wide enough for whole 8-column steps at any stride
  const rowV = alignUp(s.OW, 8);
  const planeW = alignUp(Math.max(s.W + 2 * s.padW, rowV * s.strideW + (s.kw - 1) * s.dilationW + 8), 4);
  const plane = (s.H + 2 * s.padH + s.strideH) * planeW; // planeRows() in assembly/depthwise.ts
  // the ConvShape block of assembly/im2col.ts, field by field
  const fields = [
    s.N, s.C, s.H, s.W, s.K, s.kh, s.kw, s.strideH, s.strideW, s.padH, s.padW, s.dilationH, s.dilationW,
    s.groups, s.OH, s.OW, blockP, padFloats, planeW, rowV, dwCols,
  ];
  const shape = rt.scratch(SCRATCH_PARAMS, fields.length * 4);
  rt.i32(shape, fields.length).set(fields);
  return { rt, shape, R, P, Kg, blockP, dwCols, padFloats, plane, rowV };
}

/** y = conv2d(x, w) + bias. x [N,C,H,W], w [K,C/groups,kh,kw], bias [K] or null; y [N,K,OH,OW] is overwritten. */
export function conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, s: Conv2dShape): void {
  const op = "conv2dForward";
  checkConvArrays(op, s, { x: [x, "input"], w: [w, "weight"], bias: [bias, "channels"], y: [y, "output"] });
  const p = plan(s);
  inMemory(p.rt, op, { x, w, bias, y });
  const ptrs = [x.byteOffset, w.byteOffset, bias ? bias.byteOffset : 0, y.byteOffset, p.shape];
  if (isDepthwise(s)) {
    const m = s.K / s.C;
    const slotBytes = alignUp((p.plane + 2 * p.rowV) * 4, 64);
    p.rt.parallel("depthwiseForwardF32", [...ptrs, threadScratch(p.rt, slotBytes), slotBytes], s.N * s.C, grainFor(m * p.P * s.kh * s.kw), 1, true);
    return;
  }
  const blocks = Math.ceil(p.P / p.blockP);
  const slotBytes = alignUp((p.padFloats + p.R * p.blockP) * 4, 64);
  p.rt.parallel("conv2dForwardF32", [...ptrs, threadScratch(p.rt, slotBytes), slotBytes], s.N * s.groups * blocks, grainFor(p.Kg * p.R * p.blockP), 1, true);
}

/** dx = ∂L/∂x from dy [N,K,OH,OW] and w; dx [N,C,H,W] is overwritten. */
export function conv2dBackwardInput(dy: Float32Array, w: Float32Array, dx: Float32Array, s: Conv2dShape): void {
  const op = "conv2dBackwardInput";
  checkConvArrays(op, s, { dy: [dy, "output"], w: [w, "weight"], dx: [dx, "input"] });
  const p = plan(s);
  inMemory(p.rt, op, { dy, w, dx });
  const ptrs = [dy.byteOffset, w.byteOffset, dx.byteOffset, p.shape];
  if (isDepthwise(s)) {
    const m = s.K / s.C;
    const slotBytes = alignUp((p.plane + p.rowV) * 4, 64);
    p.rt.parallel("depthwiseBackwardInputF32", [...ptrs, threadScratch(p.rt, slotBytes), slotBytes], s.N * s.C, grainFor(m * p.P * s.kh * s.kw), 1, true);
    return;
  }
  const slotBytes = alignUp((p.padFloats + (p.Kg + p.R) * p.blockP) * 4, 64);
  p.rt.parallel("conv2dBackwardInputF32", [...ptrs, threadScratch(p.rt, slotBytes), slotBytes], s.N * s.groups, grainFor(p.Kg * p.R * p.P), 1, true);
}

/**
 * dw = ∂L/∂w from dy and x; dw [K,C/groups,kh,kw] is overwritten (the caller accumulates).
 * Split over the elements of dw with every thread summing the images in the same order, so the
 * result is bit-identical for any thread count.
 * `rowSum` [K], if given, is overwritten with conv2dBackwardBias(dy) (the same bits): with one
 * group it is taken in the same pass, while each image's dy is in cache.
 */
export function conv2dBackwardWeight(dy: Float32Array, x: Float32Array, dw: Float32Array, s: Conv2dShape, rowSum: Float32Array | null = null): void {
  const op = "conv2dBackwardWeight";
  checkConvArrays(op, s, { dy: [dy, "output"], x: [x, "input"], dw: [dw, "weight"], rowSum: [rowSum, "channels"] });
  const p = plan(s);
  inMemory(p.rt, op, rowSum ? { dy, x, dw, rowSum } : { dy, x, dw });
  const ptrs = [dy.byteOffset, x.byteOffset, dw.byteOffset];
  if (isDepthwise(s)) {
    const slotBytes = alignUp(p.plane * 4, 64);
    p.rt.parallel("depthwiseBackwardWeightF32", [...ptrs, p.shape, threadScratch(p.rt, slotBytes), slotBytes], s.K, grainFor(s.N * p.P * s.kh * s.kw), 1, true);
  } else {
    // per thread: padded planes, Kg × dwCols f32x4 lane-sum accumulators, dwCols × blockP floats
    // of im2col rows. One fixed slice per thread, not chunks: each call walks every image's x and
    // dy, so chunks would add passes over memory (LeNet-5's conv1/conv2 weight gradients ran
    // 3–5% slower chunked)
    const fused = rowSum !== null && s.groups === 1;
    const slotBytes = alignUp(p.padFloats * 4 + p.Kg * p.dwCols * 16 + p.dwCols * p.blockP * 4, 64);
    p.rt.parallel("conv2dBackwardWeightF32", [...ptrs, fused ? rowSum.byteOffset : 0, p.shape, threadScratch(p.rt, slotBytes), slotBytes], s.groups * p.R, grainFor(p.Kg * s.N * p.P), 4);
    if (fused) return;
  }
  if (rowSum) conv2dBackwardBias(dy, rowSum, s);
}

/** db[k] = Σ over images and positions of dy[n][k]; db [K] is overwritten. */
export function conv2dBackwardBias(dy: Float32Array, db: Float32Array, s: Conv2dShape): void {
  const op = "conv2dBackwardBias";
  checkConvArrays(op, s, { dy: [dy, "output"], db: [db, "channels"] });
  const rt = runtime();
  inMemory(rt, op, { dy, db });
  const P = s.OH * s.OW;
  rt.parallel("conv2dBackwardBiasF32", [dy.byteOffset, db.byteOffset, s.N, s.K, P], s.K, grainFor(s.N * P));
}
