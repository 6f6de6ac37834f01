// Elementwise f32 kernels. Vector body of 4 lanes, scalar tail.
// Every kernel is a pure map over [start, end) except the reductions, which write one result per
// fixed block or channel so that no result depends on how the range was split across threads.

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** out[i] = a[i] + b[i] for i in [start, end). */
export function addF32(a: usize, b: usize, out: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** out[i] = a[i] - b[i]. */
export function subF32(a: usize, b: usize, out: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.sub(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) - load<f32>(b + o));
  }
}

/** out[i] = a[i] * b[i]. */
export function mulF32(a: usize, b: usize, out: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) * load<f32>(b + o));
  }
}

/** y[i] += alpha * x[i] (rounded product, then rounded sum: no fused multiply-add). */
export function axpyF32(alpha: f32, x: usize, y: usize, start: i32, end: i32): void {
  const va = f32x4.splat(alpha);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(va, v128.load(x + o))));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + alpha * load<f32>(x + o));
  }
}

/** out[i] = alpha * x[i]. */
export function scaleF32(alpha: f32, x: usize, out: usize, start: i32, end: i32): void {
  const va = f32x4.splat(alpha);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(va, v128.load(x + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, alpha * load<f32>(x + o));
  }
}

/** out[i] = value. */
export function fillF32(value: f32, out: usize, start: i32, end: i32): void {
  const v = f32x4.splat(value);
  let i = start;
  for (; i + 4 <= end; i += 4) v128.store(at(out, i), v);
  for (; i < end; i++) store<f32>(at(out, i), value);
}

/** dst[i] = src[i] (the two ranges must not overlap). */
export function copyF32(src: usize, dst: usize, start: i32, end: i32): void {
  if (end > start) memory.copy(at(dst, start), at(src, start), <usize>(end - start) << 2);
}

/** y = max(x, 0); NaN stays NaN (wasm max, like Math.max). */
export function reluForwardF32(x: usize, y: usize, start: i32, end: i32): void {
  const z = f32x4.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.max(v128.load(x + o), z));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, max<f32>(load<f32>(x + o), 0));
  }
}

/** dx = dy where x > 0, else 0. `x` may be the input or the output of the ReLU. */
export function reluBackwardF32(dy: usize, x: usize, dx: usize, start: i32, end: i32): void {
  const z = f32x4.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, v128.and(v128.load(dy + o), f32x4.gt(v128.load(x + o), z)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(x + o) > 0 ? load<f32>(dy + o) : 0);
  }
}

/** y = min(max(x, lo), hi) (PyTorch hardtanh / clamp; NaN propagates). */
export function hardtanhForwardF32(x: usize, y: usize, lo: f32, hi: f32, start: i32, end: i32): void {
  const vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.min(f32x4.max(v128.load(x + o), vlo), vhi));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, min<f32>(max<f32>(load<f32>(x + o), lo), hi));
  }
}

/** dx = dy where lo < x < hi, else 0 (PyTorch hardtanh_backward). */
export function hardtanhBackwardF32(dy: usize, x: usize, dx: usize, lo: f32, hi: f32, start: i32, end: i32): void {
  const vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const m = v128.and(f32x4.gt(v, vlo), f32x4.lt(v, vhi));
    v128.store(dx + o, v128.and(v128.load(dy + o), m));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(dx + o, v > lo && v < hi ? load<f32>(dy + o) : 0);
  }
}

/** y[n,c,:] += bias[c] over planes p = n*C + c in [start, end). */
export function addChannelBiasF32(y: usize, bias: usize, C: i32, HW: i32, start: i32, end: i32): void {
  if (HW == 1) {
    // rows of C: add the bias row segment by segment
    let p = start;
    while (p < end) {
      const c = p % C;
      const run = min(end - p, C - c);
      const yp = at(y, p), bp = at(bias, c);
      let j = 0;
      for (; j + 4 <= run; j += 4) {
        const o = <usize>j << 2;
        v128.store(yp + o, f32x4.add(v128.load(yp + o), v128.load(bp + o)));
      }
      for (; j < run; j++) {
        const o = <usize>j << 2;
        store<f32>(yp + o, load<f32>(yp + o) + load<f32>(bp + o));
      }
      p += run;
    }
    return;
  }
  for (let p = start; p < end; p++) {
    const b = load<f32>(at(bias, p % C));
    const vb = f32x4.splat(b);
    const yp = y + ((<usize>p * <usize>HW) << 2);
    let j = 0;
    for (; j + 4 <= HW; j += 4) {
      const o = <usize>j << 2;
      v128.store(yp + o, f32x4.add(v128.load(yp + o), vb));
    }
    for (; j < HW; j++) {
      const o = <usize>j << 2;
      store<f32>(yp + o, load<f32>(yp + o) + b);
    }
  }
}

/** Σ x[0..n) with f64 accumulation in a fixed order (two f64x2 accumulators, then the tail). */
export function sumF64(x: usize, n: i32): f64 {
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = at(x, i);
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v128.load64_zero(p)));
    a1 = f64x2.add(a1, f64x2.promote_low_f32x4(v128.load64_zero(p, 8)));
  }
  const a = f64x2.add(a0, a1);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; i < n; i++) s += <f64>load<f32>(at(x, i));
  return s;
}

/** Σ x[i]² over [0, n), squares and sums in f64, fixed order. */
export function sumSquaresF64(x: usize, n: i32): f64 {
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = at(x, i);
    const lo = f64x2.promote_low_f32x4(v128.load64_zero(p));
    const hi = f64x2.promote_low_f32x4(v128.load64_zero(p, 8));
    a0 = f64x2.add(a0, f64x2.mul(lo, lo));
    a1 = f64x2.add(a1, f64x2.mul(hi, hi));
  }
  const a = f64x2.add(a0, a1);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; i < n; i++) {
    const v = <f64>load<f32>(at(x, i));
    s += v * v;
  }
  return s;
}

/** partials[b] (f64) = Σ x over block b = [b·block, (b+1)·block) ∩ [0, n), blocks b in [start, end). */
export function sumBlocksF32(x: usize, n: i32, block: i32, partials: usize, start: i32, end: i32): void {
  for (let b = start; b < end; b++) {
    const i0 = b * block;
    store<f64>(partials + (<usize>b << 3), sumF64(at(x, i0), min(block, n - i0)));
  }
}

/** partials[b] (f64) = Σ x² over block b, as in sumBlocksF32. */
export function sumSquaresBlocksF32(x: usize, n: i32, block: i32, partials: usize, start: i32, end: i32): void {
  for (let b = start; b < end; b++) {
    const i0 = b * block;
    store<f64>(partials + (<usize>b << 3), sumSquaresF64(at(x, i0), min(block, n - i0)));
  }
}

/** out[c] = Σ_{n,s} dy[n,c,s] for channels c in [start, end); f64 accumulation, order fixed per channel. */
export function sumChannelsF32(dy: usize, out: usize, N: i32, C: i32, HW: i32, start: i32, end: i32): void {
  let c = start;
  if (HW == 1) {
    // a row of C per sample: four channels at a time down the rows
    const row = <usize>C << 2;
    for (; c + 4 <= end; c += 4) {
      let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
      let p = at(dy, c);
      for (let n = 0; n < N; n++, p += row) {
        a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v128.load64_zero(p)));
        a1 = f64x2.add(a1, f64x2.promote_low_f32x4(v128.load64_zero(p, 8)));
      }
      v128.store(at(out, c), f32x4.shuffle(f32x4.demote_f64x2_zero(a0), f32x4.demote_f64x2_zero(a1), 0, 1, 4, 5));
    }
    for (; c < end; c++) {
      let s: f64 = 0;
      let p = at(dy, c);
      for (let n = 0; n < N; n++, p += row) s += <f64>load<f32>(p);
      store<f32>(at(out, c), <f32>s);
    }
    return;
  }
  const plane = <usize>HW << 2;
  const stride = plane * <usize>C;
  for (; c < end; c++) {
    let s: f64 = 0;
    let p = dy + plane * <usize>c;
    for (let n = 0; n < N; n++, p += stride) s += sumF64(p, HW);
    store<f32>(at(out, c), <f32>s);
  }
}

// ---- dropout ------------------------------------------------------------------------------
// The keep decision of element i is a pure function of (seed, offset + i): a counter-based hash,
// so the mask is the same for any split of the range across threads.

@inline function fmix32(h: u32): u32 {
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}

@inline function fmix32x4(h: v128): v128 {
  h = v128.xor(h, i32x4.shr_u(h, 16));
  h = i32x4.mul(h, i32x4.splat(0x85ebca6b));
  h = v128.xor(h, i32x4.shr_u(h, 13));
  h = i32x4.mul(h, i32x4.splat(0xc2b2ae35));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

@inline function dropoutScale(p: f64): f32 {
  return p >= 1 ? 0 : <f32>(1.0 / (1.0 - p));
}

/**
 * Inverted dropout: keep element i when hash(seed, offset + i) >= p·2^32, where
 * hash(seed, j) = fmix32(fmix32(j ^ k1) ^ k2), k1 = fmix32(seed + 0x9e3779b9), k2 = fmix32(seed + 0x3c6ef372)
 * (murmur3's finalizer, two keyed rounds), all mod 2^32. Kept elements are scaled by 1/(1-p),
 * dropped ones are 0; mask[i] = 1 (kept) or 0. p >= 1 drops everything.
 */
export function dropoutForwardF32(x: usize, mask: usize, y: usize, p: f64, seed: u32, offset: u32, start: i32, end: i32): void {
  if (p >= 1) {
    if (end > start) {
      memory.fill(mask + <usize>start, 0, <usize>(end - start));
      memory.fill(at(y, start), 0, <usize>(end - start) << 2);
    }
    return;
  }
  const thr: u32 = p <= 0 ? 0 : <u32>(p * 4294967296.0);
  const scale = dropoutScale(p);
  const k1 = fmix32(seed + 0x9e3779b9);
  const k2 = fmix32(seed + 0x3c6ef372);
  const vk1 = i32x4.splat(k1), vk2 = i32x4.splat(k2);
  const vthr = i32x4.splat(thr), vs = f32x4.splat(scale), one = i8x16.splat(1);
  const lane = i32x4(0, 1, 2, 3);
  let i = start;
  for (; i + 16 <= end; i += 16) {
    const base = i32x4.add(i32x4.splat(offset + <u32>i), lane);
    const m0 = i32x4.ge_u(fmix32x4(v128.xor(fmix32x4(v128.xor(base, vk1)), vk2)), vthr);
    const b1 = i32x4.add(base, i32x4.splat(4));
    const m1 = i32x4.ge_u(fmix32x4(v128.xor(fmix32x4(v128.xor(b1, vk1)), vk2)), vthr);
    const b2 = i32x4.add(base, i32x4.splat(8));
    const m2 = i32x4.ge_u(fmix32x4(v128.xor(fmix32x4(v128.xor(b2, vk1)), vk2)), vthr);
    const b3 = i32x4.add(base, i32x4.splat(12));
    const m3 = i32x4.ge_u(fmix32x4(v128.xor(fmix32x4(v128.xor(b3, vk1)), vk2)), vthr);
    const xp = at(x, i), yp = at(y, i);
    v128.store(yp, v128.and(f32x4.mul(v128.load(xp), vs), m0));
    v128.store(yp, v128.and(f32x4.mul(v128.load(xp, 16), vs), m1), 16);
    v128.store(yp, v128.and(f32x4.mul(v128.load(xp, 32), vs), m2), 32);
    v128.store(yp, v128.and(f32x4.mul(v128.load(xp, 48), vs), m3), 48);
    const bytes = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(m0, m1), i16x8.narrow_i32x4_s(m2, m3));
    v128.store(mask + <usize>i, v128.and(bytes, one));
  }
  for (; i < end; i++) {
    const keep = fmix32(fmix32((offset + <u32>i) ^ k1) ^ k2) >= thr;
    store<u8>(mask + <usize>i, keep ? 1 : 0);
    store<f32>(at(y, i), keep ? load<f32>(at(x, i)) * scale : 0);
  }
}

/** dx = mask ? dy / (1 - p) : 0 (any nonzero mask byte counts as kept). */
export function dropoutBackwardF32(dy: usize, mask: usize, dx: usize, p: f64, start: i32, end: i32): void {
  const scale = dropoutScale(p);
  const vs = f32x4.splat(scale), z = i32x4.splat(0);
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const m16 = v128.load8x8_u(mask + <usize>i);
    const m0 = i32x4.ne(i32x4.extend_low_i16x8_u(m16), z);
    const m1 = i32x4.ne(i32x4.extend_high_i16x8_u(m16), z);
    const gp = at(dy, i), op = at(dx, i);
    v128.store(op, v128.and(f32x4.mul(v128.load(gp), vs), m0));
    v128.store(op, v128.and(f32x4.mul(v128.load(gp, 16), vs), m1), 16);
  }
  for (; i < end; i++) {
    store<f32>(at(dx, i), load<u8>(mask + <usize>i) != 0 ? load<f32>(at(dy, i)) * scale : 0);
  }
}
