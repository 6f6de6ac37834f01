// The public way to run a deployment bundle, the same in Node and in browsers:
//
//   const model = load(bytes, { threads: 2 });       // validates the whole bundle, prepares weights
//   const { logits, classes } = model.predict(pixels); // N·C·H·W pixels, [0, 1] floats or raw bytes
//   model.dispose();
//
// Nothing on this path imports a Node module: outside Node pass the compiled kernels as
// `options.wasm` (e.g. the bytes of dist/mulfree.wasm). threads > 1 starts worker_threads and so
// needs Node; in a browser use threads: 1. The kernel runtime is one per JS realm: all models
// share it, and a model sets its thread count when it runs.
import { initRuntime, type Runtime } from "../../kernels/runtime.js";
import type { Bundle } from "./bundle.js";
import { readBundle } from "./decode.js";
import type { Engine } from "./engine.js";
import { ReferenceEngine } from "./engine_reference.js";
import { WasmEngine } from "./engine_wasm.js";
import { InputQuantizer } from "./input_quantizer.js";

export type BackendName = "wasm" | "reference";

export interface LoadOptions {
  /** Threads for the wasm kernels, the caller's included (default 1; > 1 needs Node's worker_threads). */
  threads?: number;
  /** The compiled kernels (dist/mulfree.wasm); read from the package when omitted in Node. */
  wasm?: BufferSource;
  /** "wasm" (default): the SIMD kernels; "reference": the plain TypeScript loops, bit-identical and slow. */
  backend?: BackendName;
  /** What error messages call the bundle (default "bundle"; the CLI passes the path). */
  name?: string;
}

export interface Prediction {
  /** n × classes logits, image-major. */
  logits: Float32Array;
  /** The arg-max class of each image (the first one on ties). */
  classes: Int32Array;
}

export interface Model {
  /** [C, H, W] of one input image (NCHW, as the float model took it). */
  readonly inputShape: readonly [number, number, number];
  readonly classes: number;
  readonly backend: BackendName;
  readonly bundle: Bundle;
  /**
   * Classify n images given as N·C·H·W pixels: a Float32Array of values in [0, 1], or raw bytes
   * 0–255 (Uint8Array, or Uint8ClampedArray such as ImageData.data after taking one channel).
   * n defaults to input.length / (C·H·W). The returned arrays belong to the model and are
   * overwritten by its next predict() with the same n: copy them (slice()) to keep them.
   */
  predict(input: Float32Array | Uint8Array | Uint8ClampedArray, n?: number): Prediction;
  /** Free the model's wasm memory; predict() afterwards throws. */
  dispose(): void;
}

/** Decode, validate and prepare a bundle. Throws a BundleError naming the bundle if anything is wrong. */
export function load(bytes: Uint8Array | ArrayBuffer, options: LoadOptions = {}): Model {
  const name = options.name ?? "bundle";
  const data = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  const backend = options.backend ?? "wasm";
  if (backend !== "wasm" && backend !== "reference") throw new TypeError(`load: backend must be "wasm" or "reference", got ${JSON.stringify(backend)}`);
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`load: threads must be a positive integer, got ${threads}`);
  const bundle = readBundle(data, name);
  if (backend === "reference") return new RunnerModel(bundle, "reference", new ReferenceEngine(bundle), null, threads);
  const rt = initRuntime({ threads, wasm: options.wasm });
  return new RunnerModel(bundle, "wasm", new WasmEngine(bundle, rt), rt, threads);
}

interface Outputs {
  logits: Float32Array;
  classes: Int32Array;
}

class RunnerModel implements Model {
  readonly inputShape: readonly [number, number, number];
  readonly classes: number;
  private readonly imageSize: number;
  private readonly quantizer: InputQuantizer;
  private readonly logitScale: Float64Array;
  /** 2^biasBits of the logits layer: its bias has that many fraction bits. */
  private readonly logitAccScale: number;
  private readonly logitBias: Int32Array;
  private outputs = new Map<number, Outputs>();
  private lastN = 0;
  private lastOut: Outputs | undefined;
  private disposed = false;

  constructor(readonly bundle: Bundle, readonly backend: BackendName, private readonly engine: Engine, private readonly rt: Runtime | null, private readonly threads: number) {
    const [C, H, W] = bundle.input.shape;
    this.inputShape = [C, H, W];
    this.imageSize = C * H * W;
    this.classes = bundle.graph.classes;
    this.quantizer = new InputQuantizer(bundle.input);
    const last = bundle.layers[bundle.layers.length - 1]!;
    this.logitScale = Float64Array.from(last.node.logitScale!);
    this.logitBias = last.bias;
    this.logitAccScale = 2 ** (last.node.biasBits ?? 0);
  }

  predict(input: Float32Array | Uint8Array | Uint8ClampedArray, n?: number): Prediction {
    const isFloat = input instanceof Float32Array;
    if (this.disposed || (!isFloat && !(input instanceof Uint8Array) && !(input instanceof Uint8ClampedArray))) this.badInput(input, n);
    const size = this.imageSize;
    if (n === undefined) {
      if (input.length === 0 || input.length % size !== 0) this.badInput(input, n);
      n = input.length / size;
    } else if (!Number.isSafeInteger(n) || n < 1 || input.length !== n * size) {
      this.badInput(input, n);
    }
    if (this.rt && this.rt.threads !== this.threads) this.rt.setThreads(this.threads);

    const floats = isFloat && this.engine.floatInput ? this.engine.floatInput(n) : null;
    if (floats) {
      floats.set(input);
      return this.dequantize(this.engine.runFloats!(n), n);
    }
    const x = this.engine.input(n);
    if (isFloat) this.quantizer.fromFloats(input, n, x);
    else this.quantizer.fromBytes(input, n, x);
    const acc = this.engine.run(n);
    return this.dequantize(acc, n);
  }

  /** The error for arguments predict() cannot take (kept out of predict so a good call builds no strings). */
  private badInput(input: unknown, n: number | undefined): never {
    const where = `${this.bundle.name}: predict`;
    if (this.disposed) throw new Error(`${where}: the model was disposed`);
    if (!(input instanceof Float32Array) && !(input instanceof Uint8Array) && !(input instanceof Uint8ClampedArray)) {
      throw new TypeError(`${where}: input must be a Float32Array of [0, 1] pixels or a Uint8Array of raw 0–255 pixels, got ${describe(input)}`);
    }
    const size = this.imageSize, shape = this.inputShape.join("×");
    if (n === undefined) throw new RangeError(`${where}: input has ${input.length} values, not a whole number of ${shape} (C×H×W) images of ${size} values`);
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${where}: n must be a positive integer, got ${n}`);
    throw new RangeError(`${where}: input has ${input.length} values, but ${n} images of ${shape} (C×H×W) need ${n * size}`);
  }

  /** logits = logitScale[c]·(acc·2^biasBits + bias[c]), then the arg-max per image. */
  private dequantize(acc: Int32Array, n: number): Outputs {
    let out = n === this.lastN ? this.lastOut : this.outputs.get(n);
    if (!out) {
      if (this.outputs.size >= 16) this.outputs.clear();
      out = { logits: new Float32Array(n * this.classes), classes: new Int32Array(n) };
      this.outputs.set(n, out);
    }
    this.lastN = n;
    this.lastOut = out;
    const { logits, classes } = out;
    const K = this.classes, scale = this.logitScale, bias = this.logitBias, accScale = this.logitAccScale;
    for (let i = 0, o = 0; i < n; i++) {
      let best = 0, bestValue = -Infinity;
      for (let c = 0; c < K; c++, o++) {
        const v = Math.fround(scale[c]! * (acc[o]! * accScale + bias[c]!));
        logits[o] = v;
        if (v > bestValue) {
          bestValue = v;
          best = c;
        }
      }
      classes[i] = best;
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.engine.dispose();
    this.outputs.clear();
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an Array (wrap it in a Float32Array)";
  if (typeof v !== "object") return typeof v;
  return (v as object).constructor?.name ?? "object";
}
