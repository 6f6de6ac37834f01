// A decoded bundle: what ./decode.ts readBundle returns after checking everything, and what the
// engines, the runner and `mulfree ops` work from. One type for all of them.
import type { Conv2dShape } from "../../kernels/conv2d.js";
import type { AddRequant } from "../../kernels/reference/int8.js";
import { IoError } from "../../io/errors.js";
import type { AddNode, InputNode, IntGraph, LayerNode } from "./format.js";
import type { NodeShape } from "./shapes.js";

/** Every problem with a bundle's bytes: one line naming the bundle and the problem. An IoError. */
export class BundleError extends IoError {
  override readonly name = "BundleError";
}

/** A layer's integer weights, unpacked, in OHWI order ([K][kh][kw][C/groups]). */
export type LayerWeights =
  | { kind: "adder"; w: Uint8Array }
  | { kind: "mul"; w: Int8Array }
  /** sign ∈ {−1, 0, +1}; shift = the kernel's left shift (code − 1), 0…MAX_SHIFT, 0 where sign is 0. */
  | { kind: "shift"; sign: Int8Array; shift: Uint8Array };

/** One layer node with its weights and its slice of the requantization tensors. */
export interface BundleLayer {
  /** Index in graph.nodes. */
  index: number;
  node: LayerNode;
  /** Its conv geometry for one image (N = 1). */
  shape: Conv2dShape;
  /** The logits layer: no requantization, its accumulators become f32 logits. */
  last: boolean;
  weights: LayerWeights;
  /** requantizeU8's per-output-channel parameters. The logits layer uses only bias. */
  bias: Int32Array;
  mult: Int32Array;
  shift: Uint8Array;
}

export interface Bundle {
  /** What error messages call it (a path, or "bundle"). */
  name: string;
  /** The full graph: every derivable field filled in. */
  graph: IntGraph;
  input: InputNode;
  /** Per node: what it reads, its output's shape and quantization (./shapes.ts). */
  shapes: NodeShape[];
  /** One per layer node, in node order. */
  layers: BundleLayer[];
  /** Provenance from the source metadata ({} when it is not a JSON object). */
  source: Record<string, unknown>;
  /** Stored bytes of every tensor, by name (packed shift codes stay packed). */
  tensorBytes: Record<string, number>;
}

/** The kernel parameters of add node i: its multipliers, and the zero points of its two inputs. */
export function addParams(bundle: Bundle, i: number): AddRequant {
  const node = bundle.graph.nodes[i] as AddNode;
  const [a, b] = bundle.shapes[i]!.inputs as [number, number];
  return {
    zeroA: bundle.shapes[a]!.quant!.zeroPoint, multA: node.mult[0], zeroB: bundle.shapes[b]!.quant!.zeroPoint, multB: node.mult[1],
    shift: node.shift, outZp: node.requant.outZp, lo: node.requant.lo, hi: node.requant.hi,
  };
}
