// ONNX Runtime inference throughput: onnxruntime-node (native CPU EP) and onnxruntime-web
// (wasm backend, running in Node). Per call: wrap the input in an ort.Tensor, run, read the logits.
// onnxruntime-web fixes its thread count when its wasm module starts, so use one process per
// thread count (bench/infer.mjs runs each configuration in its own child process).
import { referenceForward, compareLogits, randomInputs, LENET_MACS } from './lenet.mjs';
import { measureThroughput } from './stats.mjs';

let webThreads = null; // thread count onnxruntime-web was started with in this process

async function loadOrt(flavour, threads) {
  if (flavour === 'node') return import('onnxruntime-node');
  if (flavour !== 'web') throw new Error(`unknown onnxruntime flavour "${flavour}" (node or web)`);
  const ort = await import('onnxruntime-web');
  if (webThreads !== null && webThreads !== threads) {
    throw new Error(`onnxruntime-web already started with ${webThreads} thread(s) in this process; use a new process for ${threads}`);
  }
  ort.env.wasm.numThreads = threads; // must be set before the first session is created
  ort.env.wasm.proxy = false;
  webThreads = threads;
  return ort;
}

/** Create a session for `onnx` (path or bytes) with `threads` intra-op threads. */
export async function createSession(flavour, onnx, threads) {
  const ort = await loadOrt(flavour, threads);
  const opts = flavour === 'node'
    ? { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' }
    : { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
  const session = await ort.InferenceSession.create(onnx, opts);
  const run = async (x, n) => {
    const out = await session.run({ input: new ort.Tensor('float32', x, [n, 1, 28, 28]) });
    return out.logits.data;
  };
  return { ort, session, run };
}

/**
 * Inference throughput for each batch size in `batches` with one session.
 * Returns [{batch, imgPerSec, msPerCall, cpuPerWall, gmacPerSec, check}] where `check` compares the
 * logits with the plain-JS reference forward on 8 random images.
 */
export async function ortInferBench({ flavour, onnx, W, threads = 1, batches = [1, 256], repeats = 5, minMs = 1000, warmupMs = 2000, budget, log = () => {} }) {
  const { session, run } = await createSession(flavour, onnx, threads);
  const xc = randomInputs(8, 99);
  const check = compareLogits(await run(xc, 8), referenceForward(W, xc, 8));
  const results = [];
  for (const batch of batches) {
    const x = randomInputs(batch, 5);
    const r = await measureThroughput(() => run(x, batch), { itemsPerCall: batch, repeats, minMs, warmupMs, budget });
    log(`  ort-${flavour} ${threads}T b=${batch}: ${r.imgPerSec.median.toFixed(0)} img/s (cpu/wall ${r.cpuPerWall.toFixed(2)})`);
    results.push({ batch, ...r, gmacPerSec: (r.imgPerSec.median * LENET_MACS) / 1e9, check });
  }
  await session.release?.();
  return results;
}
