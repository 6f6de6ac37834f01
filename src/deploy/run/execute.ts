// Runs a bundle's integer graph on a batch through an IntBackend. The only float steps are the
// input quantization (here, in TypeScript, so every backend sees the same bytes) and the final
// logits = logitScale·(acc + bias); everything in between is the backend's exact integer work.
import type { IntBackend } from "./backend.js";
import type { Bundle } from "./codec.js";
import type { InputNode, IntGraph, LayerNode } from "./format.js";

export class InputShapeError extends Error {}

export interface IntModel {
  graph: IntGraph;
  /** [C, H, W] of one input image. */
  inputShape: [number, number, number];
  classes: number;
  /** pixels: N images, NCHW float32 in [0, 1] (the bundle normalises them). Returns N × classes logits. */
  logits(pixels: Float32Array, N: number): Float32Array;
}

/** Quantize [0, 1] pixels (NCHW) to the input's u8 NHWC: q = clamp(floor((x − mean)/std/s + zp + ½), 0, 255). */
export function quantizeInput(input: InputNode, pixels: Float32Array, N: number, out: Uint8Array): void {
  const [C, H, W] = input.shape;
  const HW = H * W;
  const { scale, zeroPoint } = input.out;
  for (let c = 0; c < C; c++) {
    // one multiply-add per pixel: x·a + b = (x − mean)/(std·s) + zp + ½
    const a = 1 / (input.std[c] * scale);
    const b = -input.mean[c] * a + zeroPoint + 0.5;
    for (let n = 0; n < N; n++) {
      const src = (n * C + c) * HW;
      let dst = n * HW * C + c;
      for (let i = 0; i < HW; i++, dst += C) {
        const v = pixels[src + i] * a + b;
        out[dst] = v <= 0 ? 0 : v >= 255 ? 255 : v | 0;
      }
    }
  }
}

/**
 * Runs quantized input `x` (N images, u8 NHWC) through the graph on `backend` and returns the
 * logits layer's raw accumulators (N × classes, no bias). The result is the backend's buffer:
 * call between backend.begin() and backend.end(), and copy it to keep it.
 */
export function runGraph<P>(graph: IntGraph, prepared: (node: LayerNode) => P, backend: IntBackend<P>, x: Uint8Array, N: number): Int32Array {
  let [c, h, w] = (graph.nodes[0] as InputNode).shape;
  for (const node of graph.nodes.slice(1)) {
    if (node.op === "layer") {
      const p = prepared(node);
      if (!node.requant) return backend.layerI32(p, x, N);
      x = backend.layerU8(p, x, N);
      const g = node.geometry;
      h = Math.floor((g[1] + 2 * g[8] - g[10] * (g[4] - 1) - 1) / g[6]) + 1;
      w = Math.floor((g[2] + 2 * g[9] - g[11] * (g[5] - 1) - 1) / g[7]) + 1;
      c = g[3];
    } else if (node.op === "maxpool") {
      x = backend.maxPool(x, N, h, w, c, node.kh, node.kw, node.stride);
      h = Math.floor((h - node.kh) / node.stride) + 1;
      w = Math.floor((w - node.kw) / node.stride) + 1;
    } else if (node.op === "avgpool") {
      x = backend.avgPool(x, N, h * w, c);
      h = w = 1;
    } else if (node.op === "flatten") {
      [c, h, w] = [c * h * w, 1, 1]; // NHWC is already the flattened order the next layer expects
    }
  }
  throw new Error("the graph has no logits layer");
}

/** Prepare a decoded bundle's layers once on `backend`; the returned model runs any batch size. */
export function prepareModel<P>(bundle: Bundle, backend: IntBackend<P>): IntModel {
  const { graph } = bundle;
  const input = graph.nodes[0] as InputNode;
  const prepared = new Map<LayerNode, P>();
  for (const layer of bundle.layers) prepared.set(layer.node, backend.prepareLayer(layer));
  const last = bundle.layers[bundle.layers.length - 1];
  const [C, H, W] = input.shape;
  const sample = C * H * W;
  return {
    graph,
    inputShape: [C, H, W],
    classes: graph.classes,
    logits(pixels, N) {
      if (!Number.isInteger(N) || N < 1) throw new InputShapeError(`the batch size must be a positive integer, got ${N}`);
      if (!(pixels instanceof Float32Array)) throw new InputShapeError("the input must be a Float32Array of pixels in [0, 1]");
      if (pixels.length !== N * sample) {
        throw new InputShapeError(`the input has ${pixels.length} values; ${N} image${N === 1 ? "" : "s"} of ${C}×${H}×${W} need ${N * sample}`);
      }
      backend.begin?.();
      try {
        const x = backend.input(N * sample);
        quantizeInput(input, pixels, N, x);
        const acc = runGraph(graph, (node) => prepared.get(node)!, backend, x, N);
        const K = graph.classes, scale = last.node.logitScale!, bias = last.bias;
        const out = new Float32Array(N * K);
        for (let i = 0; i < N * K; i++) out[i] = scale[i % K] * (acc[i] + bias[i % K]);
        return out;
      } finally {
        backend.end?.();
      }
    },
  };
}

/** One-shot convenience: prepare and run (prepare once with prepareModel for repeated batches). */
export function execute<P>(bundle: Bundle, backend: IntBackend<P>, pixels: Float32Array, N: number): Float32Array {
  return prepareModel(bundle, backend).logits(pixels, N);
}

/** Class index of the largest logit per image. */
export function argmax(logits: Float32Array, N: number, classes: number): Int32Array {
  const out = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[n * classes + c] > logits[n * classes + best]) best = c;
    out[n] = best;
  }
  return out;
}
