// int8 deployment entry points on the wasm kernels (assembly/int8_adder.ts, int8_mul.ts,
// int8_ops.ts): adder and multiply conv/linear layers over u8 NHWC activations, the per-channel
// requantization, and u8 pooling. Each is bit-exact with its namesake in reference/int8.ts.
//
// Weights are prepared once per layer (at model load) into wasm memory: rows of the im2col
// length Rp with zeros past the R real taps, the layout the micro-tiles read. A prepared object
// depends on C, K, kh, kw and groups only, so it serves every batch and image size.
// Requantization parameters can be prepared once too (prepareRequant); a plain RequantParams is
// prepared into scratch on every call.
//
// Threads split output positions (or rows, images); every output is computed by one thread in a
// fixed order, so results are identical for any thread count.
import { checkConv2dShape, type Conv2dShape } from "./conv2d.js";
import { alignUp, grainFor, threadScratch } from "./gemm.js";
import { checkAddRequant, checkRequant, type AddRequant } from "./reference/int8.js";
import { PROGRAM_BLOCK, type ProgramOp } from "./int8_program.js";
import { lanesRequant, u16Requant, type LanesRequant, type U16Requant } from "./requant_u16.js";
import { runtime, type Runtime } from "./runtime.js";

/** The requantization of requantizeU8 in reference/int8.ts, for all K output channels. */
export interface RequantParams {
  bias: Int32Array; mult: Int32Array; shift: Uint8Array; outZp: number; lo: number; hi: number;
  /** Fraction bits of the bias (acc·2^biasBits + bias); default 0. */
  biasBits?: number;
}

/** Knobs for the im2col blocking; measured with bench/int8/kernels.mjs. */
export const int8Tuning = {
  /** Bytes of im2col rows per block: small enough for L1 next to the weight rows. */
  blockBytes: 12288,
};

const ADDER_VECTOR = 16; // u8 per vector
const MUL_VECTOR = 8; // i16 per vector
/** Fields of the Int8Conv block in assembly/int8_common.ts. */
const PARAM_FIELDS = 32;
/** Largest padded image copy (per thread) for the contiguous im2col; bigger images take the general path. */
const MAX_PLANE_BYTES = 1 << 22;
/** Runtime.scratch slot of addRequantU8's parameter block. */
const ADD_PARAMS_SLOT = 29;
/** maxPool2dU8 packs kh, kw and stride into 10 bits each. */
const MAX_WINDOW = 1023;

/** Most taps per output whose Σ|x − w| stays u16 (257·255 < 2^16): the one-channel, depthwise and lanes kernels. */
const U16_MAX_TAPS = 257;
/** Most taps per output for the lanes tiles (LANES_MAX_R in assembly/int8_adder_lanes.ts). */
const LANES_MAX_R = 256;

/**
 * The lanes layout of int8_adder_lanes.ts for u8 adder weights [K][R] in `groups` groups of Kg:
 * per group, per tap pair j, per 8 channels c..c+7 one 16-byte vector [w_c,2j w_c,2j+1 w_c+1,2j …]
 * (zeros past R and past Kg); then Σw of each channel, i32 [groups][⌈Kg/8⌉·8]. This Σw repeats
 * the rows' sums on purpose: the lanes kernel reading the rows' sums instead ran LeNet's conv2 16%
 * slower (23.9 against 28.1 Gelem/s, bench/int8/kernels.mjs, A/B twice, 2026-12-03).
 */
function lanesLayout(w: Uint8Array, groups: number, Kg: number, R: number): Uint8Array {
  const pairs = (R + 1) >> 1, KV = Math.ceil(Kg / 8);
  const weightBytes = groups * pairs * KV * 16;
  const bytes = new Uint8Array(weightBytes + groups * KV * 32);
  const sums = new Int32Array(bytes.buffer, weightBytes, groups * KV * 8);
  for (let g = 0; g < groups; g++) {
    for (let c = 0; c < Kg; c++) {
      const row = w.subarray((g * Kg + c) * R, (g * Kg + c + 1) * R);
      let sum = 0;
      for (let t = 0; t < R; t++) {
        bytes[((g * pairs + (t >> 1)) * KV + (c >> 3)) * 16 + 2 * (c & 7) + (t & 1)] = row[t]!;
        sum += row[t]!;
      }
      sums[g * KV * 8 + c] = sum;
    }
  }
  return bytes;
}

/** Weights of one adder or multiply layer in the kernels' layout, in wasm memory until dispose(). */
export class Int8Weights {
  private ptr: number;
  /** taps per output: kh·kw·C/groups, and the padded row length */
  readonly R: number;
  readonly Rp: number;
  /** rows per group: K/groups rounded up to even */
  readonly KgP: number;

  constructor(
    private readonly rt: Runtime,
    readonly kind: "adder" | "mul",
    readonly geometry: Readonly<Pick<Conv2dShape, "C" | "K" | "kh" | "kw" | "groups">>,
    w: Uint8Array | Int8Array,
  ) {
    const { C, K, kh, kw, groups } = geometry;
    const Kg = K / groups;
    this.R = kh * kw * (C / groups);
    this.Rp = alignUp(this.R, kind === "adder" ? ADDER_VECTOR : MUL_VECTOR);
    this.KgP = alignUp(Kg, 2);
    const rows = groups * this.KgP;
    if (kind === "adder") {
      // the rows, then Σw of each row as i32 (the tiles' a + b − 2·min(a, b); 4 more for vector
      // reads), then for a depthwise layer the taps again, tap-major [kh·kw][Cp] (int8_depthwise.ts)
      // or, for few taps and ≥ 8 channels per group, the lanes layout and its Σw (int8_adder_lanes.ts)
      const depthwiseBytes = isDepthwise("adder", geometry) ? this.R * alignUp(C, ADDER_VECTOR) : 0;
      const lanes = Kg >= 8 && this.R <= LANES_MAX_R ? lanesLayout(w as Uint8Array, groups, Kg, this.R) : null;
      this.ptr = rt.heap.alloc(rows * this.Rp + (rows + 4) * 4 + depthwiseBytes + (lanes?.length ?? 0));
      if (lanes) rt.u8(this.ptr + rows * this.Rp + (rows + 4) * 4, lanes.length).set(lanes);
      if (depthwiseBytes) {
        const cp = alignUp(C, ADDER_VECTOR);
        const t = rt.u8(this.ptr + rows * this.Rp + (rows + 4) * 4, depthwiseBytes);
        t.fill(0);
        for (let c = 0; c < C; c++) for (let tap = 0; tap < this.R; tap++) t[tap * cp + c] = w[c * this.R + tap]!;
      }
      const dst = rt.u8(this.ptr, rows * this.Rp);
      dst.fill(0);
      const sums = rt.i32(this.ptr + rows * this.Rp, rows + 4);
      sums.fill(0);
      for (let k = 0; k < K; k++) {
        const row = w.subarray(k * this.R, (k + 1) * this.R);
        dst.set(row, this.row(k));
        let sum = 0;
        for (let i = 0; i < row.length; i++) sum += row[i]!;
        sums[this.row(k) / this.Rp] = sum;
      }
    } else {
      this.ptr = rt.heap.alloc(rows * this.Rp * 2);
      const dst = new Int16Array(rt.memory.buffer, this.ptr, rows * this.Rp);
      dst.fill(0);
      for (let k = 0; k < K; k++) dst.set(w.subarray(k * this.R, (k + 1) * this.R), this.row(k));
    }
  }

  /** Element index of channel k's row: group g holds rows g·KgP .. g·KgP + Kg − 1. */
  private row(k: number): number {
    const Kg = this.geometry.K / this.geometry.groups;
    const g = Math.floor(k / Kg);
    return (g * this.KgP + (k - g * Kg)) * this.Rp;
  }

  get address(): number {
    if (this.ptr < 0) throw new Error(`the prepared ${this.kind} weights were disposed`);
    return this.ptr;
  }
  get disposed(): boolean {
    return this.ptr < 0;
  }
  dispose(): void {
    if (this.ptr >= 0) this.rt.heap.free(this.ptr);
    this.ptr = -1;
  }
  free(): void {
    this.dispose();
  }
}

/** A requantization block in wasm memory (see RQ_* in assembly/int8_common.ts), until dispose(). */
export class PreparedRequant {
  private ptr: number;
  constructor(private readonly rt: Runtime, readonly K: number, p: RequantParams) {
    const block = requantBlock(K, p, true);
    this.ptr = rt.heap.alloc(block.length);
    rt.u8(this.ptr, block.length).set(block);
  }
  get address(): number {
    if (this.ptr < 0) throw new Error("the prepared requantization was disposed");
    return this.ptr;
  }
  dispose(): void {
    if (this.ptr >= 0) this.rt.heap.free(this.ptr);
    this.ptr = -1;
  }
  free(): void {
    this.dispose();
  }
}

/** Prepare u8 adder weights, OHWI [K][kh][kw][C/groups], for layers of geometry s. */
export function prepareAdderWeights(w: Uint8Array, s: Conv2dShape): Int8Weights {
  return prepare("prepareAdderWeights", "adder", w, s);
}

/** Prepare i8 multiply weights, OHWI [K][kh][kw][C/groups], for layers of geometry s. */
export function prepareMulWeights(w: Int8Array, s: Conv2dShape): Int8Weights {
  return prepare("prepareMulWeights", "mul", w, s);
}

/**
 * Validate and copy the requantization of K channels into wasm memory once, with its integer forms:
 * the adder kernels whose sums stay u16 (one input channel, depthwise, the lanes tiles) then
 * requantize in integers, where a plain RequantParams takes the f64 path. Same bytes either way.
 */
export function prepareRequant(p: RequantParams, K: number): PreparedRequant {
  if (!Number.isInteger(K) || K < 1) throw new Error(`prepareRequant: K must be a positive integer, got ${K}`);
  checkRequant(K, p.bias, p.mult, p.shift, p.outZp, p.lo, p.hi, p.biasBits);
  return new PreparedRequant(runtime(), K, p);
}

/** out = Σ |x − w| over every tap (padded taps use x = padValue); out [N][OH][OW][K] is overwritten. */
export function adderConvU8(x: Uint8Array, w: Int8Weights, padValue: number, out: Int32Array, s: Conv2dShape): void {
  conv("adderConvU8", "adder", x, w, padValue, out, null, s);
}

/** requantizeU8(adderConvU8(x)) in one pass: out [N][OH][OW][K] u8 is overwritten. */
export function adderConvRequantU8(x: Uint8Array, w: Int8Weights, padValue: number, rq: RequantParams | PreparedRequant, out: Uint8Array, s: Conv2dShape): void {
  conv("adderConvRequantU8", "adder", x, w, padValue, out, rq, s);
}

/** out = Σ x·w over every tap (padded taps use x = padValue); out [N][OH][OW][K] is overwritten. */
export function mulConvU8I8(x: Uint8Array, w: Int8Weights, padValue: number, out: Int32Array, s: Conv2dShape): void {
  conv("mulConvU8I8", "mul", x, w, padValue, out, null, s);
}

/** requantizeU8(mulConvU8I8(x)) in one pass: out [N][OH][OW][K] u8 is overwritten. */
export function mulConvRequantU8I8(x: Uint8Array, w: Int8Weights, padValue: number, rq: RequantParams | PreparedRequant, out: Uint8Array, s: Conv2dShape): void {
  conv("mulConvRequantU8I8", "mul", x, w, padValue, out, rq, s);
}

/** Per-channel requantization of acc [M][Nc] into out [M][Nc]; the semantics of reference requantizeU8. */
export function requantizeU8(
  acc: Int32Array, M: number, Nc: number, bias: Int32Array, mult: Int32Array, shift: Uint8Array,
  outZp: number, lo: number, hi: number, out: Uint8Array, biasBits = 0,
): void {
  const op = "requantizeU8";
  positive(op, { M, Nc });
  checkRequant(Nc, bias, mult, shift, outZp, lo, hi, biasBits);
  checkArray(op, "acc", acc, Int32Array, M * Nc, "M·Nc");
  checkArray(op, "out", out, Uint8Array, M * Nc, "M·Nc");
  const rt = runtime();
  inMemory(rt, op, { acc, out });
  const rq = scratchRequant(rt, requantBlock(Nc, { bias, mult, shift, outZp, lo, hi, biasBits }, false));
  rt.parallel("requantizeU8", [acc.byteOffset, out.byteOffset, Nc, rq], M, grainFor(Nc * 16));
}

/** Elementwise residual add of u8 a and b into out with requantization; the semantics of reference addRequantU8. */
export function addRequantU8(a: Uint8Array, b: Uint8Array, p: AddRequant, out: Uint8Array): void {
  bindAddRequantU8(a, b, p, out)();
}

/** addRequantU8 bound to fixed arrays and parameters: validated once (see bindAdderConvU8). */
export function bindAddRequantU8(a: Uint8Array, b: Uint8Array, p: AddRequant, out: Uint8Array): () => void {
  const op = "addRequantU8";
  checkAddRequant(p);
  positive(op, { length: a.length });
  checkArray(op, "b", b, Uint8Array, a.length, "a.length");
  checkArray(op, "out", out, Uint8Array, a.length, "a.length");
  const rt = runtime();
  inMemory(rt, op, { a, b, out });
  const fields = addFields(p);
  const n = a.length, grain = grainFor(8);
  return () => {
    // the parameter block is shared scratch: another call may have overwritten it
    const ptr = rt.scratch(ADD_PARAMS_SLOT, fields.byteLength);
    rt.i32(ptr, fields.length).set(fields);
    rt.parallel("addRequantU8", [a.byteOffset, b.byteOffset, out.byteOffset, ptr], n, grain, 16);
  };
}

/** addRequantU8 as one op of an Int8Program over `images` images (a is [images][…]). */
export function addRequantProgramOp(a: Uint8Array, b: Uint8Array, p: AddRequant, out: Uint8Array, images: number): ProgramOp {
  bindAddRequantU8(a, b, p, out); // validates
  return { code: "OP_ADD_REQUANT", unitsPerImage: perImage("addRequantU8", a.length, images), args: [a.byteOffset, b.byteOffset, out.byteOffset, PROGRAM_BLOCK], block: addFields(p), slotBytes: 0 };
}

function addFields(p: AddRequant): Int32Array {
  return Int32Array.of(p.zeroA, p.multA, p.zeroB, p.multB, p.shift, p.outZp, p.lo, p.hi);
}

function perImage(op: string, length: number, images: number): number {
  if (!Number.isInteger(images) || images < 1 || length % images !== 0) throw new Error(`${op}: ${length} elements do not split into ${images} images`);
  return length / images;
}

/**
 * An Int8Program's first op for float input: [0, 1] pixels src (f32 NCHW, `images` × C × HW, in
 * wasm memory) to u8 NHWC dst, q = clamp(trunc(x·a[c] + b[c]), 0, 255) in f64 (NaN → 0).
 */
export function quantizeF32ProgramOp(src: Float32Array, dst: Uint8Array, C: number, HW: number, a: readonly number[], b: readonly number[], images: number): ProgramOp {
  const op = "quantizeF32U8";
  positive(op, { C, HW, images });
  if (a.length !== C || b.length !== C) throw new Error(`${op}: a and b need ${C} channels`);
  if (!(src instanceof Float32Array) || src.length !== images * C * HW) throw new Error(`${op}: src must be a Float32Array of images·C·HW = ${images * C * HW} elements`);
  checkArray(op, "dst", dst, Uint8Array, images * C * HW, "images·C·HW");
  const rt = runtime();
  inMemory(rt, op, { src, dst });
  const params = new Float64Array(2 * C);
  for (let c = 0; c < C; c++) {
    params[2 * c] = a[c]!;
    params[2 * c + 1] = b[c]!;
  }
  return { code: "OP_QUANTIZE_F32", unitsPerImage: 1, args: [src.byteOffset, dst.byteOffset, C, HW, PROGRAM_BLOCK], block: new Int32Array(params.buffer), slotBytes: 0 };
}

/** Max pooling of u8 NHWC with no padding; OH = floor((H − kh)/stride) + 1. out is [N][OH][OW][C]. */
export function maxPool2dU8(x: Uint8Array, N: number, H: number, W: number, C: number, kh: number, kw: number, stride: number, out: Uint8Array): void {
  bindMaxPool2dU8(x, N, H, W, C, kh, kw, stride, out)();
}

/** maxPool2dU8 bound to fixed arrays and sizes: validated once (see bindAdderConvU8). */
export function bindMaxPool2dU8(x: Uint8Array, N: number, H: number, W: number, C: number, kh: number, kw: number, stride: number, out: Uint8Array): () => void {
  const op = "maxPool2dU8";
  positive(op, { N, H, W, C, kh, kw, stride });
  if (kh > MAX_WINDOW || kw > MAX_WINDOW || stride > MAX_WINDOW) throw new Error(`${op}: kh, kw and stride must be at most ${MAX_WINDOW}, got ${kh}, ${kw}, ${stride}`);
  const OH = Math.floor((H - kh) / stride) + 1, OW = Math.floor((W - kw) / stride) + 1;
  if (OH < 1 || OW < 1) throw new Error(`${op}: a ${kh}×${kw} window does not fit ${H}×${W}`);
  checkArray(op, "x", x, Uint8Array, N * H * W * C, "N·H·W·C");
  checkArray(op, "out", out, Uint8Array, N * OH * OW * C, "N·OH·OW·C");
  const rt = runtime();
  inMemory(rt, op, { x, out });
  const args = [x.byteOffset, out.byteOffset, H, W, C, kh | (kw << 10) | (stride << 20)];
  const grain = grainFor(OW * C * kh * kw);
  return () => rt.parallel("maxPool2dU8", args, N * OH, grain);
}

/** maxPool2dU8 as one op of an Int8Program (output rows are the unit: OH per image). */
export function maxPoolProgramOp(x: Uint8Array, N: number, H: number, W: number, C: number, kh: number, kw: number, stride: number, out: Uint8Array): ProgramOp {
  bindMaxPool2dU8(x, N, H, W, C, kh, kw, stride, out); // validates
  const OH = Math.floor((H - kh) / stride) + 1;
  return { code: "OP_MAX_POOL", unitsPerImage: OH, args: [x.byteOffset, out.byteOffset, H, W, C, kh | (kw << 10) | (stride << 20)], slotBytes: 0 };
}

/** Global average pooling of u8 [N][HW][C] to [N][C], rounding half up: floor((Σ + ⌊HW/2⌋) / HW). */
export function avgPoolGlobalU8(x: Uint8Array, N: number, HW: number, C: number, out: Uint8Array): void {
  bindAvgPoolGlobalU8(x, N, HW, C, out)();
}

/** avgPoolGlobalU8 as one op of an Int8Program (one unit per image). */
export function avgPoolGlobalProgramOp(x: Uint8Array, N: number, HW: number, C: number, out: Uint8Array): ProgramOp {
  bindAvgPoolGlobalU8(x, N, HW, C, out); // validates
  return { code: "OP_AVG_POOL_GLOBAL", unitsPerImage: 1, args: [x.byteOffset, out.byteOffset, HW, C], slotBytes: 64 };
}

/** avgPoolGlobalU8 bound to fixed arrays and sizes: validated once (see bindAdderConvU8). */
export function bindAvgPoolGlobalU8(x: Uint8Array, N: number, HW: number, C: number, out: Uint8Array): () => void {
  const op = "avgPoolGlobalU8";
  positive(op, { N, HW, C });
  if (HW * 255 >= 2 ** 31) throw new Error(`${op}: HW = ${HW} positions would overflow the i32 sums`);
  checkArray(op, "x", x, Uint8Array, N * HW * C, "N·HW·C");
  checkArray(op, "out", out, Uint8Array, N * C, "N·C");
  const rt = runtime();
  inMemory(rt, op, { x, out });
  const grain = grainFor(HW * C);
  return () => rt.parallel("avgPoolGlobalU8", [x.byteOffset, out.byteOffset, HW, C, threadScratch(rt, 64), 64], N, grain);
}

// ---- plumbing ----

function prepare(op: string, kind: "adder" | "mul", w: Uint8Array | Int8Array, s: Conv2dShape): Int8Weights {
  checkConv2dShape(s);
  const type = kind === "adder" ? Uint8Array : Int8Array;
  checkArray(op, "w", w, type, s.K * s.kh * s.kw * (s.C / s.groups), "K·kh·kw·C/groups");
  return new Int8Weights(runtime(), kind, { C: s.C, K: s.K, kh: s.kh, kw: s.kw, groups: s.groups }, w);
}

function conv(
  op: string, kind: "adder" | "mul", x: Uint8Array, w: Int8Weights, padValue: number,
  out: Int32Array | Uint8Array, rq: RequantParams | PreparedRequant | null, s: Conv2dShape,
): void {
  bindConv(op, kind, x, w, padValue, out, rq, s)();
}

/** An adder layer that assembly/int8_depthwise.ts runs: one channel per group in and out. */
function isDepthwise(kind: "adder" | "mul", g: Pick<Conv2dShape, "C" | "K" | "kh" | "kw" | "groups">): boolean {
  return kind === "adder" && g.groups > 1 && g.C === g.groups && g.K === g.groups && g.kh * g.kw <= U16_MAX_TAPS;
}

/** A validated conv call: its geometry block (see Int8Conv) and how it splits. */
interface ConvCall {
  kernel: "adderConvU8" | "mulConvU8I8";
  block: Int32Array;
  positions: number;
  grain: number;
  slotBytes: number;
  prepared: PreparedRequant | null;
  plain: RequantParams | null;
}

/** Field indices of the Int8Conv block that change per call or per runner. */
const F_W = 26, F_RQ = 28, F_SCRATCH = 29, F_SLOT_BYTES = 30;

function convCall(
  op: string, kind: "adder" | "mul", x: Uint8Array, w: Int8Weights, padValue: number,
  out: Int32Array | Uint8Array, rq: RequantParams | PreparedRequant | null, s: Conv2dShape, pool = false,
): ConvCall {
  checkShape(s);
  if (pool && (!rq || !canFuseMaxPool2(kind, s))) throw new Error(`${op}: a fused 2×2 max pool needs an adder conv (not depthwise) with an output of at least 2×2 and a requantization; with one input channel, also one group, unit stride and dilation along W and ≤ 257 taps`);
  if (!(w instanceof Int8Weights) || w.kind !== kind) throw new Error(`${op}: weights must come from ${kind === "adder" ? "prepareAdderWeights" : "prepareMulWeights"}`);
  if (w.disposed) throw new Error(`${op}: the prepared weights were disposed`);
  const g = w.geometry;
  if (g.C !== s.C || g.K !== s.K || g.kh !== s.kh || g.kw !== s.kw || g.groups !== s.groups) {
    for (const f of ["C", "K", "kh", "kw", "groups"] as const) {
      if (g[f] !== s[f]) throw new Error(`${op}: weights were prepared for ${f} = ${g[f]}, but the call has ${f} = ${s[f]}`);
    }
  }
  if ((padValue & 255) !== padValue) throw new Error(`${op}: padValue must be an integer in [0, 255], got ${padValue}`);
  const positions = pool ? s.N * (s.OH >> 1) * (s.OW >> 1) : s.N * s.OH * s.OW;
  checkArray(op, "x", x, Uint8Array, s.N * s.H * s.W * s.C, "N·H·W·C");
  checkArray(op, "out", out, rq ? Uint8Array : Int32Array, positions * s.K, pool ? "N·⌊OH/2⌋·⌊OW/2⌋·K" : "N·OH·OW·K");
  const rt = runtime();
  inMemory1(rt, op, "x", x);
  inMemory1(rt, op, "out", out);
  const prepared = rq instanceof PreparedRequant ? rq : null;
  const plain = rq && !prepared ? (rq as RequantParams) : null;
  if (prepared && prepared.K !== s.K) throw new Error(`${op}: the requantization was prepared for ${prepared.K} channels, the layer has K = ${s.K}`);
  if (plain) checkRequant(s.K, plain.bias, plain.mult, plain.shift, plain.outZp, plain.lo, plain.hi, plain.biasBits);
  const esz = kind === "adder" ? 1 : 2;
  const rowBytes = w.Rp * esz;
  const block = Math.min(512, Math.max(4, Math.floor(int8Tuning.blockBytes / rowBytes / 4) * 4));
  // groups = 1 and dilationW = 1: patches read kw·C contiguous bytes per kernel row of a padded copy
  const planeData = (s.H + 2 * s.padH) * (s.W + 2 * s.padW) * s.C;
  const planeBytes = ((s.groups === 1 && s.dilationW === 1) || isDepthwise(kind, s)) && planeData <= MAX_PLANE_BYTES ? alignUp(planeData + 16, 64) : 0;
  // [image tag 64][plane][block rows][64 bytes of overrun slack][adder: Σ of each row, i32, 4 spare]
  const rowSums = kind === "adder" ? (block + 4) * 4 : 0;
  // the one-channel adder path uses the block area for its own scratch instead (c1Scratch in
  // assembly/int8_adder.ts): 64 bytes, tap offsets, column sums of two rows, two 128-byte groups
  const pitch = s.W + 2 * s.padW;
  const oneChannel = kind === "adder" && s.C === 1 ? 64 + alignUp(4 * (w.R + 1), 16) + 4 * (pitch + 32) + 256 : 0;
  // a fused pool (adderConvPool): the raw i32 accumulators of a block after the row sums
  const pooled = pool && s.C !== 1 ? 32 + block * s.K * 4 : 0;
  const slotBytes = alignUp(64 + planeBytes + Math.max(block * rowBytes + 64 + rowSums + pooled, oneChannel), 64);
  const p = new Int32Array(PARAM_FIELDS);
  p[0] = s.N; p[1] = s.C; p[2] = s.H; p[3] = s.W; p[4] = s.K; p[5] = s.kh; p[6] = s.kw;
  p[7] = s.strideH; p[8] = s.strideW; p[9] = s.padH; p[10] = s.padW; p[11] = s.dilationH; p[12] = s.dilationW;
  p[13] = s.groups; p[14] = s.OH; p[15] = s.OW; p[16] = s.C / s.groups; p[17] = s.K / s.groups;
  p[18] = w.KgP; p[19] = w.R; p[20] = w.Rp; p[21] = padValue; p[22] = block; p[23] = kind === "mul" ? 1 : 0;
  p[24] = planeBytes; p[25] = x.byteOffset; p[F_W] = w.address; p[27] = out.byteOffset; p[F_SLOT_BYTES] = slotBytes;
  p[31] = pool ? 1 : 0;
  const kernel = kind === "adder" ? "adderConvU8" : "mulConvU8I8";
  return { kernel, block: p, positions, grain: grainFor(s.groups * w.KgP * w.Rp), slotBytes, prepared, plain };
}

/**
 * Validate a conv call and build its geometry block once; the returned closure only copies the
 * block into place, claims the thread slots and dispatches. A plain RequantParams is built into a
 * block once here and copied into scratch on every call (another call may have reused it).
 */
function bindConv(
  op: string, kind: "adder" | "mul", x: Uint8Array, w: Int8Weights, padValue: number,
  out: Int32Array | Uint8Array, rq: RequantParams | PreparedRequant | null, s: Conv2dShape, pool = false,
): () => void {
  const c = convCall(op, kind, x, w, padValue, out, rq, s, pool);
  const rt = runtime();
  const st = state(rt);
  const p = c.block, args = [st.paramsPtr];
  const { prepared, plain, slotBytes, kernel, positions, grain } = c;
  // a plain block is built on every call: the integer forms (BigInt searches, about 10 µs per
  // channel) only for the one-channel adder kernel, which needs them for its speed; the lanes and
  // depthwise kernels take them from a PreparedRequant and the f64 path from a plain one
  const plainBlock = plain ? requantBlock(s.K, plain, kind === "adder" && s.C === 1) : null;
  return () => {
    // the only state that can change after binding: disposal, and the scratch blocks
    p[F_W] = w.address;
    p[F_RQ] = prepared ? prepared.address : plainBlock ? scratchRequant(rt, plainBlock) : 0;
    p[F_SCRATCH] = threadScratch(rt, slotBytes);
    st.params.set(p);
    rt.parallel(kernel, args, positions, grain, 4);
  };
}

/**
 * A conv as one op of an Int8Program (./int8_program.ts): the same validation as bindConv, with
 * the requantization prepared (its address goes into the op's own block).
 */
export function convProgramOp(
  kind: "adder" | "mul", x: Uint8Array, w: Int8Weights, padValue: number, out: Int32Array | Uint8Array, rq: PreparedRequant | null, s: Conv2dShape, pool = false,
): ProgramOp {
  const c = convCall(kind === "adder" ? "adderConvU8" : "mulConvU8I8", kind, x, w, padValue, out, rq, s, pool);
  c.block[F_RQ] = rq ? rq.address : 0;
  // the program hands each thread's slot to the kernel itself (adderConvInSlot): no scratch field
  c.block[F_SCRATCH] = 0;
  const unitsPerImage = pool ? (s.OH >> 1) * (s.OW >> 1) : s.OH * s.OW;
  return { code: c.kernel === "adderConvU8" ? "OP_ADDER_CONV" : "OP_MUL_CONV", unitsPerImage, args: [PROGRAM_BLOCK], block: c.block, slotBytes: c.slotBytes };
}

/** adderConvU8 bound to fixed arrays and shape: validated once, then each call only dispatches. */
export function bindAdderConvU8(x: Uint8Array, w: Int8Weights, padValue: number, out: Int32Array, s: Conv2dShape): () => void {
  return bindConv("adderConvU8", "adder", x, w, padValue, out, null, s);
}

/** adderConvRequantU8, bound (see bindAdderConvU8). */
export function bindAdderConvRequantU8(x: Uint8Array, w: Int8Weights, padValue: number, rq: RequantParams | PreparedRequant, out: Uint8Array, s: Conv2dShape): () => void {
  return bindConv("adderConvRequantU8", "adder", x, w, padValue, out, rq, s);
}

/**
 * maxPool2dU8(adderConvRequantU8(x), 2×2, stride 2) in one pass: out [N][⌊OH/2⌋][⌊OW/2⌋][K] u8 is
 * overwritten. Only where canFuseMaxPool2 holds.
 */
export function adderConvRequantMaxPool2U8(x: Uint8Array, w: Int8Weights, padValue: number, rq: RequantParams | PreparedRequant, out: Uint8Array, s: Conv2dShape): void {
  bindAdderConvRequantMaxPool2U8(x, w, padValue, rq, out, s)();
}

/** adderConvRequantMaxPool2U8, bound (see bindAdderConvU8). */
export function bindAdderConvRequantMaxPool2U8(x: Uint8Array, w: Int8Weights, padValue: number, rq: RequantParams | PreparedRequant, out: Uint8Array, s: Conv2dShape): () => void {
  return bindConv("adderConvRequantMaxPool2U8", "adder", x, w, padValue, out, rq, s, true);
}

/**
 * Whether a 2×2 stride-2 max pool after this conv can run fused into it: an adder conv with an
 * output of at least 2×2, other than the depthwise kernel's layers; a one-channel input takes the
 * direct kernel (directC1 in assembly/int8_adder.ts), which needs unit stride and dilation along W.
 */
export function canFuseMaxPool2(kind: "adder" | "mul", s: Conv2dShape): boolean {
  if (kind !== "adder" || s.OH < 2 || s.OW < 2 || isDepthwise(kind, s)) return false;
  const direct = s.C === 1 && s.groups === 1 && s.strideW === 1 && s.dilationW === 1 && s.kh * s.kw <= U16_MAX_TAPS && (s.H + 2 * s.padH) * (s.W + 2 * s.padW) <= MAX_PLANE_BYTES;
  return direct || s.C !== 1;
}

/** mulConvU8I8, bound (see bindAdderConvU8). */
export function bindMulConvU8I8(x: Uint8Array, w: Int8Weights, padValue: number, out: Int32Array, s: Conv2dShape): () => void {
  return bindConv("mulConvU8I8", "mul", x, w, padValue, out, null, s);
}

/** mulConvRequantU8I8, bound (see bindAdderConvU8). */
export function bindMulConvRequantU8I8(x: Uint8Array, w: Int8Weights, padValue: number, rq: RequantParams | PreparedRequant, out: Uint8Array, s: Conv2dShape): () => void {
  return bindConv("mulConvRequantU8I8", "mul", x, w, padValue, out, rq, s);
}

/**
 * checkConv2dShape's verdict at a fraction of its cost (it loops over field names, which showed up
 * at batch 1): plain comparisons, and the full check, with its message, only when one fails.
 */
function checkShape(s: Conv2dShape): void {
  const pos = (v: number) => (v | 0) === v && v >= 1;
  const ok =
    pos(s.N) && pos(s.C) && pos(s.H) && pos(s.W) && pos(s.K) && pos(s.kh) && pos(s.kw) && pos(s.strideH) && pos(s.strideW) &&
    pos(s.dilationH) && pos(s.dilationW) && pos(s.groups) && (s.padH | 0) === s.padH && s.padH >= 0 && (s.padW | 0) === s.padW && s.padW >= 0 &&
    s.C % s.groups === 0 && s.K % s.groups === 0 &&
    s.OH === Math.floor((s.H + 2 * s.padH - s.dilationH * (s.kh - 1) - 1) / s.strideH) + 1 && s.OH >= 1 &&
    s.OW === Math.floor((s.W + 2 * s.padW - s.dilationW * (s.kw - 1) - 1) / s.strideW) + 1 && s.OW >= 1;
  if (!ok) checkConv2dShape(s);
}

/** Per-runtime buffers of this file: the geometry block and a grow-only requantization block. */
interface State {
  paramsPtr: number;
  params: Int32Array;
  rqPtr: number;
  rqBytes: number;
}
const states = new WeakMap<Runtime, State>();

function state(rt: Runtime): State {
  let st = states.get(rt);
  if (!st) {
    const paramsPtr = rt.heap.alloc(PARAM_FIELDS * 4);
    // shared memory never detaches on growth, so the view stays valid
    st = { paramsPtr, params: rt.i32(paramsPtr, PARAM_FIELDS), rqPtr: 0, rqBytes: 0 };
    states.set(rt, st);
  }
  return st;
}

/** A requantization block (requantBlock) copied into the runtime's grow-only scratch block. */
function scratchRequant(rt: Runtime, block: Uint8Array): number {
  const st = state(rt);
  if (st.rqBytes < block.length) {
    if (st.rqPtr) rt.heap.free(st.rqPtr);
    st.rqBytes = Math.max(block.length, 2 * st.rqBytes);
    st.rqPtr = rt.heap.alloc(st.rqBytes);
  }
  rt.u8(st.rqPtr, block.length).set(block);
  return st.rqPtr;
}

/** Channels of a requantization block: room for the 4-lane reads of the last tile past K. */
function requantChannels(K: number): number {
  return alignUp(K, 4) + 4;
}

function requantBytes(K: number): number {
  return 32 + requantChannels(K) * 12 + U16_HEAD + requantChannels(K) * (U16_CHANNEL + 4) + LANES_HEAD + lanesChannels(K) * LANES_CHANNEL;
}

/** Channels of the lanes form: whole blocks of 8, and one spare block for the 16-lane reads of a last 8. */
function lanesChannels(K: number): number {
  return alignUp(K, 8) + 8;
}

/** The u16-lane integer form (requant_u16.ts) after the f64 multipliers: i32 [lo, hi, 0, 0], then per channel. */
const U16_HEAD = 16;
/** i32 [mode, rA, rB, m, b, k, q, 0] per channel. */
const U16_CHANNEL = 32;
/** The lanes form (requant_u16.ts lanesRequant) after the rising masks: i32 [ready, shift, 0, lo, hi, 0, 0, 0]. */
const LANES_HEAD = 32;
/** Per channel, in blocks of 8 channels (144 bytes): u16 flip [8], ref [8], span [8], u32 m [8], u32 b [8], i32 q [8]. */
const LANES_CHANNEL = 18;

/**
 * Header f64 [lo − zp, hi − zp, zp + 2^52], i32 Kpad at 24, i32 biasBits at 28; bias i32 [Kpad];
 * mult·2^−shift f64 [Kpad]; then the u16-lane form (U16_HEAD, U16_CHANNEL; rqU16 in int8_common.ts);
 * then i32 [Kpad] masks, all ones where mult ≥ 0 (rqRising: the pooled kernels' max or min); then
 * the lanes form (LANES_HEAD, LANES_CHANNEL; lanesForm in int8_common.ts). Built in JS once and
 * copied into wasm memory. withU16: compute the u16-lane and lanes forms (only the adder kernels
 * with u16 accumulators read them); without them every channel takes the f64 path.
 */
function requantBlock(K: number, p: RequantParams, withU16: boolean): Uint8Array {
  const Kpad = requantChannels(K);
  const block = new ArrayBuffer(requantBytes(K));
  const head = new Float64Array(block, 0, 3);
  head[0] = p.lo - p.outZp;
  head[1] = p.hi - p.outZp;
  head[2] = p.outZp + 2 ** 52;
  new Int32Array(block, 24, 2).set([Kpad, p.biasBits ?? 0]);
  const bias = new Int32Array(block, 32, Kpad);
  const m = new Float64Array(block, 32 + Kpad * 4, Kpad);
  for (let k = 0; k < K; k++) {
    bias[k] = p.bias[k]!;
    m[k] = p.mult[k]! * 2 ** -p.shift[k]!;
  }
  // the u16-lane form: mode 0 (the f64 path, always correct) unless computed
  const u16 = new Int32Array(block, 32 + Kpad * 12, (U16_HEAD + Kpad * U16_CHANNEL) / 4);
  u16[0] = p.lo;
  u16[1] = p.hi;
  // it costs tens of µs per channel (BigInt searches): only where a kernel reads it
  const forms: U16Requant[] = [];
  for (let k = 0; withU16 && k < K; k++) {
    const c = u16Requant(p.bias[k]!, p.mult[k]!, p.shift[k]!, p.biasBits ?? 0, p.outZp, p.lo, p.hi);
    u16.set([c.mode, c.rA, c.rB, c.m | 0, c.b | 0, c.k, c.q], (U16_HEAD + k * U16_CHANNEL) / 4);
    forms.push(c);
  }
  const risingAt = 32 + Kpad * 12 + U16_HEAD + Kpad * U16_CHANNEL;
  const rising = new Int32Array(block, risingAt, Kpad);
  for (let k = 0; k < K; k++) rising[k] = p.mult[k]! >= 0 ? -1 : 0;
  const lanes = withU16 ? lanesRequant(forms) : null;
  if (lanes) writeLanes(block, risingAt + Kpad * 4, lanes, p);
  return new Uint8Array(block);
}

/** The lanes form at byte `at` of the block (its header's `ready` stays 0 when a layer has none). */
function writeLanes(block: ArrayBuffer, at: number, f: LanesRequant, p: RequantParams): void {
  new Int32Array(block, at, 5).set([1, f.shift, 0, p.lo, p.hi]);
  const u16 = new Uint16Array(block, at + LANES_HEAD), u32 = new Uint32Array(block, at + LANES_HEAD), i32 = new Int32Array(block, at + LANES_HEAD);
  for (let c = 0; c < f.m.length; c++) {
    const o = (c >> 3) * 8 * LANES_CHANNEL, lane = c & 7;
    u16[o / 2 + lane] = f.flip[c]!;
    u16[o / 2 + 8 + lane] = f.ref[c]!;
    u16[o / 2 + 16 + lane] = f.span[c]!;
    u32[o / 4 + 12 + lane] = f.m[c]!;
    u32[o / 4 + 20 + lane] = f.b[c]!;
    i32[o / 4 + 28 + lane] = f.q[c]!;
  }
}

function positive(op: string, sizes: Record<string, number>): void {
  for (const [name, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${name} must be a positive integer, got ${v}`);
  }
}

type ArrayType = typeof Uint8Array | typeof Int8Array | typeof Int32Array;

function checkArray(op: string, name: string, a: unknown, type: ArrayType, n: number, what: string): void {
  if (!(a instanceof type) || a.length !== n) {
    const got = ArrayBuffer.isView(a) ? `${a.constructor.name} of ${(a as Uint8Array).length}` : String(a);
    throw new Error(`${op}: ${name} must be a ${type.name} of ${what} = ${n} elements, got ${got}`);
  }
}

function inMemory(rt: Runtime, op: string, arrays: Record<string, ArrayBufferView>): void {
  for (const [name, a] of Object.entries(arrays)) inMemory1(rt, op, name, a);
}

function inMemory1(rt: Runtime, op: string, name: string, a: ArrayBufferView): void {
  if (!rt.holds(a)) {
    throw new Error(`${op}: ${name} is not in the kernel runtime's memory; allocate it with runtime().heap`);
  }
}
