// The cores' own speed right now: per-core GMAC/s of mulfree's f32 dot stream (dotStreamF32: two
// L1-resident arrays through f32x4 mul + add; bench/kernels/f32-ceiling.mjs samples it alone) on `threads`
// threads at once, over at least `ms` ms. Other guests sharing this machine's cores slow it down
// without showing in any load figure the guest can read (a benchmark's "other load" stays 0), so
// the training benchmarks record it next to their timings. About 11–13 on a quiet core of the
// project's host (BENCHMARKS.md).

const N = 2048, REPS = 10000; // about 2 ms per call on each thread: the split's own cost stays small
const buffers = new WeakMap(); // runtime → its probe arrays

/** Per-core GMAC/s on `rt` (a mulfree Runtime with at least `threads` threads). */
export function probeCores(rt, threads, ms = 30) {
  let b = buffers.get(rt);
  if (!b) {
    const x = rt.heap.alloc(N * 4), y = rt.heap.alloc(N * 4), out = rt.heap.alloc(16);
    const fx = rt.f32(x, N), fy = rt.f32(y, N);
    for (let i = 0; i < N; i++) { fx[i] = 1 + (i % 7) * 1e-3; fy[i] = 1 - (i % 5) * 1e-3; }
    buffers.set(rt, (b = [x, y, out]));
  }
  // one item per thread: each runs the whole stream once per call (the kernel ignores the range
  // arguments that parallel() appends)
  const call = () => rt.parallel('dotStreamF32', [b[0], b[1], N, REPS, b[2]], threads, 1);
  for (let i = 0; i < 3; i++) call();
  let calls = 0;
  const t0 = performance.now();
  do { call(); calls++; } while (performance.now() - t0 < ms);
  return (N * REPS * calls) / ((performance.now() - t0) / 1e3) / 1e9;
}
