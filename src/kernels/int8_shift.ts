// Integer shift conv/linear entry points (assembly/int8_shift.ts): out = Σ sign·(x << shift) over
// every tap of a u8 NHWC input, bit-exact with shiftConvU8 in reference/int8.ts, optionally fused
// with the per-channel requantization of requantizeU8.
//
// prepareShiftWeights compiles the weights once (at model load) into per-channel "programs":
// the nonzero taps grouped by shift, as byte offsets into a lane-major copy of the input. Offsets
// depend on the layer geometry but not on the batch size, so one prepared object serves every
// batch size of its layer. Each call picks a layout (see the assembly file): `batch` puts 32
// images in the vector lanes, `planes` puts 32 positions of one image there, `scalar` takes one
// position at a time (a linear layer at batch 1). The choice never changes the result.
import { checkConv2dShape, type Conv2dShape } from "./conv2d.js";
import { alignUp, grainFor, threadScratch } from "./gemm.js";
import { prepareRequant, PreparedRequant, type RequantParams } from "./int8.js";
import { MAX_SHIFT } from "./reference/int8.js";
import { runtime, type Runtime } from "./runtime.js";

export type ShiftLayout = "batch" | "planes" | "scalar";

/** Knobs for the layout choice; tests force each layout. */
export const shiftTuning = {
  layout: "auto" as "auto" | ShiftLayout,
  /**
   * Below this many useful lanes per 32-lane tile, the scalar layout takes over. Measured on a
   * 400 → 120 linear layer: 2 images in 32 lanes tie with scalar, 4 images run 2× faster.
   */
  minLanes: 2,
};

const LANES = 32;
/** A group sums at most this many u8 taps (weighted by 2^(shift − base)) in i16 lanes: 128·255 < 2^15. */
const CHUNK = 128;
// Runtime.scratch slots of this file.
const PARAMS_SLOT = 30;
const LAYOUT_SLOT = 31;
const PROGRAMS: readonly ShiftLayout[] = ["batch", "planes", "scalar"];
const GEOMETRY = ["C", "H", "W", "K", "kh", "kw", "strideH", "strideW", "padH", "padW", "dilationH", "dilationW", "groups", "OH", "OW"] as const;

/** Shift weights compiled for one layer geometry, living in wasm memory until dispose(). */
export class ShiftWeights {
  private ptr: number;
  /** Byte address of each layout's program block. */
  readonly programs: Readonly<Record<ShiftLayout, number>>;

  constructor(
    private readonly rt: Runtime,
    readonly geometry: Readonly<Conv2dShape>,
    /** nonzero taps, i.e. the adds and subtracts per output position */
    readonly nonzero: number,
    blocks: Int32Array[],
  ) {
    const bytes = blocks.reduce((a, b) => a + b.byteLength, 0);
    this.ptr = rt.heap.alloc(bytes);
    let at = this.ptr;
    const programs: Partial<Record<ShiftLayout, number>> = {};
    blocks.forEach((b, i) => {
      rt.i32(at, b.length).set(b);
      programs[PROGRAMS[i]] = at;
      at += b.byteLength;
    });
    this.programs = programs as Record<ShiftLayout, number>;
  }

  get disposed(): boolean {
    return this.ptr === 0;
  }

  dispose(): void {
    if (this.ptr) this.rt.heap.free(this.ptr);
    this.ptr = 0;
  }
  /** Same as dispose(), the name Int8Weights also answers to. */
  free(): void {
    this.dispose();
  }
}

/** Lane-major geometry of the three layouts (element counts). */
function layouts(s: Conv2dShape) {
  const Hp = s.H + 2 * s.padH, Wp = s.W + 2 * s.padW;
  const Hq = s.OH + Math.floor(((s.kh - 1) * s.dilationH) / s.strideH);
  const Wq = s.OW + Math.floor(((s.kw - 1) * s.dilationW) / s.strideW);
  return {
    Hp, Wp, Hq, Wq,
    /** positions tiles of one image in the planes layout */
    tiles: Math.ceil((s.OH * Wq) / LANES),
    planeImage: s.C * s.strideH * s.strideW * Hq * Wq,
  };
}

/** Byte offset of tap (ki, kj, channel c of the whole input) from the tile base, per layout. */
function tapOffsets(s: Conv2dShape): Record<ShiftLayout, (ki: number, kj: number, c: number) => number> {
  const g = layouts(s);
  return {
    batch: (ki, kj, c) => ((ki * s.dilationH * g.Wp + kj * s.dilationW) * s.C + c) * LANES * 2,
    planes: (ki, kj, c) => {
      const a = ki * s.dilationH, b = kj * s.dilationW;
      const plane = (c * s.strideH + (a % s.strideH)) * s.strideW + (b % s.strideW);
      return ((plane * g.Hq + Math.floor(a / s.strideH)) * g.Wq + Math.floor(b / s.strideW)) * 2;
    },
    scalar: (ki, kj, c) => (ki * s.dilationH * g.Wp + kj * s.dilationW) * s.C + c,
  };
}

/**
 * Compile shift weights (OHWI: sign ∈ {−1, 0, +1} and shift ∈ [0, MAX_SHIFT], both
 * [K][kh][kw][C/groups]) for layer geometry s; s.N is ignored. Zero-sign taps are dropped.
 */
export function prepareShiftWeights(sign: Int8Array, shift: Uint8Array, s: Conv2dShape): ShiftWeights {
  const op = "prepareShiftWeights";
  checkConv2dShape(s);
  const Cg = s.C / s.groups, Kg = s.K / s.groups, R = s.kh * s.kw * Cg;
  const n = s.K * R;
  if (!(sign instanceof Int8Array) || sign.length !== n) throw new Error(`${op}: sign must be an Int8Array of K·kh·kw·(C/groups) = ${n} elements, got ${describe(sign)}`);
  if (!(shift instanceof Uint8Array) || shift.length !== n) throw new Error(`${op}: shift must be a Uint8Array of K·kh·kw·(C/groups) = ${n} elements, got ${describe(shift)}`);
  for (let i = 0; i < n; i++) {
    if (sign[i] < -1 || sign[i] > 1) throw new Error(`${op}: sign[${i}] = ${sign[i]} is not −1, 0 or +1`);
    if (shift[i] > MAX_SHIFT) throw new Error(`${op}: shift[${i}] = ${shift[i]} exceeds ${MAX_SHIFT}`);
  }
  const offsets = tapOffsets(s);
  let nonzero = 0;
  for (let i = 0; i < n; i++) if (sign[i] !== 0) nonzero++;
  // the grouping depends on the weights only; each layout then writes it with its own tap offsets
  const programs = Array.from({ length: s.K }, (_, k) => channelGroups(channelPlanes(sign, shift, k * R, R)));
  const blocks = PROGRAMS.map((layout) => emit(programs, s, Kg, Cg, offsetTable(s, offsets[layout])));
  return new ShiftWeights(runtime(), { ...s }, nonzero, blocks);
}

/** One output channel's nonzero taps (indices r = (ki·kw + kj)·Cg + c) by shift, largest shift first. */
type Planes = Array<{ shift: number; plus: number[]; minus: number[] }>;

function channelPlanes(sign: Int8Array, shift: Uint8Array, start: number, R: number): Planes {
  const byShift: Planes = [];
  for (let r = 0; r < R; r++) {
    const i = start + r;
    if (sign[i] === 0) continue;
    const plane = (byShift[shift[i]!] ??= { shift: shift[i]!, plus: [], minus: [] });
    (sign[i]! > 0 ? plane.plus : plane.minus).push(r);
  }
  return byShift.filter((p) => p !== undefined).reverse();
}

/** A layout's offsets of every tap position and input channel: [(ki·kw + kj)·C + c]. */
function offsetTable(s: Conv2dShape, offset: (ki: number, kj: number, c: number) => number): Int32Array {
  const table = new Int32Array(s.kh * s.kw * s.C);
  for (let ki = 0; ki < s.kh; ki++) for (let kj = 0; kj < s.kw; kj++) for (let c = 0; c < s.C; c++) table[(ki * s.kw + kj) * s.C + c] = offset(ki, kj, c);
  return table;
}

/**
 * One channel's program: its planes visited from the largest shift down and merged into groups
 * by Horner steps (acc = (acc << d) + plane) while the group's i16 sum provably fits:
 * 255 · Σ 2^(shift − group base) ≤ 128 · 255 < 2^15, counted for + and − taps separately.
 * Fewer groups mean fewer widen-shift-add flushes; a plane too big for one group is chunked.
 * Taps are still indices r here; emit() turns them into a layout's byte offsets.
 */
function channelGroups(planes: Planes): Group[] {
  const groups: Group[] = [];
  let cur: Group | null = null;
  for (const { shift: sh, plus, minus } of planes) {
    for (let from = 0; from < Math.max(plus.length, minus.length); from += CHUNK) {
      const step = { plus: plus.slice(from, from + CHUNK), minus: minus.slice(from, from + CHUNK) };
      if (cur) {
        const d = cur.base - sh;
        const unitsPlus = cur.unitsPlus * 2 ** d + step.plus.length, unitsMinus = cur.unitsMinus * 2 ** d + step.minus.length;
        if (unitsPlus <= CHUNK && unitsMinus <= CHUNK) {
          cur.steps.push({ d, ...step });
          Object.assign(cur, { base: sh, unitsPlus, unitsMinus });
          continue;
        }
      }
      groups.push((cur = { base: sh, unitsPlus: step.plus.length, unitsMinus: step.minus.length, steps: [{ d: 0, ...step }] }));
    }
  }
  return groups;
}

/**
 * One layout's program block (format in assembly/int8_shift.ts): K byte offsets, then each
 * channel's program: [groups, then per group: base, steps, then per step: d, |plus|, |minus|, the
 * plus taps' and the minus taps' byte offsets].
 */
function emit(programs: Group[][], s: Conv2dShape, Kg: number, Cg: number, offsets: Int32Array): Int32Array {
  let words = s.K;
  for (const groups of programs) {
    words += 1;
    for (const g of groups) words += 2 + g.steps.reduce((n, st) => n + 3 + st.plus.length + st.minus.length, 0);
  }
  const out = new Int32Array(words);
  let at = s.K;
  programs.forEach((groups, k) => {
    out[k] = at * 4;
    const c0 = Math.floor(k / Kg) * Cg;
    // tap r of this channel: position ⌊r / Cg⌋ = ki·kw + kj, input channel c0 + r mod Cg
    const write = (r: number) => (out[at++] = offsets[Math.floor(r / Cg) * s.C + c0 + (r % Cg)]!);
    out[at++] = groups.length;
    for (const g of groups) {
      out[at++] = g.base;
      out[at++] = g.steps.length;
      for (const st of g.steps) {
        out[at++] = st.d;
        out[at++] = st.plus.length;
        out[at++] = st.minus.length;
        st.plus.forEach(write);
        st.minus.forEach(write);
      }
    }
  });
  return out;
}

/** Planes merged by Horner steps; units = Σ 2^(shift − base) over the taps so far, per sign. */
interface Group {
  base: number;
  unitsPlus: number;
  unitsMinus: number;
  steps: Array<{ d: number; plus: number[]; minus: number[] }>;
}

/** out = Σ sign·(x << shift) over every tap (padded taps use x = padValue); out [N][OH][OW][K] is overwritten. */
export function shiftConvU8(x: Uint8Array, w: ShiftWeights, padValue: number, out: Int32Array, s: Conv2dShape): void {
  bindShiftConvU8(x, w, padValue, out, s)();
}

/** shiftConvU8 bound to fixed arrays and shape: validated and laid out once, then each call only dispatches. */
export function bindShiftConvU8(x: Uint8Array, w: ShiftWeights, padValue: number, out: Int32Array, s: Conv2dShape): () => void {
  const op = "shiftConvU8";
  check(op, x, w, padValue, s);
  if (!(out instanceof Int32Array) || out.length !== s.N * s.OH * s.OW * s.K) throw new Error(`${op}: out must be an Int32Array of N·OH·OW·K = ${s.N * s.OH * s.OW * s.K} elements, got ${describe(out)}`);
  return bind(op, x, w, padValue, out, null, s);
}

/**
 * requantizeU8(shiftConvU8(x)) in one pass: out [N][OH][OW][K] u8 is overwritten. rq as for
 * mulConvRequantU8I8 (src/kernels/int8.ts): prepare it once with prepareRequant on hot paths.
 */
export function shiftConvRequantU8(x: Uint8Array, w: ShiftWeights, padValue: number, rq: RequantParams | PreparedRequant, out: Uint8Array, s: Conv2dShape): void {
  if (rq instanceof PreparedRequant) {
    bindShiftConvRequantU8(x, w, padValue, rq, out, s)();
    return;
  }
  check("shiftConvRequantU8", x, w, padValue, s);
  const prepared = prepareRequant(rq, s.K);
  try {
    bindShiftConvRequantU8(x, w, padValue, prepared, out, s)();
  } finally {
    prepared.dispose();
  }
}

/** shiftConvRequantU8 bound (see bindShiftConvU8); the requantization must be prepared. */
export function bindShiftConvRequantU8(x: Uint8Array, w: ShiftWeights, padValue: number, rq: PreparedRequant, out: Uint8Array, s: Conv2dShape): () => void {
  const op = "shiftConvRequantU8";
  check(op, x, w, padValue, s);
  if (!(out instanceof Uint8Array) || out.length !== s.N * s.OH * s.OW * s.K) throw new Error(`${op}: out must be a Uint8Array of N·OH·OW·K = ${s.N * s.OH * s.OW * s.K} elements, got ${describe(out)}`);
  if (!(rq instanceof PreparedRequant)) throw new Error(`${op}: a bound call needs a requantization from prepareRequant`);
  if (rq.K !== s.K) throw new Error(`${op}: the requantization was prepared for ${rq.K} channels, the layer has K = ${s.K}`);
  return bind(op, x, w, padValue, out, rq, s);
}

function check(op: string, x: Uint8Array, w: ShiftWeights, padValue: number, s: Conv2dShape): void {
  checkConv2dShape(s);
  if (!(w instanceof ShiftWeights)) throw new Error(`${op}: weights must come from prepareShiftWeights`);
  if (w.disposed) throw new Error(`${op}: the prepared weights were disposed`);
  for (const f of GEOMETRY) {
    if (w.geometry[f] !== s[f]) throw new Error(`${op}: weights were prepared for ${f} = ${w.geometry[f]}, but the call has ${f} = ${s[f]}`);
  }
  if (!(x instanceof Uint8Array) || x.length !== s.N * s.H * s.W * s.C) throw new Error(`${op}: x must be a Uint8Array of N·H·W·C = ${s.N * s.H * s.W * s.C} elements, got ${describe(x)}`);
  if (!Number.isInteger(padValue) || padValue < 0 || padValue > 255) throw new Error(`${op}: padValue must be an integer in [0, 255], got ${padValue}`);
}

function describe(a: unknown): string {
  return ArrayBuffer.isView(a) ? `${a.constructor.name} of ${(a as Uint8Array).length}` : String(a);
}

function inMemory(rt: Runtime, op: string, arrays: Record<string, ArrayBufferView>): void {
  const mem = rt.memory.buffer;
  for (const [name, a] of Object.entries(arrays)) {
    if (a.buffer.constructor !== mem.constructor || a.byteOffset + a.byteLength > mem.byteLength) {
      throw new Error(`${op}: ${name} is not in the kernel runtime's memory; allocate it with runtime().heap`);
    }
  }
}

/** The layout a call takes: the one with the most useful lanes per tile, or scalar when both waste most lanes. */
export function chooseShiftLayout(s: Conv2dShape): ShiftLayout {
  if (shiftTuning.layout !== "auto") return shiftTuning.layout;
  const batchLanes = s.N / Math.ceil(s.N / LANES);
  const planeLanes = (s.OH * s.OW) / layouts(s).tiles;
  if (Math.max(batchLanes, planeLanes) < shiftTuning.minLanes) return "scalar";
  return batchLanes >= planeLanes ? "batch" : "planes";
}

function bind(op: string, x: Uint8Array, w: ShiftWeights, padValue: number, out: Int32Array | Uint8Array, rq: PreparedRequant | null, s: Conv2dShape): () => void {
  const rt = runtime();
  inMemory(rt, op, { x, out });
  const layout = chooseShiftLayout(s);
  const g = layouts(s);
  const padded = s.padH > 0 || s.padW > 0;
  // per-layout: row and column counts of the layout, elements per image (or block), work items
  const shape = {
    batch: { Hl: g.Hp, Wl: g.Wp, image: g.Hp * g.Wp * s.C * LANES, images: Math.ceil(s.N / LANES), items: Math.ceil(s.N / LANES) * s.OH * s.OW },
    planes: { Hl: g.Hq, Wl: g.Wq, image: g.planeImage, images: s.N, items: s.N * g.tiles },
    scalar: padded
      ? { Hl: g.Hp, Wl: g.Wp, image: g.Hp * g.Wp * s.C, images: s.N, items: s.N * s.OH * s.OW }
      : { Hl: s.H, Wl: s.W, image: s.H * s.W * s.C, images: s.N, items: s.N * s.OH * s.OW },
  }[layout];
  const fields = Int32Array.of(
    s.N, s.C, s.H, s.W, s.K, s.OH, s.OW, s.strideH, s.strideW, s.padH, s.padW,
    shape.Hl, shape.Wl, shape.image, padValue, g.tiles,
  );
  const prog = w.programs[layout];
  const work = Math.max(1, w.nonzero);
  // the params block and layout buffer are scratch shared with other calls: written per call
  const params = () => {
    const ptr = rt.scratch(PARAMS_SLOT, fields.length * 4);
    rt.i32(ptr, fields.length).set(fields);
    return ptr;
  };
  const live = () => {
    if (w.disposed) throw new Error(`${op}: the prepared weights were disposed`);
    return rq ? rq.address : 0;
  };

  if (layout === "scalar") {
    const scalarGrain = grainFor(work), padGrain = grainFor(shape.image);
    return () => {
      const rqPtr = live();
      const p = params();
      let xl = x.byteOffset;
      if (padded) {
        xl = rt.scratch(LAYOUT_SLOT, shape.images * shape.image);
        rt.parallel("shiftLayoutPaddedU8", [x.byteOffset, xl, p], s.N, padGrain);
      }
      rt.parallel("shiftConvScalarU8", [xl, prog, out.byteOffset, p, rqPtr], shape.items, scalarGrain);
    };
  }
  // planes: the last tile of the last image reads up to Wq + 32 elements past the images
  const slack = layout === "planes" ? g.Wq + 2 * LANES : 0;
  const layoutBytes = (shape.images * shape.image + slack) * 2;
  const tileBytes = alignUp(s.K * LANES * 5, 64); // i32 tile, then its requantized bytes
  const layoutKernel = layout === "batch" ? "shiftLayoutBatchU8" : "shiftLayoutPlanesU8";
  // a batch-1 conv is a few tiles of ~20 µs in all: handing half to a worker measured 10–40× slower
  // on a busy machine (the wake-up dominates), so a thread needs 4× the usual minimum of work
  const layoutGrain = grainFor(shape.image), laneGrain = 4 * grainFor(work * LANES);
  const args = [+(layout === "batch"), 0, prog, out.byteOffset, 0, 0, 0, tileBytes];
  return () => {
    const rqPtr = live();
    const p = params();
    const xl = rt.scratch(LAYOUT_SLOT, layoutBytes);
    if (slack) rt.u8(xl + shape.images * shape.image * 2, slack * 2).fill(0);
    const scratch = threadScratch(rt, tileBytes);
    rt.parallel(layoutKernel, [x.byteOffset, xl, p], shape.images, layoutGrain);
    args[1] = xl; args[4] = p; args[5] = rqPtr; args[6] = scratch;
    rt.parallel("shiftConvLanesU8", args, shape.items, laneGrain);
  };
}
