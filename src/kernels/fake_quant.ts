// Fake-quantization kernels for quantization-aware training on the wasm module
// (assembly/fake_quant.ts): bit-identical to reference/fake_quant.ts, split across threads.
// Maps split elements; min/max reduces fixed blocks, so no result depends on the thread count.
import { checkView } from "./elementwise.js";
import { runtime } from "./runtime.js";

/** Elements per thread below which a second thread does not pay. */
const MAP_GRAIN = 1 << 14;
/** Elements per min/max partial. */
const BLOCK = 4096;
/** Scratch slot of the partials (free: see the other kernels' *_SLOT). */
const PARTIALS_SLOT = 8;

function checkGrid(kernel: string, scale: number, zeroPoint: number, levels: number): void {
  if (!(Number.isFinite(scale) && scale > 0)) throw new Error(`${kernel}: scale must be a finite positive number, got ${scale}`);
  if (!Number.isInteger(levels) || levels < 1 || levels > 255) throw new Error(`${kernel}: levels must be an integer in [1, 255], got ${levels}`);
  if (!Number.isInteger(zeroPoint) || zeroPoint < 0 || zeroPoint > levels) throw new Error(`${kernel}: zeroPoint must be an integer in [0, ${levels}], got ${zeroPoint}`);
}

/** out = x on the grid (scale, zeroPoint, codes 0…levels); out may alias x. */
export function fakeQuant(x: Float32Array, out: Float32Array, scale: number, zeroPoint: number, levels: number): void {
  checkGrid("fakeQuant", scale, zeroPoint, levels);
  checkView("fakeQuant", "x", x, out.length);
  checkView("fakeQuant", "out", out, out.length);
  runtime().parallel("fakeQuantF32", [x.byteOffset, out.byteOffset, scale, zeroPoint, levels], out.length, MAP_GRAIN, 16);
}

/** dx = dy where lo ≤ x ≤ hi, else 0. */
export function fakeQuantBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, lo: number, hi: number): void {
  checkView("fakeQuantBackward", "dy", dy, dx.length);
  checkView("fakeQuantBackward", "x", x, dx.length);
  checkView("fakeQuantBackward", "dx", dx, dx.length);
  runtime().parallel("fakeQuantBackwardF32", [dy.byteOffset, x.byteOffset, dx.byteOffset, lo, hi], dx.length, MAP_GRAIN, 16);
}

/** [min, max] of x, NaN skipped; [+∞, −∞] when x holds no number. */
export function minMax(x: Float32Array): [number, number] {
  checkView("minMax", "x", x, x.length);
  const n = x.length;
  if (n === 0) return [Infinity, -Infinity];
  const rt = runtime();
  const blocks = Math.ceil(n / BLOCK);
  const partials = rt.scratch(PARTIALS_SLOT, blocks * 8);
  rt.parallel("minMaxBlocksF32", [x.byteOffset, n, BLOCK, partials], blocks, Math.ceil(MAP_GRAIN / BLOCK), 1);
  const p = new Float32Array(rt.memory.buffer, partials, 2 * blocks);
  let lo = Infinity, hi = -Infinity;
  for (let b = 0; b < blocks; b++) {
    if (p[2 * b]! < lo) lo = p[2 * b]!;
    if (p[2 * b + 1]! > hi) hi = p[2 * b + 1]!;
  }
  return [lo, hi];
}
