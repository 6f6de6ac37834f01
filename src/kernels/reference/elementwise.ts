// Reference elementwise kernels: plain loops, the same signatures as ../elementwise.ts.
// Written for clarity; reductions accumulate in f64 in index order.
const f = Math.fround;

export function add(a: Float32Array, b: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
}

export function sub(a: Float32Array, b: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] - b[i];
}

export function mul(a: Float32Array, b: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] * b[i];
}

export function axpy(alpha: number, x: Float32Array, y: Float32Array): void {
  const a = f(alpha);
  for (let i = 0; i < y.length; i++) y[i] = y[i] + f(a * x[i]);
}

export function addScaled(y: Float32Array, x: Float32Array, alpha: number): void {
  axpy(alpha, x, y);
}

export function scale(alpha: number, x: Float32Array, out: Float32Array): void {
  const a = f(alpha);
  for (let i = 0; i < out.length; i++) out[i] = a * x[i];
}

export function fill(out: Float32Array, value: number): void {
  for (let i = 0; i < out.length; i++) out[i] = value;
}

export function copy(src: Float32Array, dst: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] = src[i];
}

export function reluForward(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < y.length; i++) y[i] = Math.max(x[i], 0);
}

export function reluBackward(dy: Float32Array, xOrY: Float32Array, dx: Float32Array): void {
  for (let i = 0; i < dx.length; i++) dx[i] = xOrY[i] > 0 ? dy[i] : 0;
}

export function hardtanhForward(x: Float32Array, y: Float32Array, lo = -1, hi = 1): void {
  const l = f(lo), h = f(hi);
  for (let i = 0; i < y.length; i++) y[i] = Math.min(Math.max(x[i], l), h);
}

export const clamp = hardtanhForward;

export function hardtanhBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, lo = -1, hi = 1): void {
  const l = f(lo), h = f(hi);
  for (let i = 0; i < dx.length; i++) dx[i] = x[i] > l && x[i] < h ? dy[i] : 0;
}

export function addChannelBias(y: Float32Array, bias: Float32Array, N: number, C: number, HW: number): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let s = 0; s < HW; s++) y[(n * C + c) * HW + s] += bias[c];
    }
  }
}

export function sumChannels(dy: Float32Array, out: Float32Array, N: number, C: number, HW: number): void {
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < HW; k++) s += dy[(n * C + c) * HW + k];
    }
    out[c] = s;
  }
}

export function sum(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

export function sumSquares(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/** murmur3's 32-bit finalizer. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The dropout hash of element `index` under `seed`: two keyed rounds of fmix32. */
export function dropoutHash(seed: number, index: number): number {
  const k1 = fmix32((seed + 0x9e3779b9) >>> 0);
  const k2 = fmix32((seed + 0x3c6ef372) >>> 0);
  return fmix32((fmix32((index ^ k1) >>> 0) ^ k2) >>> 0);
}

export function dropoutForward(x: Float32Array, mask: Uint8Array, y: Float32Array, p: number, seed: number, offset = 0): void {
  const threshold = p <= 0 ? 0 : Math.floor(p * 2 ** 32);
  const s = p >= 1 ? 0 : f(1 / (1 - p));
  for (let i = 0; i < y.length; i++) {
    const keep = p < 1 && dropoutHash(seed >>> 0, (offset + i) >>> 0) >= threshold;
    mask[i] = keep ? 1 : 0;
    y[i] = keep ? x[i] * s : 0;
  }
}

export function dropoutBackward(dy: Float32Array, mask: Uint8Array, dx: Float32Array, p: number): void {
  const s = p >= 1 ? 0 : f(1 / (1 - p));
  for (let i = 0; i < dx.length; i++) dx[i] = mask[i] !== 0 ? dy[i] * s : 0;
}
