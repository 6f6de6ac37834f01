// What the runner needs from an execution engine. Two implement it: the reference engine (plain
// TypeScript loops of src/kernels/reference/int8.ts, the oracle) and the wasm engine (SIMD
// kernels, threads). For the same bundle and input bytes their accumulators are bit-identical.

export interface Engine {
  /** The buffer predict() writes the quantized input into: n images, NHWC u8. */
  input(n: number): Uint8Array;
  /**
   * Run the graph on input(n)'s contents (which the run may overwrite) and return the logits
   * layer's raw accumulators (no bias), n × classes; valid until the next run.
   */
  run(n: number): Int32Array;
  /**
   * Optional: a buffer for n images of [0, 1] float pixels (NCHW) that runFloats(n) quantizes
   * itself (in parallel, as the graph's first step); null when this engine would not gain from it.
   */
  floatInput?(n: number): Float32Array | null;
  runFloats?(n: number): Int32Array;
  dispose(): void;
}

