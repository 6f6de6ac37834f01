// The same computations in Node and in a browser page, for bit-for-bit comparison: a few steps of
// f32 training from a fixed seed, and integer predictions of a bundle. Imports only browser-safe
// modules (the page loads this file from dist/test/browser/).
import type { Dataset } from "../../src/data/dataset.js";
import { load } from "../../src/deploy/index.js";
import { initRuntime } from "../../src/kernels/runtime.js";
import { resolveSpec } from "../../src/models/zoo.js";
import { Rng } from "../../src/tensor/random.js";
import { Trainer } from "../../src/train/trainer.js";

/** Deterministic 28×28 "digits": a class-dependent bar plus noise, normalised. */
export function syntheticDigits(n: number, seed: number): Dataset {
  const rng = Rng.fromSeed(seed);
  const images = new Float32Array(n * 784);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.nextInt(10);
    labels[i] = c;
    for (let p = 0; p < 784; p++) {
      const y = Math.floor(p / 28), x = p % 28;
      const on = Math.abs(y - 4 - 2 * c) < 2 || Math.abs(x - 4 - 2 * c) < 1;
      images[i * 784 + p] = (on ? 2 : -0.4) + 0.3 * (rng.nextFloat() - 0.5);
    }
  }
  return { images, labels, n, shape: [1, 28, 28], numClasses: 10 };
}

/** FNV-1a over the bytes: equal hashes for equal arrays (the arrays themselves are too big to pass around). */
export function hashBytes(a: ArrayBufferView): string {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < b.length; i++) {
    h1 = Math.imul(h1 ^ b[i]!, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ b[i]!, 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, "0") + h2.toString(16).padStart(8, "0");
}

/** Train LeNet-5 (op kind `op`) for one epoch of 256 synthetic images; the hash of every weight. */
export function trainedWeightsHash(op: string, threads: number, wasm?: BufferSource): { hash: string; loss: number; threads: number } {
  const rt = initRuntime({ threads, wasm });
  const train = syntheticDigits(256, 1), test = syntheticDigits(64, 2);
  const trainer = new Trainer({
    spec: resolveSpec({ model: "lenet5", op }), epochs: 1, batchSize: 64, optimizer: "sgd", lr: 0.05, momentum: 0.9, nesterov: false,
    weightDecay: 5e-4, schedule: "cosine", milestones: [], gamma: 0.1, seed: 7, augment: null,
  }, train, test);
  const [record] = trainer.run();
  const parts = trainer.model.parameters().map((p) => hashBytes(p.data));
  return { hash: hashBytes(new TextEncoder().encode(parts.join(""))), loss: record!.trainLoss, threads: rt.threads };
}

/** Integer logits of a bundle on raw pixels. */
export function bundleLogits(bundle: Uint8Array, pixels: Uint8Array, threads: number, wasm?: BufferSource): { logits: number[]; hash: string } {
  const model = load(bundle, { threads, wasm });
  try {
    const { logits } = model.predict(pixels);
    return { logits: Array.from(logits), hash: hashBytes(logits) };
  } finally {
    model.dispose();
  }
}
