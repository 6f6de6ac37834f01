// The reference backend: the plain loops of src/kernels/reference/int8.ts, the bit-exact oracle
// of every fast backend. Slow (a closure call per tap); for tests and for checking accuracy.
import { adderConvU8, avgPoolGlobalU8, maxPool2dU8, mulConvU8I8, requantizeU8, shiftConvU8 } from "../../kernels/reference/int8.js";
import { layerShape, type IntBackend, type LayerData } from "./backend.js";

function accumulate(layer: LayerData, x: Uint8Array, N: number): Int32Array {
  const s = layerShape(layer.node, N);
  if (x.length < N * s.H * s.W * s.C) throw new Error(`layer ${layer.node.name}: input has ${x.length} bytes, needs ${N * s.H * s.W * s.C}`);
  const out = new Int32Array(N * s.OH * s.OW * s.K);
  const pad = layer.node.in.zeroPoint;
  const w = layer.weights;
  if (w.kind === "adder") adderConvU8(x, w.w, pad, out, s);
  else if (w.kind === "mul") mulConvU8I8(x, w.w, pad, out, s);
  else shiftConvU8(x, w.sign, w.shift, pad, out, s);
  return out;
}

export const referenceBackend: IntBackend<LayerData> = {
  prepareLayer: (layer) => layer,
  input: (bytes) => new Uint8Array(bytes),
  layerU8(layer, x, N) {
    const acc = accumulate(layer, x, N);
    const r = layer.node.requant;
    if (!r) throw new Error(`layer ${layer.node.name} has no requantization (it is the logits layer)`);
    const K = layer.node.geometry[3];
    const out = new Uint8Array(acc.length);
    requantizeU8(acc, acc.length / K, K, layer.bias, layer.mult, layer.shift, r.outZp, r.lo, r.hi, out);
    return out;
  },
  layerI32: accumulate,
  maxPool(x, N, H, W, C, kh, kw, stride) {
    const out = new Uint8Array(N * (Math.floor((H - kh) / stride) + 1) * (Math.floor((W - kw) / stride) + 1) * C);
    maxPool2dU8(x, N, H, W, C, kh, kw, stride, out);
    return out;
  },
  avgPool(x, N, HW, C) {
    const out = new Uint8Array(N * C);
    avgPoolGlobalU8(x, N, HW, C, out);
    return out;
  },
};
