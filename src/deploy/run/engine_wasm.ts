// The wasm engine: runs a decoded bundle on the int8 kernels, every buffer inside wasm memory.
//
// Cost model: at batch 1 the kernels take a few tens of microseconds, so everything else must be
// close to free. Weights are prepared once at load. Activations live in a few slots shared by
// nodes whose outputs are never alive together (./buffer_plan.ts), allocated once for the largest
// batch seen and reused. For each batch size the graph is compiled once into a flat list of kernel
// calls (closures over fixed views and shapes), so predict() is "quantize, run the list, read the
// accumulators": no graph walk, no allocation, no validation per call. A 2×2 max pool right after
// an adder conv (LeNet's conv1 and conv2) runs inside the conv's kernel, which pools the exact
// accumulators and requantizes one value in four (src/kernels/int8.ts, canFuseMaxPool2).
//
// When every node has a program op (adder and multiply layers, max and global average pooling,
// residual adds: everything but shift layers), the list is also compiled into one int8 program
// (src/kernels/int8_program.ts) that runs the whole network a few images at a time per thread.
// It gives the same bytes; it is used when each thread gets several images, where it saves the
// per-layer barriers and keeps activations in cache. Small batches on several threads split
// each layer's positions instead.
import type { Conv2dShape } from "../../kernels/conv2d.js";
import type { Runtime } from "../../kernels/runtime.js";
import { planBuffers, type BufferPlan } from "./buffer_plan.js";
import { addParams, type Bundle } from "./bundle.js";
import type { Engine } from "./engine.js";
import { quantizeF32ProgramOp } from "../../kernels/int8.js";
import { Int8Program, chunkImages, type ProgramOp } from "../../kernels/int8_program.js";
import { inputAffine } from "./input_quantizer.js";
import { addOp, addU8, avgPoolOp, avgPoolU8, maxPoolOp, maxPoolU8, prepareLayer, type PreparedLayer } from "./wasm_layers.js";

interface Plan {
  input: Uint8Array;
  steps: Array<() => void>;
  /** The same calls as one job, or null when a node has no program op. */
  program: Int8Program | null;
  ops: ProgramOp[] | null;
  /** Float input: its buffer and the program that quantizes it first (made on first use). */
  floats: { pixels: Float32Array; program: Int8Program } | null;
  acc: Int32Array;
}

/** Knobs of the choice between the program and the layer-by-layer list; tests and benches flip them. */
export const wasmEngineTuning = {
  /** "never": always layer by layer; "always": the program whenever the graph has one. */
  program: "auto" as "auto" | "never" | "always",
  /** Images per thread from which the program beats splitting every layer across the threads. */
  imagesPerThread: 4,
};

/** Batch sizes whose compiled plans are kept; a caller cycling through many must not leak. */
const MAX_PLANS = 16;

export class WasmEngine implements Engine {
  private readonly prepared = new Map<number, PreparedLayer>();
  private readonly buffers: BufferPlan;
  /** Bytes per image of each node's output (i32 accumulators for the logits layer). */
  private readonly nodeBytes: number[];
  private ptrs: number[] = [];
  private capacity = 0;
  private plans = new Map<number, Plan>();
  private last: Plan | null = null;
  private lastN = 0;
  private disposed = false;

  constructor(private readonly bundle: Bundle, private readonly rt: Runtime) {
    try {
      for (const layer of bundle.layers) this.prepared.set(layer.index, prepareLayer(layer));
    } catch (e) {
      for (const p of this.prepared.values()) p.free();
      throw e;
    }
    const { nodes } = bundle.graph;
    this.nodeBytes = bundle.shapes.map((s, i) => s.C * s.H * s.W * (i === nodes.length - 1 ? 4 : 1));
    this.buffers = planBuffers(this.nodeBytes, bundle.shapes.map((s) => s.inputs), nodes.map((n) => n.op === "flatten"));
  }

  input(n: number): Uint8Array {
    return this.plan(n).input;
  }

  run(n: number): Int32Array {
    const p = this.plan(n);
    if (this.usesProgram(n)) {
      p.program!.run();
    } else {
      const steps = p.steps;
      for (let i = 0; i < steps.length; i++) steps[i]!();
    }
    return p.acc;
  }

  floatInput(n: number): Float32Array | null {
    if (!this.usesProgram(n)) return null;
    const p = this.plan(n);
    if (!p.floats) {
      const [C, H, W] = this.bundle.input.shape;
      const ptr = this.rt.heap.alloc(n * C * H * W * 4);
      const pixels = this.rt.f32(ptr, n * C * H * W);
      const { a, b } = inputAffine(this.bundle.input);
      try {
        const quantize = quantizeF32ProgramOp(pixels, p.input, C, H * W, a, b, n);
        p.floats = { pixels, program: new Int8Program(this.rt, [quantize, ...p.ops!], n, p.program!.chunk) };
      } catch (e) {
        this.rt.heap.free(ptr);
        throw e;
      }
    }
    return p.floats.pixels;
  }

  runFloats(n: number): Int32Array {
    const p = this.plan(n);
    if (!p.floats) throw new Error(`${this.bundle.name}: runFloats(${n}) before floatInput(${n})`);
    p.floats.program.run();
    return p.acc;
  }

  /** Whether run(n) takes the whole-network program (on the runtime's current threads). */
  usesProgram(n: number): boolean {
    const mode = wasmEngineTuning.program;
    if (!this.plan(n).program || mode === "never") return false;
    const threads = this.rt.threads;
    return mode === "always" || threads === 1 || n >= wasmEngineTuning.imagesPerThread * threads;
  }

  /** Kernel calls of run(n) layer by layer: one per node but the input and flattens, less fused pools. */
  kernelCalls(n: number): number {
    return this.plan(n).steps.length;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.freeBuffers();
    for (const p of this.prepared.values()) p.free();
  }

  private plan(n: number): Plan {
    if (n === this.lastN && this.last) return this.last;
    if (this.disposed) throw new Error(`${this.bundle.name}: the model was disposed`);
    let p = this.plans.get(n);
    if (!p) {
      if (n > this.capacity) this.grow(n);
      p = this.compile(n);
      if (this.plans.size >= MAX_PLANS) this.dropPlans();
      this.plans.set(n, p);
    }
    this.last = p;
    this.lastN = n;
    return p;
  }

  /** Slots for `n` images (grow-only; old plans point at freed memory, so they go). */
  private grow(n: number): void {
    this.freeBuffers();
    // all or nothing: a failed allocation (a huge batch) must not leave half a set of slots
    const ptrs: number[] = [];
    try {
      for (const bytes of this.buffers.slotBytes) ptrs.push(this.rt.heap.alloc(bytes * n));
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
    this.dropPlans();
  }

  private dropPlans(): void {
    for (const p of this.plans.values()) {
      p.program?.dispose();
      if (p.floats) {
        p.floats.program.dispose();
        this.rt.heap.free(p.floats.pixels.byteOffset);
      }
    }
    this.plans.clear();
    this.last = null;
    this.lastN = 0;
  }

  /**
   * Layer i's conv with the 2×2 stride-2 max pool after it in one kernel, when: the pool is the next
   * node and the only reader of the conv's output, the kernel can fuse it, and the pool's output
   * does not share a buffer with the conv's input (the fused kernel reads one while writing the other).
   */
  private fusedMaxPool(i: number, layer: PreparedLayer, s: Conv2dShape): ReturnType<PreparedLayer["maxPool2"]> {
    const { nodes } = this.bundle.graph;
    const next = nodes[i + 1];
    if (!next || next.op !== "maxpool" || next.kh !== 2 || next.kw !== 2 || next.stride !== 2) return null;
    const shapes = this.bundle.shapes;
    if (shapes[i + 1]!.inputs[0] !== i || shapes.some((sh, j) => j !== i + 1 && sh.inputs.includes(i))) return null;
    if (this.buffers.slotOf[i + 1] === this.buffers.slotOf[shapes[i]!.inputs[0]!]) return null;
    return layer.maxPool2(s);
  }

  /** The flat list of kernel calls for a batch of n, and the same as one program when it can be. */
  private compile(n: number): Plan {
    const { rt, bundle } = this;
    const { nodes } = bundle.graph;
    const at = (i: number) => this.ptrs[this.buffers.slotOf[i]!]!;
    const u8 = (i: number) => rt.u8(at(i), this.nodeBytes[i]! * n);
    const steps: Array<() => void> = [];
    const ops: Array<ProgramOp | null> = [];
    let acc: Int32Array | null = null;
    for (let i = 1; i < nodes.length; i++) {
      const node = nodes[i]!;
      const from = bundle.shapes[i]!.inputs[0]!;
      const src = bundle.shapes[from]!;
      if (node.op === "layer") {
        const layer = this.prepared.get(i)!;
        const s = { ...layer.shape, N: n };
        const pool = this.fusedMaxPool(i, layer, s);
        if (pool) {
          // the pool node's output, written by the conv itself; the conv's own output is never made
          steps.push(pool.call(u8(from), u8(i + 1)));
          ops.push(pool.programOp(u8(from), u8(i + 1)));
          i++;
          continue;
        }
        if (i === nodes.length - 1) {
          acc = rt.i32(at(i), this.nodeBytes[i]! * n / 4);
          steps.push(layer.accumulate(u8(from), acc, s));
          ops.push(layer.programOp(u8(from), acc, s));
        } else {
          steps.push(layer.requantized(u8(from), u8(i), s));
          ops.push(layer.programOp(u8(from), u8(i), s));
        }
      } else if (node.op === "maxpool") {
        steps.push(maxPoolU8(u8(from), n, src.H, src.W, src.C, node.kh, node.kw, node.stride, u8(i)));
        ops.push(maxPoolOp(u8(from), n, src.H, src.W, src.C, node.kh, node.kw, node.stride, u8(i)));
      } else if (node.op === "avgpool") {
        steps.push(avgPoolU8(u8(from), n, src, node, u8(i)));
        ops.push(avgPoolOp(u8(from), n, src, node, u8(i)));
      } else if (node.op === "add") {
        const params = addParams(bundle, i);
        steps.push(addU8(u8(from), u8(bundle.shapes[i]!.inputs[1]!), params, u8(i)));
        ops.push(addOp(u8(from), u8(bundle.shapes[i]!.inputs[1]!), params, u8(i), n));
      }
      // flatten: NHWC is already the order the next layer's weights expect; it shares its input's slot
    }
    const runnable = ops.every((op): op is ProgramOp => op !== null);
    const bytesPerImage = this.nodeBytes.reduce((a, b) => a + b, 0);
    const program = runnable ? new Int8Program(rt, ops as ProgramOp[], n, chunkImages(bytesPerImage)) : null;
    return { input: u8(0), steps, program, ops: runnable ? (ops as ProgramOp[]) : null, floats: null, acc: acc! };
  }
}
