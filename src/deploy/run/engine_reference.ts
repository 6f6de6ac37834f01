// The reference engine: every node through the plain loops of src/kernels/reference/int8.ts, the
// definition of every integer result and the oracle the wasm engine is tested against. It walks
// the graph on each run and allocates as it goes: slow (about a thousand times the wasm engine's
// time), and clear.
import { adderConvU8, addRequantU8, avgPool2dU8, avgPoolGlobalU8, maxPool2dU8, mulConvU8I8, requantizeU8, shiftConvU8 } from "../../kernels/reference/int8.js";
import { addParams, type Bundle, type BundleLayer } from "./bundle.js";
import type { Engine } from "./engine.js";

export class ReferenceEngine implements Engine {
  private inputBuffer = new Uint8Array(0);
  private readonly layers = new Map<number, BundleLayer>();
  private readonly imageBytes: number;

  constructor(private readonly bundle: Bundle) {
    for (const layer of bundle.layers) this.layers.set(layer.index, layer);
    const [C, H, W] = bundle.input.shape;
    this.imageBytes = C * H * W;
  }

  input(n: number): Uint8Array {
    if (this.inputBuffer.length !== n * this.imageBytes) this.inputBuffer = new Uint8Array(n * this.imageBytes);
    return this.inputBuffer;
  }

  run(n: number): Int32Array {
    const values: Array<Uint8Array | Int32Array> = [this.input(n)];
    for (let i = 1; i < this.bundle.graph.nodes.length; i++) values.push(this.node(i, values, n));
    return values[values.length - 1] as Int32Array;
  }

  dispose(): void {}

  /** Node i's output for a batch of n, from the outputs of the nodes before it. */
  private node(i: number, values: Array<Uint8Array | Int32Array>, n: number): Uint8Array | Int32Array {
    const node = this.bundle.graph.nodes[i]!;
    const out = this.bundle.shapes[i]!;
    const from = out.inputs[0]!;
    const x = values[from] as Uint8Array;
    const src = this.bundle.shapes[from]!;
    const u8 = () => new Uint8Array(n * out.C * out.H * out.W);
    switch (node.op) {
      case "layer":
        return runLayer(this.layers.get(i)!, x, n);
      case "maxpool": {
        const y = u8();
        maxPool2dU8(x, n, src.H, src.W, src.C, node.kh, node.kw, node.stride, y);
        return y;
      }
      case "avgpool": {
        const y = u8();
        if (node.kh === undefined) avgPoolGlobalU8(x, n, src.H * src.W, src.C, y);
        else avgPool2dU8(x, n, src.H, src.W, src.C, node.kh, node.kw!, node.stride!, y);
        return y;
      }
      case "flatten":
        return x; // NHWC is already the order the next layer's weights expect
      case "add": {
        const y = u8();
        addRequantU8(x, values[out.inputs[1]!] as Uint8Array, addParams(this.bundle, i), y);
        return y;
      }
      default:
        throw new Error(`node ${i}: the input node has no inputs`);
    }
  }
}

/** A layer's accumulators, requantized to u8 unless it is the logits layer (then raw i32, no bias). */
function runLayer(layer: BundleLayer, x: Uint8Array, n: number): Uint8Array | Int32Array {
  const s = { ...layer.shape, N: n };
  const acc = new Int32Array(n * s.OH * s.OW * s.K);
  const pad = layer.node.in.zeroPoint;
  const w = layer.weights;
  if (w.kind === "adder") adderConvU8(x, w.w, pad, acc, s);
  else if (w.kind === "mul") mulConvU8I8(x, w.w, pad, acc, s);
  else shiftConvU8(x, w.sign, w.shift, pad, acc, s);
  if (layer.last) return acc;
  const r = layer.node.requant!;
  const out = new Uint8Array(acc.length);
  requantizeU8(acc, acc.length / s.K, s.K, layer.bias, layer.mult, layer.shift, r.outZp, r.lo, r.hi, out, layer.node.biasBits ?? 0);
  return out;
}
