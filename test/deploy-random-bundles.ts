// Random valid deployment bundles for the runner tests: random geometry (padding, stride,
// dilation, groups, max and average pools, flatten, global average pool), residual blocks (a
// conv branch added to the identity or to a strided 1×1 conv, the graph's DAG), random weights of
// every layer kind, and requantization parameters inside the kernels' contract.
import { encodeBundle } from "../src/deploy/run/encode.js";
import type { TensorEntry } from "../src/io/safetensors.js";
import { REQUANT_TENSORS, weightTensorName, type Geometry, type IntGraph, type IntNode, type LayerKind, type LayerNode, type Quant } from "../src/deploy/run/format.js";
import { fieldBitsFor, packShifts } from "../src/deploy/run/pack_shift.js";
import { packBits } from "../src/deploy/run/pack_bits.js";

export type Mix = LayerKind | "mixed";

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/** What a bundle is made of, before encoding; tests corrupt these and encode again. */
export interface BundleParts {
  graph: IntGraph;
  /** Weight bytes by layer name. */
  weights: Record<string, Uint8Array>;
  requant: { bias: Int32Array; mult: Int16Array; shift: Uint8Array };
}

export function encodeParts(p: BundleParts): Uint8Array {
  const tensors: Record<string, TensorEntry> = {};
  for (const [layer, bytes] of Object.entries(p.weights)) tensors[weightTensorName(layer)] = { dtype: "U8", shape: [bytes.length], data: bytes };
  tensors[REQUANT_TENSORS.bias] = { dtype: "I32", shape: [p.requant.bias.length], data: p.requant.bias };
  tensors[REQUANT_TENSORS.mult] = { dtype: "I16", shape: [p.requant.mult.length], data: p.requant.mult };
  tensors[REQUANT_TENSORS.shift] = { dtype: "U8", shape: [p.requant.shift.length], data: p.requant.shift };
  return encodeBundle(p.graph, tensors, { test: "random" });
}

export interface RandomBundle {
  bytes: Uint8Array;
  parts: BundleParts;
  /** [C, H, W] of one input image. */
  shape: [number, number, number];
}

/**
 * A random bundle whose layers are all of `mix` (or of random kinds for "mixed"). `bits` (4–8,
 * default 8) makes it a B-bit bundle as `export --bits B` writes them: activations after the input
 * take codes 0 .. 2^B − 1, multiply weights ±(2^(B−1) − 1) and adder weights on a B-bit input grid
 * are packed B to the bit; the input stays 8-bit. Layers draw biasBits (fraction bits of the
 * bias) too, as many as int32 allows. `convPool` opens the graph as LeNet does: a stride-1 conv of
 * the (one-channel, for "adder" the fusable) input, then a 2×2 stride-2 max pool.
 */
export function randomBundle(
  r: () => number, mix: Mix,
  opts: { maxSide?: number; shape?: [number, number, number]; classes?: number; bits?: number; convPool?: boolean } = {},
): RandomBundle {
  const bits = opts.bits ?? 8;
  const levels = 2 ** bits - 1;
  /** Scales 8-bit bounds of the draws below to this bundle's codes (identity at 8 bits). */
  const code = (v: number) => Math.round((v * levels) / 255);
  const kind = (): LayerKind => (mix === "mixed" ? pick(r, ["mul", "adder", "shift"] as const) : mix);
  const maxSide = opts.maxSide ?? 11;
  const [C0, H0, W0] = opts.shape ?? [int(r, 1, 3), int(r, 3, maxSide), int(r, 3, maxSide)];
  const inQuant: Quant = { scale: 0.01 + r() * 0.05, zeroPoint: int(r, 0, 255) };
  const nodes: IntNode[] = [{
    op: "input", shape: [C0, H0, W0],
    mean: Array.from({ length: C0 }, () => r() * 0.5), std: Array.from({ length: C0 }, () => 0.2 + r()), out: inQuant,
  }];
  const weights: Record<string, Uint8Array> = {};
  const bias: number[] = [], mult: number[] = [], rshift: number[] = [];
  let C = C0, H = H0, W = W0, channels = 0;
  /** The quantization of every node's output (the logits layer: none). */
  const quants: Array<Quant | undefined> = [inQuant];
  /** The largest code of every node's output: 255 for the input (and pools of it), else 2^B − 1. */
  const codes: number[] = [255];
  const push = (node: IntNode, quant: Quant | undefined, top = levels) => (nodes.push(node), quants.push(quant), codes.push(top));
  const pushPool = (node: IntNode) => push(node, quants[nodes.length - 1], codes[nodes.length - 1]);

  /** A layer reading node `from` (default: the last node), whose quantization it takes as its input's. */
  const addLayer = (name: string, g: Geometry, last: boolean, from = nodes.length - 1) => {
    const q = quants[from]!;
    const [, , , K, kh, kw, , , , , , , groups] = g;
    const taps = kh * kw * (g[0] / groups);
    const k = kind();
    const count = K * taps;
    let worst = 0;
    if (k === "shift") {
      // the largest shift the int32 accumulator allows for this many taps (bundle validation checks it)
      const maxShift = Math.min(pick(r, [0, 2, 5, 9, 14]), Math.floor(Math.log2(2 ** 30 / (255 * taps))));
      const sign = Int8Array.from({ length: count }, () => pick(r, [-1, 0, 1]));
      const sh = Uint8Array.from({ length: count }, (_, i) => (sign[i] ? int(r, 0, maxShift) : 0));
      const fieldBits = fieldBitsFor(maxShift + 1);
      weights[name] = packShifts(sign, sh, fieldBits);
      worst = 255 * taps * 2 ** maxShift;
      push(layerNode(name, k, g, q, channels, last, { fieldBits, base: int(r, -12, 3) }), undefined);
    } else if (bits < 8 && (k === "mul" || codes[from]! < 255)) {
      const max = k === "mul" ? 2 ** (bits - 1) - 1 : levels;
      const values = k === "mul" ? Int8Array.from({ length: count }, () => int(r, -max, max)) : Uint8Array.from({ length: count }, () => int(r, 0, max));
      weights[name] = packBits(values, bits);
      worst = 255 * taps * (max + 1);
      push({ ...layerNode(name, k, g, q, channels, last), weightBits: bits } as IntNode, undefined);
    } else {
      weights[name] = Uint8Array.from({ length: count }, () => int(r, 0, 255));
      worst = 255 * taps * (k === "adder" ? 1 : 128);
      push(layerNode(name, k, g, q, channels, last), undefined);
    }
    if (from !== nodes.length - 2) (nodes[nodes.length - 1] as { from?: number }).from = from;
    // fraction bits of the bias, as many as int32 leaves room for (bundle validation checks it)
    const F = Math.max(0, Math.min(pick(r, [0, 0, 2, 8, 16]), Math.floor(Math.log2((2 ** 31 - 1 - 2 ** 20) / worst))));
    if (F) (nodes[nodes.length - 1] as LayerNode).biasBits = F;
    worst *= 2 ** F;
    for (let c = 0; c < K; c++) {
      bias.push(int(r, -Math.min(worst, 2 ** 20), Math.min(worst, 2 ** 20)));
      if (last) {
        mult.push(0);
        rshift.push(1);
      } else {
        const m = int(r, -32767, 32767);
        mult.push(m);
        // map about a quarter of the worst-case range onto the 256 output levels
        rshift.push(Math.max(1, Math.min(52, Math.ceil(Math.log2((worst * Math.abs(m) + 1) / 64)))));
      }
    }
    const node = nodes[nodes.length - 1] as Extract<IntNode, { op: "layer" }>;
    quants[quants.length - 1] = node.out;
    channels += K;
  };

  /** A residual block on the last node: a 3×3 conv (stride s) plus the identity, or plus a 1×1 conv of stride s. */
  const addResidual = (name: string) => {
    const input = nodes.length - 1;
    const s = pick(r, [1, 1, 2]);
    const K = s === 1 && r() < 0.5 ? C : int(r, 1, 5);
    const OH = Math.floor((H - 1) / s) + 1, OW = Math.floor((W - 1) / s) + 1;
    addLayer(`${name}a`, [C, H, W, K, 3, 3, s, s, 1, 1, 1, 1, 1], false);
    const branch = nodes.length - 1;
    let shortcut = input;
    if (K !== C || s !== 1) {
      addLayer(`${name}b`, [C, H, W, K, 1, 1, s, s, 0, 0, 1, 1, 1], false, input);
      shortcut = nodes.length - 1;
    }
    const relu = r() < 0.6;
    const outZp = relu ? 0 : int(r, 0, levels);
    const out = { scale: 0.01 + r() * 0.1, zeroPoint: outZp };
    const m = () => int(r, -(2 ** 15 - 1), 2 ** 15 - 1);
    push({ op: "add", from: [branch, shortcut], mult: [m(), m()], shift: int(r, 14, 22), requant: { outZp, lo: relu ? outZp : int(r, 0, outZp), hi: int(r, Math.max(outZp, code(200)), levels) }, out }, out);
    [C, H, W] = [K, OH, OW];
  };

  if (opts.convPool && H >= 2 && W >= 2) {
    const kh = int(r, 1, Math.min(5, H)), kw = int(r, 1, Math.min(5, W)), pad = int(r, 0, 2), dilH = pick(r, [1, 1, 2]);
    const OH = Math.floor((H + 2 * pad - dilH * (kh - 1) - 1) / 1) + 1, OW = W + 2 * pad - kw + 1;
    if (OH >= 2 && OW >= 2) {
      const K = int(r, 1, 9);
      addLayer("conv_in", [C, H, W, K, kh, kw, 1, 1, pad, pad, dilH, 1, 1], false);
      pushPool({ op: "maxpool", kh: 2, kw: 2, stride: 2 });
      [C, H, W] = [K, OH >> 1, OW >> 1];
    }
  }
  const convs = int(r, 1, 3);
  for (let i = 0; i < convs; i++) {
    const kh = int(r, 1, Math.min(3, H)), kw = int(r, 1, Math.min(3, W));
    const groups = pick(r, [1, 1, 1, C]);
    const K = groups * int(r, 1, 4);
    const stride = pick(r, [1, 1, 2]), pad = int(r, 0, 1), dil = pick(r, [1, 1, 2]);
    const OH = Math.floor((H + 2 * pad - dil * (kh - 1) - 1) / stride) + 1, OW = Math.floor((W + 2 * pad - dil * (kw - 1) - 1) / stride) + 1;
    if (OH < 1 || OW < 1) continue;
    addLayer(`conv${i}`, [C, H, W, K, kh, kw, stride, stride, pad, pad, dil, dil, groups], false);
    [C, H, W] = [K, OH, OW];
    if (r() < 0.35) addResidual(`res${i}`);
    if (H >= 2 && W >= 2 && r() < 0.5) {
      const k = int(r, 2, Math.min(3, H, W)), s = int(r, 1, 2);
      pushPool({ op: r() < 0.7 ? "maxpool" : "avgpool", kh: k, kw: k, stride: s });
      H = Math.floor((H - k) / s) + 1;
      W = Math.floor((W - k) / s) + 1;
    }
  }
  if (r() < 0.3) {
    pushPool({ op: "avgpool" });
    H = W = 1;
  } else {
    pushPool({ op: "flatten" });
    C = C * H * W;
    H = W = 1;
  }
  const fcs = int(r, 0, 2);
  for (let i = 0; i < fcs; i++) {
    const K = int(r, 2, 12);
    addLayer(`fc${i}`, [C, 1, 1, K, 1, 1, 1, 1, 0, 0, 1, 1, 1], false);
    C = K;
  }
  const classes = opts.classes ?? int(r, 2, 10);
  addLayer("logits", [C, 1, 1, classes, 1, 1, 1, 1, 0, 0, 1, 1, 1], true);
  const graph: IntGraph = { nodes, classes };
  const parts: BundleParts = {
    graph, weights,
    requant: { bias: Int32Array.from(bias), mult: Int16Array.from(mult), shift: Uint8Array.from(rshift) },
  };
  return { bytes: encodeParts(parts), parts, shape: [C0, H0, W0] };

  function layerNode(name: string, k: LayerKind, g: Geometry, input: Quant, offset: number, last: boolean, shift?: { fieldBits: number; base: number }): IntNode {
    const K = g[3];
    const base = { op: "layer" as const, name, kind: k, geometry: g, in: input, channelOffset: offset, ...(shift ? { shift } : {}) };
    if (last) return { ...base, logitScale: Array.from({ length: K }, () => (0.5 + r()) * 1e-3) };
    const relu = r() < 0.6;
    const outZp = relu ? 0 : int(r, 0, levels);
    const lo = relu ? 0 : int(r, 0, code(20)), hi = int(r, code(235), levels);
    return { ...base, requant: { outZp, lo: relu ? outZp : Math.min(lo, outZp), hi: Math.max(hi, outZp) }, out: { scale: 0.01 + r() * 0.1, zeroPoint: outZp } };
  }
}

/** n random images of raw bytes, NCHW. */
export function randomPixels(r: () => number, n: number, shape: readonly number[]): Uint8Array {
  return Uint8Array.from({ length: n * shape[0]! * shape[1]! * shape[2]! }, () => int(r, 0, 255));
}
