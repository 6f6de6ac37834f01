// What the integer executor (src/deploy/execute.ts) needs from a kernel set. Two implementations:
// the reference backend (plain TypeScript loops of src/kernels/reference/int8.ts, the oracle) and
// the wasm backend (SIMD, threaded). Both must give bit-identical u8 and i32 results.
//
// Buffers: every array a backend returns (input(), layer and pool outputs) is owned by the
// backend and stays valid until the executor's run ends (end()); the executor never keeps them.
// A wasm backend can therefore hand out views of its own memory and reset an arena in begin().
import type { Conv2dShape } from "../../kernels/conv2d.js";
import type { LayerNode } from "./format.js";

/** A layer's integer weights, unpacked, in OHWI order ([K][kh][kw][C/groups]). */
export type LayerWeights =
  | { kind: "adder"; w: Uint8Array }
  | { kind: "mul"; w: Int8Array }
  /** sign ∈ {−1, 0, +1}; shift = the kernel's left shift (code − 1), 0…MAX_SHIFT, 0 where sign is 0. */
  | { kind: "shift"; sign: Int8Array; shift: Uint8Array };

/** Everything a backend needs to run one layer node. */
export interface LayerData {
  node: LayerNode;
  weights: LayerWeights;
  /** requantizeU8's per-output-channel parameters (this layer's slice). Last layer: mult and shift unused. */
  bias: Int32Array;
  mult: Int32Array;
  shift: Uint8Array;
}

export interface IntBackend<Prepared = unknown> {
  /** Called once per layer when a model is loaded: copy or rearrange the weights as the kernels like them. */
  prepareLayer(layer: LayerData): Prepared;
  /** Called before each run; a wasm backend may reset its arena here. */
  begin?(): void;
  /** Called after each run (also after a failed one). */
  end?(): void;
  /** A u8 buffer of `bytes` for the quantized input batch (NHWC). */
  input(bytes: number): Uint8Array;
  /** Conv with the layer's fused requantization: x u8 [N][H][W][C] → u8 [N][OH][OW][K]. */
  layerU8(layer: Prepared, x: Uint8Array, N: number): Uint8Array;
  /** The last layer: raw accumulators (no bias) x u8 [N][H][W][C] → i32 [N][OH][OW][K]. */
  layerI32(layer: Prepared, x: Uint8Array, N: number): Int32Array;
  /** maxPool2dU8: u8 [N][H][W][C] → u8 [N][OH][OW][C]. */
  maxPool(x: Uint8Array, N: number, H: number, W: number, C: number, kh: number, kw: number, stride: number): Uint8Array;
  /** avgPoolGlobalU8: u8 [N][HW][C] → u8 [N][C]. */
  avgPool(x: Uint8Array, N: number, HW: number, C: number): Uint8Array;
}

/** The Conv2dShape of a layer node for a batch of N. */
export function layerShape(node: LayerNode, N: number): Conv2dShape {
  const [C, H, W, K, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups] = node.geometry;
  const OH = Math.floor((H + 2 * padH - dilationH * (kh - 1) - 1) / strideH) + 1;
  const OW = Math.floor((W + 2 * padW - dilationW * (kw - 1) - 1) / strideW) + 1;
  return { N, C, H, W, K, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups, OH, OW };
}
