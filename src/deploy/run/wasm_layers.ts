// The wasm engine's kernel table: for each layer kind, how to prepare its weights (and its
// requantization) once at load, and how to build the call that runs it for a fixed batch: a
// closure over fixed views and a fixed shape, validated once when bound (the bind* entry points,
// so a call costs a dispatch, not a validation). The kernels themselves (src/kernels/int8.ts,
// int8_shift.ts) write disjoint outputs per thread slice, so results do not depend on threads.
import type { Conv2dShape } from "../../kernels/conv2d.js";
import { avgPool2dU8, type AddRequant } from "../../kernels/reference/int8.js";
import {
  addRequantProgramOp, avgPoolGlobalProgramOp, avgPoolGlobalU8, bindAddRequantU8, bindAdderConvRequantMaxPool2U8, bindAdderConvRequantU8,
  bindAdderConvU8, bindMaxPool2dU8, bindMulConvRequantU8I8, bindMulConvU8I8, canFuseMaxPool2, convProgramOp, maxPoolProgramOp,
  prepareAdderWeights, prepareMulWeights, prepareRequant,
  type Int8Weights, type PreparedRequant,
} from "../../kernels/int8.js";
import type { ProgramOp } from "../../kernels/int8_program.js";
import { bindShiftConvRequantU8, bindShiftConvU8, prepareShiftWeights, type ShiftWeights } from "../../kernels/int8_shift.js";
import type { BundleLayer } from "./bundle.js";
import type { AvgPoolNode } from "./format.js";

/** A layer's weights and requantization in wasm memory, until free(). */
export interface PreparedLayer {
  /** The layer's geometry for one image. */
  readonly shape: Conv2dShape;
  readonly pad: number;
  readonly rq: PreparedRequant | null;
  /** Conv + the layer's requantization, x u8 → out u8, for the shape s (any batch). */
  requantized(x: Uint8Array, out: Uint8Array, s: Conv2dShape): () => void;
  /** Raw accumulators (the logits layer), x u8 → out i32. */
  accumulate(x: Uint8Array, out: Int32Array, s: Conv2dShape): () => void;
  /** The same call (requantized when out is u8) as one op of an int8 program; null for kinds programs do not run (shift). */
  programOp(x: Uint8Array, out: Uint8Array | Int32Array, s: Conv2dShape): ProgramOp | null;
  /**
   * A 2×2 stride-2 max pool fused after the requantized conv, as a call and as a program op, where
   * the kernel can fuse it (canFuseMaxPool2: adder convs but depthwise); null elsewhere.
   */
  maxPool2(s: Conv2dShape): { call(x: Uint8Array, out: Uint8Array): () => void; programOp(x: Uint8Array, out: Uint8Array): ProgramOp } | null;
  free(): void;
}

/** One layer kind's prepared weights and its two kernel calls. */
interface KindKernels {
  requantized(x: Uint8Array, rq: PreparedRequant, out: Uint8Array, s: Conv2dShape): () => void;
  accumulate(x: Uint8Array, out: Int32Array, s: Conv2dShape): () => void;
  programOp(x: Uint8Array, rq: PreparedRequant | null, out: Uint8Array | Int32Array, s: Conv2dShape): ProgramOp | null;
  /** requantized + a fused 2×2 max pool, and its program op (adder only). */
  maxPool2?: {
    call(x: Uint8Array, rq: PreparedRequant, out: Uint8Array, s: Conv2dShape): () => void;
    programOp(x: Uint8Array, rq: PreparedRequant, out: Uint8Array, s: Conv2dShape): ProgramOp;
  };
  dispose(): void;
}

function kindKernels(layer: BundleLayer, pad: number): KindKernels {
  const w = layer.weights;
  if (w.kind === "adder") {
    const pw: Int8Weights = prepareAdderWeights(w.w, layer.shape);
    return {
      requantized: (x, rq, out, s) => bindAdderConvRequantU8(x, pw, pad, rq, out, s), accumulate: (x, out, s) => bindAdderConvU8(x, pw, pad, out, s),
      programOp: (x, rq, out, s) => convProgramOp("adder", x, pw, pad, out, rq, s), dispose: () => pw.dispose(),
      maxPool2: {
        call: (x, rq, out, s) => bindAdderConvRequantMaxPool2U8(x, pw, pad, rq, out, s),
        programOp: (x, rq, out, s) => convProgramOp("adder", x, pw, pad, out, rq, s, true),
      },
    };
  }
  if (w.kind === "mul") {
    const pw: Int8Weights = prepareMulWeights(w.w, layer.shape);
    return {
      requantized: (x, rq, out, s) => bindMulConvRequantU8I8(x, pw, pad, rq, out, s), accumulate: (x, out, s) => bindMulConvU8I8(x, pw, pad, out, s),
      programOp: (x, rq, out, s) => convProgramOp("mul", x, pw, pad, out, rq, s), dispose: () => pw.dispose(),
    };
  }
  const pw: ShiftWeights = prepareShiftWeights(w.sign, w.shift, layer.shape);
  return {
    requantized: (x, rq, out, s) => bindShiftConvRequantU8(x, pw, pad, rq, out, s), accumulate: (x, out, s) => bindShiftConvU8(x, pw, pad, out, s),
    // the shift kernels lay 32 images across vector lanes: they need the whole batch, not a chunk
    programOp: () => null, dispose: () => pw.dispose(),
  };
}

/** Prepare one layer (for any batch size: the weights do not depend on it). */
export function prepareLayer(layer: BundleLayer): PreparedLayer {
  const pad = layer.node.in.zeroPoint;
  const r = layer.node.requant;
  const rq = r ? prepareRequant({ bias: layer.bias, mult: layer.mult, shift: layer.shift, outZp: r.outZp, lo: r.lo, hi: r.hi, biasBits: layer.node.biasBits ?? 0 }, layer.shape.K) : null;
  let kernels: KindKernels;
  try {
    kernels = kindKernels(layer, pad);
  } catch (e) {
    rq?.dispose();
    throw e;
  }
  return {
    shape: layer.shape, pad, rq,
    requantized: (x, out, s) => {
      if (!rq) throw new Error(`layer ${layer.node.name} has no requantization (it is the logits layer)`);
      return kernels.requantized(x, rq, out, s);
    },
    accumulate: kernels.accumulate,
    programOp: (x, out, s) => {
      if (out instanceof Uint8Array && !rq) throw new Error(`layer ${layer.node.name} has no requantization (it is the logits layer)`);
      return kernels.programOp(x, out instanceof Uint8Array ? rq : null, out, s);
    },
    maxPool2: (s) => {
      const fused = kernels.maxPool2;
      // only adder kernels have a fused form
      if (!fused || !rq || !canFuseMaxPool2("adder", s)) return null;
      return { call: (x, out) => fused.call(x, rq, out, s), programOp: (x, out) => fused.programOp(x, rq, out, s) };
    },
    free: () => {
      kernels.dispose();
      rq?.dispose();
    },
  };
}

export function maxPoolU8(x: Uint8Array, N: number, H: number, W: number, C: number, kh: number, kw: number, stride: number, out: Uint8Array): () => void {
  return bindMaxPool2dU8(x, N, H, W, C, kh, kw, stride, out);
}

/** Average pooling: global on the wasm kernel; a window (rare: AvgPool2d(k) smaller than the image) in TypeScript, the reference loops. */
export function avgPoolU8(x: Uint8Array, N: number, src: { C: number; H: number; W: number }, node: AvgPoolNode, out: Uint8Array): () => void {
  const { C, H, W } = src;
  if (node.kh === undefined) return () => avgPoolGlobalU8(x, N, H * W, C, out);
  const { kh, kw, stride } = node as Required<AvgPoolNode>;
  return () => avgPool2dU8(x, N, H, W, C, kh, kw, stride, out);
}

export function addU8(a: Uint8Array, b: Uint8Array, p: AddRequant, out: Uint8Array): () => void {
  return bindAddRequantU8(a, b, p, out);
}

/** The pooling and residual-add nodes as int8 program ops (null: a windowed average pool, which runs in TypeScript). */
export function maxPoolOp(x: Uint8Array, N: number, H: number, W: number, C: number, kh: number, kw: number, stride: number, out: Uint8Array): ProgramOp {
  return maxPoolProgramOp(x, N, H, W, C, kh, kw, stride, out);
}

export function avgPoolOp(x: Uint8Array, N: number, src: { C: number; H: number; W: number }, node: AvgPoolNode, out: Uint8Array): ProgramOp | null {
  return node.kh === undefined ? avgPoolGlobalProgramOp(x, N, src.H * src.W, src.C, out) : null;
}

export function addOp(a: Uint8Array, b: Uint8Array, p: AddRequant, out: Uint8Array, N: number): ProgramOp {
  return addRequantProgramOp(a, b, p, out, N);
}
