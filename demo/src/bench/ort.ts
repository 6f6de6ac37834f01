// onnxruntime-web (the wasm backend, threaded SIMD build) on the fp32 LeNet-5 ONNX model, served by
// the demo build from the installed package (demo/dist/ort/). Its thread count is fixed when its
// wasm starts, so a page measures one onnxruntime thread count.
interface OrtTensor { data: Float32Array }
interface OrtSession { run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>> }
interface Ort {
  env: { wasm: { numThreads: number; wasmPaths: string; proxy: boolean } };
  Tensor: new (type: "float32", data: Float32Array, dims: number[]) => unknown;
  InferenceSession: { create(model: Uint8Array, options: object): Promise<OrtSession> };
}

/** MNIST normalisation, as the ONNX model (like mulfree's float model) takes its input. */
const MEAN = 0.1307, STD = 0.3081;

export async function ortLeNet(onnx: Uint8Array, threads: number): Promise<{ run(pixels: Float32Array, n: number): Promise<Float32Array> }> {
  const base = new URL("ort/", location.href).href;
  // a URL built at run time: the bundler must leave this import to the browser
  const ort = (await import(`${base}ort.wasm.min.mjs`)) as Ort;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = base;
  ort.env.wasm.proxy = false;
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const inputs = new Map<Float32Array, unknown>();
  return {
    async run(pixels, n) {
      // the normalised tensor is made once per input array, as an application would keep it
      let x = inputs.get(pixels);
      if (!x) {
        x = new ort.Tensor("float32", pixels.map((p) => (p - MEAN) / STD), [n, 1, 28, 28]);
        inputs.set(pixels, x);
      }
      return (await session.run({ input: x })).logits!.data;
    },
  };
}
