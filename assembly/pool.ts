// 2-D pooling over NCHW planes (PyTorch semantics). Parallel kernels split over planes
// p = n*C + c in [start, end); every plane is independent.
//
// Forward kernels vectorise four output columns at a time where the whole window lies inside
// the row (stride 1: one load per tap; stride 2: two loads and a shuffle, or for 2x2 windows two
// loads per row and an even/odd split); the last group of four overlaps the one before instead
// of falling back to scalar. Borders and other strides take the scalar path, which scans each
// window in the same order, so every path gives the same bits.
// Backward kernels scatter into a zeroed plane in output order, except where windows cannot
// overlap (kernel 2, stride 2 along rows): there each dx element is written once, directly.
import { sumF64 } from "./elementwise";

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/**
 * Zero n floats with vector stores. Measured: memory.fill followed by the backward scatter's
 * read-modify-write ran about 2x slower than these plain stores.
 */
@inline function zero(p: usize, n: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(p, i), z);
  for (; i < n; i++) store<f32>(at(p, i), 0);
}

/** First output column whose window starts at or after column 0. */
@inline function interiorLo(OW: i32, sw: i32, pw: i32): i32 {
  return min(OW, (pw + sw - 1) / sw);
}

/** One past the last output column whose window ends inside the row. */
@inline function interiorHi(OW: i32, W: i32, kw: i32, sw: i32, pw: i32, lo: i32): i32 {
  const room = W + pw - kw;
  return room < 0 ? lo : max(lo, min(OW, room / sw + 1));
}

/**
 * Max pooling. y[p, oh, ow] = max over the window, argmax = flat index h*W + w of that element
 * in the input plane. Ties keep the first maximum in scan order; a NaN wins (PyTorch CPU rule:
 * update when v > best or v is NaN); padding never wins.
 */
export function maxPool2dForwardF32(
  x: usize, y: usize, argmax: usize,
  H: i32, W: i32, OH: i32, OW: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  start: i32, end: i32,
): void {
  const lo = interiorLo(OW, sw, pw);
  const hi = interiorHi(OW, W, kw, sw, pw, lo);
  // interior columns go four at a time; the last group overlaps the previous one rather than
  // falling back to scalar (recomputing an output writes the same value)
  const vec = sw <= 2 && hi - lo >= 4;
  const is2x2 = kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0;
  for (let p = start; p < end; p++) {
    const xp = x + ((<usize>p * <usize>(H * W)) << 2);
    const ob = p * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - ph;
      const hs = max(h0, 0), he = min(h0 + kh, H);
      const orow = ob + oh * OW;
      let ow = 0;
      for (; ow < lo; ow++) maxWindow(xp, W, hs, he, ow * sw - pw, kw, at(y, orow + ow), at(argmax, orow + ow));
      if (vec) {
        if (is2x2 && he - hs == 2) {
          for (; ow < hi; ow += 4) {
            const o = min(ow, hi - 4);
            max2x2s2(xp, W, hs, o * 2, at(y, orow + o), at(argmax, orow + o));
          }
        } else {
          for (; ow < hi; ow += 4) {
            const o = min(ow, hi - 4);
            maxVec4(xp, W, hs, he, o * sw - pw, kw, sw, at(y, orow + o), at(argmax, orow + o));
          }
        }
        ow = hi;
      }
      for (; ow < OW; ow++) maxWindow(xp, W, hs, he, ow * sw - pw, kw, at(y, orow + ow), at(argmax, orow + ow));
    }
  }
}

/** Columns ws + j + {0, s, 2s, 3s} of row pointer rp, for stride s = 1 or 2, without reading past the last. */
@inline function strided4(rp: usize, j: i32, sw: i32): v128 {
  if (sw == 1) return v128.load(at(rp, j));
  return i32x4.shuffle(v128.load(at(rp, j)), v128.load(at(rp, j + 3)), 0, 2, 5, 7);
}

/** Four outputs whose windows (kw wide, rows [hs, he)) start at columns ws, ws + sw, ws + 2sw, ws + 3sw. */
@inline function maxVec4(xp: usize, W: i32, hs: i32, he: i32, ws: i32, kw: i32, sw: i32, yo: usize, ao: usize): void {
  const lane = i32x4(0, sw, 2 * sw, 3 * sw);
  let best = f32x4.splat(-Infinity);
  let bi = i32x4.add(i32x4.splat(hs * W + ws), lane);
  for (let r = hs; r < he; r++) {
    const rp = at(xp, r * W + ws);
    for (let j = 0; j < kw; j++) {
      const v = strided4(rp, j, sw);
      const m = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
      best = v128.bitselect(v, best, m);
      bi = v128.bitselect(i32x4.add(i32x4.splat(r * W + ws + j), lane), bi, m);
    }
  }
  v128.store(yo, best);
  v128.store(ao, bi);
}

/** Four 2x2 stride-2 windows at rows r, r+1 and columns ws … ws+7. Same scan order as maxWindow. */
@inline function max2x2s2(xp: usize, W: i32, r: i32, ws: i32, yo: usize, ao: usize): void {
  const p0 = at(xp, r * W + ws), p1 = at(p0, W);
  const a0 = v128.load(p0), a1 = v128.load(p0, 16), b0 = v128.load(p1), b1 = v128.load(p1, 16);
  const base = i32x4.add(i32x4.splat(r * W + ws), i32x4(0, 2, 4, 6));
  // starting from the first element equals starting from -inf: -inf and NaN both end up the same
  let best = i32x4.shuffle(a0, a1, 0, 2, 4, 6);
  let bi = base;
  let v = i32x4.shuffle(a0, a1, 1, 3, 5, 7);
  let m = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
  best = v128.bitselect(v, best, m);
  bi = v128.bitselect(i32x4.add(base, i32x4.splat(1)), bi, m);
  v = i32x4.shuffle(b0, b1, 0, 2, 4, 6);
  m = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
  best = v128.bitselect(v, best, m);
  bi = v128.bitselect(i32x4.add(base, i32x4.splat(W)), bi, m);
  v = i32x4.shuffle(b0, b1, 1, 3, 5, 7);
  m = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
  best = v128.bitselect(v, best, m);
  bi = v128.bitselect(i32x4.add(base, i32x4.splat(W + 1)), bi, m);
  v128.store(yo, best);
  v128.store(ao, bi);
}

@inline function maxWindow(xp: usize, W: i32, hs: i32, he: i32, w0: i32, kw: i32, yo: usize, ao: usize): void {
  const ws = max(w0, 0), we = min(w0 + kw, W);
  let best: f32 = -Infinity;
  let bi = hs * W + ws;
  for (let r = hs; r < he; r++) {
    for (let c = ws; c < we; c++) {
      const v = load<f32>(at(xp, r * W + c));
      if (v > best || v != v) {
        best = v;
        bi = r * W + c;
      }
    }
  }
  store<f32>(yo, best);
  store<i32>(ao, bi);
}

/** dx = 0, then dx[p, argmax[p, o]] += dy[p, o] in output order. Out-of-plane indices are skipped. */
export function maxPool2dBackwardF32(
  dy: usize, argmax: usize, dx: usize,
  H: i32, W: i32, OH: i32, OW: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  start: i32, end: i32,
): void {
  if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0) {
    max2x2s2Backward(dy, argmax, dx, H, W, OH, OW, start, end);
    return;
  }
  const HW = H * W, OHW = OH * OW;
  for (let p = start; p < end; p++) {
    const xp = dx + ((<usize>p * <usize>HW) << 2);
    zero(xp, HW);
    scatterOutputs(dy, argmax, xp, HW, p * OHW, OHW);
  }
}

/** dx[argmax[o]] += dy[o] for outputs o in [o0, o0 + n) of one plane. */
@inline function scatterOutputs(dy: usize, argmax: usize, xp: usize, HW: i32, o0: i32, n: i32): void {
  for (let o = o0; o < o0 + n; o++) {
    const i = load<i32>(at(argmax, o));
    if (<u32>i < <u32>HW) {
      const q = at(xp, i);
      store<f32>(q, load<f32>(q) + load<f32>(at(dy, o)));
    }
  }
}

/**
 * 2x2 stride-2 windows are disjoint, so each dx element is written once: dy where the argmax
 * points at it, else 0 (no zero fill, no read-modify-write). The argmax of each output must lie
 * in its own window, as the forward kernel guarantees. Same values as the scatter: 0 + dy.
 */
function max2x2s2Backward(dy: usize, argmax: usize, dx: usize, H: i32, W: i32, OH: i32, OW: i32, start: i32, end: i32): void {
  const hi = interiorHi(OW, W, 2, 2, 0, 0);
  const HW = H * W;
  const vzero = f32x4.splat(0);
  const lane = i32x4(0, 2, 4, 6), one = i32x4.splat(1), down = i32x4.splat(W);
  for (let p = start; p < end; p++) {
    const xp = dx + ((<usize>p * <usize>HW) << 2);
    const ob = p * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const r = 2 * oh;
      const orow = ob + oh * OW;
      if (r + 1 >= H || hi < 4) {
        // a window cut by the bottom edge (ceil mode) or a narrow row: zero, then scatter
        zero(at(xp, r * W), min(2, H - r) * W);
        scatterOutputs(dy, argmax, xp, HW, orow, OW);
        continue;
      }
      if (2 * hi < W) {
        zero(at(xp, r * W + 2 * hi), W - 2 * hi);
        zero(at(xp, (r + 1) * W + 2 * hi), W - 2 * hi);
      }
      for (let ow = 0; ow < hi; ow += 4) {
        const o = min(ow, hi - 4); // the last group may overlap: the stores are idempotent
        const a = v128.load(at(argmax, orow + o));
        const g = f32x4.add(v128.load(at(dy, orow + o)), vzero); // -0 -> +0, as 0 + dy
        const b = i32x4.add(i32x4.splat(r * W + 2 * o), lane);
        const e0 = v128.and(g, i32x4.eq(a, b));
        const o0 = v128.and(g, i32x4.eq(a, i32x4.add(b, one)));
        const e1 = v128.and(g, i32x4.eq(a, i32x4.add(b, down)));
        const o1 = v128.and(g, i32x4.eq(a, i32x4.add(b, i32x4.add(down, one))));
        const q0 = at(xp, r * W + 2 * o), q1 = at(q0, W);
        v128.store(q0, i32x4.shuffle(e0, o0, 0, 4, 1, 5));
        v128.store(q0, i32x4.shuffle(e0, o0, 2, 6, 3, 7), 16);
        v128.store(q1, i32x4.shuffle(e1, o1, 0, 4, 1, 5));
        v128.store(q1, i32x4.shuffle(e1, o1, 2, 6, 3, 7), 16);
      }
      if (hi < OW) scatterOutputs(dy, argmax, xp, HW, orow + hi, OW - hi);
    }
    // rows below the last window
    if (2 * OH < H) zero(at(xp, 2 * OH * W), (H - 2 * OH) * W);
  }
}

/**
 * The divisor of one window (PyTorch avg_pool2d): the window clipped to the padded input when
 * padding counts, the window clipped to the input otherwise; `divisorOverride` > 0 replaces both.
 */
@inline function avgDivisor(h0: i32, w0: i32, H: i32, W: i32, kh: i32, kw: i32, ph: i32, pw: i32, includePad: i32, divisorOverride: i32): f32 {
  if (divisorOverride > 0) return <f32>divisorOverride;
  if (includePad) return <f32>((min(h0 + kh, H + ph) - h0) * (min(w0 + kw, W + pw) - w0));
  return <f32>((min(h0 + kh, H) - max(h0, 0)) * (min(w0 + kw, W) - max(w0, 0)));
}

/** Average pooling: y = (Σ window, f32, row-major scan) / divisor. */
export function avgPool2dForwardF32(
  x: usize, y: usize,
  H: i32, W: i32, OH: i32, OW: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  includePad: i32, divisorOverride: i32,
  start: i32, end: i32,
): void {
  const lo = interiorLo(OW, sw, pw);
  const hi = interiorHi(OW, W, kw, sw, pw, lo);
  const vec = sw <= 2 && hi - lo >= 4;
  const is2x2 = kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0;
  for (let p = start; p < end; p++) {
    const xp = x + ((<usize>p * <usize>(H * W)) << 2);
    const ob = p * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - ph;
      const hs = max(h0, 0), he = min(h0 + kh, H);
      const orow = ob + oh * OW;
      let ow = 0;
      for (; ow < lo; ow++) avgWindow(xp, H, W, h0, hs, he, ow * sw - pw, kh, kw, ph, pw, includePad, divisorOverride, at(y, orow + ow));
      if (vec) {
        // interior columns share one divisor; the last group of four overlaps the previous one
        const vd = f32x4.splat(avgDivisor(h0, lo * sw - pw, H, W, kh, kw, ph, pw, includePad, divisorOverride));
        if (is2x2 && he - hs == 2) {
          for (; ow < hi; ow += 4) {
            const o = min(ow, hi - 4);
            const p0 = at(xp, hs * W + o * 2), p1 = at(p0, W);
            const a0 = v128.load(p0), a1 = v128.load(p0, 16), b0 = v128.load(p1), b1 = v128.load(p1, 16);
            let t = f32x4.add(f32x4.splat(0), i32x4.shuffle(a0, a1, 0, 2, 4, 6));
            t = f32x4.add(t, i32x4.shuffle(a0, a1, 1, 3, 5, 7));
            t = f32x4.add(t, i32x4.shuffle(b0, b1, 0, 2, 4, 6));
            t = f32x4.add(t, i32x4.shuffle(b0, b1, 1, 3, 5, 7));
            v128.store(at(y, orow + o), f32x4.div(t, vd));
          }
        } else {
          for (; ow < hi; ow += 4) {
            const o = min(ow, hi - 4);
            const ws = o * sw - pw;
            let t = f32x4.splat(0);
            for (let r = hs; r < he; r++) {
              const rp = at(xp, r * W + ws);
              for (let j = 0; j < kw; j++) t = f32x4.add(t, strided4(rp, j, sw));
            }
            v128.store(at(y, orow + o), f32x4.div(t, vd));
          }
        }
        ow = hi;
      }
      for (; ow < OW; ow++) avgWindow(xp, H, W, h0, hs, he, ow * sw - pw, kh, kw, ph, pw, includePad, divisorOverride, at(y, orow + ow));
    }
  }
}

@inline function avgWindow(
  xp: usize, H: i32, W: i32, h0: i32, hs: i32, he: i32, w0: i32, kh: i32, kw: i32, ph: i32, pw: i32,
  includePad: i32, divisorOverride: i32, yo: usize,
): void {
  const ws = max(w0, 0), we = min(w0 + kw, W);
  let s: f32 = 0;
  for (let r = hs; r < he; r++) {
    for (let c = ws; c < we; c++) s += load<f32>(at(xp, r * W + c));
  }
  store<f32>(yo, s / avgDivisor(h0, w0, H, W, kh, kw, ph, pw, includePad, divisorOverride));
}

/** dx = 0, then every window adds dy / divisor to its inputs, outputs in row-major order. */
export function avgPool2dBackwardF32(
  dy: usize, dx: usize,
  H: i32, W: i32, OH: i32, OW: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  includePad: i32, divisorOverride: i32,
  start: i32, end: i32,
): void {
  // kw = sw = 2 without column padding (LeNet, VGG): each dy value lands on two neighbouring
  // columns of every window row, and windows do not overlap along a row
  const pair = kw == 2 && sw == 2 && pw == 0;
  if (pair && sh >= kh) {
    avgPairBackwardDisjoint(dy, dx, H, W, OH, OW, kh, sh, ph, includePad, divisorOverride, start, end);
    return;
  }
  const hi = interiorHi(OW, W, kw, sw, pw, 0);
  for (let p = start; p < end; p++) {
    const xp = dx + ((<usize>p * <usize>(H * W)) << 2);
    zero(xp, H * W);
    const ob = p * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - ph;
      const hs = max(h0, 0), he = min(h0 + kh, H);
      const orow = ob + oh * OW;
      let ow = 0;
      if (pair) {
        const vd = f32x4.splat(avgDivisor(h0, 0, H, W, kh, 2, ph, 0, includePad, divisorOverride));
        for (; ow + 4 <= hi; ow += 4) {
          const g = f32x4.div(v128.load(at(dy, orow + ow)), vd);
          const g01 = i32x4.shuffle(g, g, 0, 0, 1, 1), g23 = i32x4.shuffle(g, g, 2, 2, 3, 3);
          for (let r = hs; r < he; r++) {
            const q = at(xp, r * W + ow * 2);
            v128.store(q, f32x4.add(v128.load(q), g01));
            v128.store(q, f32x4.add(v128.load(q, 16), g23), 16);
          }
        }
      }
      for (; ow < OW; ow++) avgScatter(dy, xp, orow + ow, H, W, h0, hs, he, ow * sw - pw, kh, kw, ph, pw, includePad, divisorOverride);
    }
  }
}

/**
 * The kw = sw = 2, sh >= kh case: every dx element belongs to at most one window, so dx is
 * written once (no zero fill, no read-modify-write) and the last group of four outputs may
 * overlap the previous one. Rows and columns no window covers are zeroed.
 */
function avgPairBackwardDisjoint(
  dy: usize, dx: usize, H: i32, W: i32, OH: i32, OW: i32, kh: i32, sh: i32, ph: i32,
  includePad: i32, divisorOverride: i32, start: i32, end: i32,
): void {
  const hi = interiorHi(OW, W, 2, 2, 0, 0);
  const vzero = f32x4.splat(0);
  for (let p = start; p < end; p++) {
    const xp = dx + ((<usize>p * <usize>(H * W)) << 2);
    const ob = p * OH * OW;
    let rc = 0; // rows below rc are done
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - ph;
      const hs = max(h0, 0), he = min(h0 + kh, H);
      const orow = ob + oh * OW;
      if (hs > rc) zero(at(xp, rc * W), (hs - rc) * W);
      if (2 * hi < W) for (let r = hs; r < he; r++) zero(at(xp, r * W + 2 * hi), W - 2 * hi);
      const d = avgDivisor(h0, 0, H, W, kh, 2, ph, 0, includePad, divisorOverride);
      if (hi >= 4) {
        const vd = f32x4.splat(d);
        for (let ow = 0; ow < hi; ow += 4) {
          const o = min(ow, hi - 4);
          // + 0 turns -0 into +0, as adding to a zeroed dx would
          const g = f32x4.add(f32x4.div(v128.load(at(dy, orow + o)), vd), vzero);
          const g01 = i32x4.shuffle(g, g, 0, 0, 1, 1), g23 = i32x4.shuffle(g, g, 2, 2, 3, 3);
          for (let r = hs; r < he; r++) {
            const q = at(xp, r * W + o * 2);
            v128.store(q, g01);
            v128.store(q, g23, 16);
          }
        }
      } else {
        for (let ow = 0; ow < hi; ow++) {
          const g = load<f32>(at(dy, orow + ow)) / d + 0;
          for (let r = hs; r < he; r++) {
            const q = at(xp, r * W + ow * 2);
            store<f32>(q, g);
            store<f32>(q, g, 4);
          }
        }
      }
      for (let ow = hi; ow < OW; ow++) avgScatter(dy, xp, orow + ow, H, W, h0, hs, he, ow * 2, kh, 2, ph, 0, includePad, divisorOverride);
      rc = max(rc, he);
    }
    if (H > rc) zero(at(xp, rc * W), (H - rc) * W);
  }
}

@inline function avgScatter(
  dy: usize, xp: usize, o: i32, H: i32, W: i32, h0: i32, hs: i32, he: i32, w0: i32, kh: i32, kw: i32, ph: i32, pw: i32,
  includePad: i32, divisorOverride: i32,
): void {
  const g = load<f32>(at(dy, o)) / avgDivisor(h0, w0, H, W, kh, kw, ph, pw, includePad, divisorOverride);
  const ws = max(w0, 0), we = min(w0 + kw, W);
  for (let r = hs; r < he; r++) {
    for (let c = ws; c < we; c++) {
      const q = at(xp, r * W + c);
      store<f32>(q, load<f32>(q) + g);
    }
  }
}

/** y[p] = mean of plane p (f64 sum, one rounding). */
export function globalAvgPoolForwardF32(x: usize, y: usize, HW: i32, start: i32, end: i32): void {
  for (let p = start; p < end; p++) {
    store<f32>(at(y, p), <f32>(sumF64(x + ((<usize>p * <usize>HW) << 2), HW) / <f64>HW));
  }
}

/** dx[p, :] = dy[p] / HW. */
export function globalAvgPoolBackwardF32(dy: usize, dx: usize, HW: i32, start: i32, end: i32): void {
  for (let p = start; p < end; p++) {
    const g = <f32>(<f64>load<f32>(at(dy, p)) / <f64>HW);
    const vg = f32x4.splat(g);
    const xp = dx + ((<usize>p * <usize>HW) << 2);
    let i = 0;
    for (; i + 4 <= HW; i += 4) v128.store(at(xp, i), vg);
    for (; i < HW; i++) store<f32>(at(xp, i), g);
  }
}
