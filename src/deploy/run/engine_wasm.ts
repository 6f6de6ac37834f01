// The wasm backend: runs a validated bundle on the int8 kernels, all buffers inside wasm memory.
//
// Cost model: at batch 1 the kernels take a few tens of microseconds, so everything else must be
// close to free. Weights are prepared once at load. Activation buffers are allocated once for the
// largest batch seen and reused. For each batch size the graph is compiled once into a flat list
// of kernel calls (closures over fixed views and shapes), so predict() is "quantize, run the list,
// read the accumulators": no graph walk, no allocation, no validation per call.
import type { Conv2dShape } from "../../kernels/conv2d.js";
import type { Runtime } from "../../kernels/runtime.js";
import type { Bundle, BundleLayer } from "./decode.js";
import { avgPoolU8, maxPoolU8, prepareLayer, type PreparedLayer } from "./wasm_layers.js";

/** What the runner needs from an execution engine: a place for the input, and a run. */
export interface Engine {
  /** The buffer predict() writes the quantized input into: n images, NHWC u8. */
  input(n: number): Uint8Array;
  /** Run the graph on input(n)'s contents; the logits layer's raw accumulators, n × classes. */
  run(n: number): Int32Array;
  dispose(): void;
}

interface Plan {
  input: Uint8Array;
  steps: Array<() => void>;
  acc: Int32Array;
}

export class WasmEngine implements Engine {
  private readonly layers: Array<{ layer: BundleLayer; prepared: PreparedLayer }>;
  /** Bytes per image of buffer i: the input (0), then each node's output. */
  private readonly specs: number[];
  private ptrs: number[] = [];
  private capacity = 0;
  private plans = new Map<number, Plan>();
  private last: Plan | null = null;
  private lastN = 0;
  private disposed = false;

  constructor(private readonly bundle: Bundle, private readonly rt: Runtime) {
    this.layers = [];
    try {
      for (const layer of bundle.layers) this.layers.push({ layer, prepared: prepareLayer(layer) });
    } catch (e) {
      for (const { prepared } of this.layers) prepared.free();
      throw e;
    }
    this.specs = bufferSpecs(bundle);
  }

  input(n: number): Uint8Array {
    return this.plan(n).input;
  }

  run(n: number): Int32Array {
    const p = this.plan(n);
    const steps = p.steps;
    for (let i = 0; i < steps.length; i++) steps[i]!();
    return p.acc;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.freeBuffers();
    for (const { prepared } of this.layers) prepared.free();
  }

  private plan(n: number): Plan {
    if (n === this.lastN && this.last) return this.last;
    if (this.disposed) throw new Error(`${this.bundle.name}: the model was disposed`);
    let p = this.plans.get(n);
    if (!p) {
      if (n > this.capacity) this.grow(n);
      p = this.compile(n);
      // batch sizes are few in practice; a bound keeps a caller cycling through many from leaking
      if (this.plans.size >= 16) this.plans.clear();
      this.plans.set(n, p);
    }
    this.last = p;
    this.lastN = n;
    return p;
  }

  /** Buffers for `n` images (grow-only; old plans point at freed memory, so they go). */
  private grow(n: number): void {
    this.freeBuffers();
    // all or nothing: a failed allocation (a huge batch) must not leave half a set of buffers
    const ptrs: number[] = [];
    try {
      for (const bytes of this.specs) ptrs.push(this.rt.heap.alloc(bytes * n));
    } catch (e) {
      for (const p of ptrs) this.rt.heap.free(p);
      throw e;
    }
    this.ptrs = ptrs;
    this.capacity = n;
  }

  private freeBuffers(): void {
    for (const p of this.ptrs) this.rt.heap.free(p);
    this.ptrs = [];
    this.capacity = 0;
    this.plans.clear();
    this.last = null;
    this.lastN = 0;
  }

  /** The flat list of kernel calls for a batch of n. Buffer i is the output of node i. */
  private compile(n: number): Plan {
    const { rt, bundle } = this;
    const u8 = (i: number) => rt.u8(this.ptrs[i]!, this.specs[i]! * n);
    const nodes = bundle.graph.nodes;
    const input = u8(0);
    const steps: Array<() => void> = [];
    let acc: Int32Array | null = null;
    let C = bundle.input.shape[0], H = bundle.input.shape[1], W = bundle.input.shape[2];
    let layerIndex = 0;
    let src = 0; // buffer holding the current activation
    for (let i = 1; i < nodes.length; i++) {
      const node = nodes[i]!;
      const x = u8(src);
      if (node.op === "layer") {
        const { layer, prepared } = this.layers[layerIndex++]!;
        const s: Conv2dShape = { ...layer.shape, N: n };
        if (layer.last) {
          const out = rt.i32(this.ptrs[i]!, n * s.OH * s.OW * s.K);
          steps.push(prepared.accumulate(x, out, s));
          acc = out;
        } else {
          steps.push(prepared.requantized(x, u8(i), s));
        }
        [C, H, W] = [s.K, s.OH, s.OW];
        src = i;
      } else if (node.op === "maxpool") {
        const out = u8(i);
        steps.push(maxPoolU8(x, n, H, W, C, node.kh, node.kw, node.stride, out));
        H = Math.floor((H - node.kh) / node.stride) + 1;
        W = Math.floor((W - node.kw) / node.stride) + 1;
        src = i;
      } else if (node.op === "avgpool") {
        const out = u8(i);
        steps.push(avgPoolU8(x, n, H * W, C, out));
        H = W = 1;
        src = i;
      } else if (node.op === "flatten") {
        // NHWC is already the order the next layer's weights expect: nothing to do
        C = C * H * W;
        H = W = 1;
      }
    }
    return { input, steps, acc: acc! };
  }
}

/** Bytes per image of the input and of every node's output (0 for flatten, which moves nothing). */
function bufferSpecs(bundle: Bundle): number[] {
  const nodes = bundle.graph.nodes;
  const [C0, H0, W0] = bundle.input.shape;
  const specs = [C0 * H0 * W0];
  let C = C0, H = H0, W = W0;
  let layerIndex = 0;
  for (let i = 1; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (node.op === "layer") {
      const s = bundle.layers[layerIndex++]!.shape;
      [C, H, W] = [s.K, s.OH, s.OW];
      specs.push(C * H * W * (node.requant ? 1 : 4));
    } else if (node.op === "maxpool") {
      H = Math.floor((H - node.kh) / node.stride) + 1;
      W = Math.floor((W - node.kw) / node.stride) + 1;
      specs.push(C * H * W);
    } else if (node.op === "avgpool") {
      H = W = 1;
      specs.push(C);
    } else {
      C = C * H * W;
      H = W = 1;
      specs.push(0);
    }
  }
  return specs;
}
