// Memory bandwidth on 1 and 2 threads: the library's elementwise add (c = a + b: two streams in,
// one out, 12 bytes per element) over arrays from L2-sized to well past the L3, best of 7 rounds.
// The memory-bound passes of a training step (BatchNorm, pooling) can only scale from one thread
// to two as far as this does at their sizes (LeNet-5 at batch 256: 5–15 MB per pass).
//
//   node bench/kernels/bandwidth.mjs [distDir]   (default ./dist)
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = path.resolve(process.argv[2] ?? 'dist');
const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { initRuntime } = await load('src/kernels/runtime.js');
const { add } = await load('src/kernels/elementwise.js');
const rt = initRuntime({ threads: 2 });

console.log(`c = a + b, GB/s (12 bytes per element), best of 7; ${new Date().toISOString()}`);
console.log('| bytes per call | 1 thread | 2 threads | 1 → 2 |');
console.log('|---|---|---|---|');
for (const n of [1 << 15, 1 << 18, 1 << 20, 6 << 20]) {
  const arrays = [0, 1, 2].map(() => rt.f32(rt.heap.alloc(n * 4), n).fill(1));
  const rates = [1, 2].map((threads) => {
    rt.setThreads(threads);
    const reps = Math.max(1, Math.round((1 << 24) / n));
    let best = Infinity;
    for (let r = 0; r < 7; r++) {
      const t = performance.now();
      for (let i = 0; i < reps; i++) add(arrays[0], arrays[1], arrays[2]);
      best = Math.min(best, (performance.now() - t) / reps);
    }
    return (12 * n) / best / 1e6;
  });
  console.log(`| ${(12 * n / 1e6).toFixed(1)} MB | ${rates[0].toFixed(1)} | ${rates[1].toFixed(1)} | ${(rates[1] / rates[0]).toFixed(2)}× |`);
  for (const a of arrays) rt.heap.free(a.byteOffset);
}
process.exit(0);
