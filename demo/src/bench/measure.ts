// Timing in the page, as `mulfree bench` times in Node: warm up, then loops of whole calls lasting
// at least `minMs` each; the caller interleaves engines and takes the median of the repeats.

/** Images per second of `call` (one batch of `batch` images per call), over at least minMs. */
export async function throughput(call: () => unknown, batch: number, minMs: number): Promise<number> {
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    await call();  // onnxruntime-web's run() is async; awaiting mulfree's sync result costs a microtask
    calls++;
    t = performance.now();
  }
  return (calls * batch * 1000) / (t - t0);
}

/** Let other threads settle (onnxruntime's pool spins for a while after a run) and the page paint. */
export const pause = (ms = 50) => new Promise((r) => setTimeout(r, ms));

/** Deterministic [0, 1) pixels for `n` images of `size` values (a xorshift generator: no Math.random, same input every run). */
export function pixels(n: number, size: number): Float32Array {
  const out = new Float32Array(n * size);
  let s = 0x9e3779b9;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2 ** 32;
  }
  return out;
}
