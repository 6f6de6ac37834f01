// Batch normalization over NCHW (HW = 1 for BatchNorm1d). Parallel kernels split over channels
// c in [start, end); each channel's statistics are computed by one thread in a fixed order.
//
// Numerics: AdderNet's pre-BN outputs sit around -1000 with a small spread, where E[x²] - E[x]²
// in f32 loses every digit of the variance. The statistics take one pass over x shifted by k,
// the mean of the channel's first plane (HW > 1) or its first value (HW = 1): Σ(x-k) and Σ(x-k)²
// in f64, then mean = k + Σ(x-k)/n and var = Σ(x-k)²/n - (Σ(x-k)/n)².
// By Cauchy-Schwarz (k - mean)² <= N·var, so the subtraction loses at most a factor N + 1 and the
// relative error of var stays below ~n·(N+1)·2^-53 (6e-9 for n = 256·784): as good as two-pass
// for f32 results, with one read of x less.
// The output uses ((x - mean_hi) - mean_lo)·a + b, where mean_hi + mean_lo is the f64 mean split
// into two f32, so a mean near -1000 is subtracted with full precision.
//
// HW > 1: one channel at a time, vectorised along each plane.
// HW = 1: four channels at a time, vectorised across channels down the rows.
// gamma, beta, running stats, dgamma and dbeta may be 0 (absent): gamma = 1, beta = 0, skipped.
//
// A ReLU after a training-mode BatchNorm can run inside it (src/tensor/ops/batchnorm.ts): the
// forward stores max(y, 0) as reluForwardF32 does, and the backward masks dy with (y > 0) as
// reluBackwardF32 does, in every read of dy. Same bits as the two kernels, two passes over memory
// fewer. The backward does not read the output for the mask: it recomputes y > 0 from x with the
// forward's own f32 operations, ((x - mean_hi) - mean_lo)·a + b, from mean_lo and a that the forward
// saves per channel (`affine`: C values of mean_lo, then C of a) and b = beta. That is the same
// test on the same f32 value, and one stream of memory fewer in each of the backward's two passes.

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

@inline function lo2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

@inline function hi2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p, 8));
}

@inline function hsum(a: v128): f64 {
  return f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
}

@inline function param(p: usize, c: i32, absent: f32): f32 {
  return p == 0 ? absent : load<f32>(at(p, c));
}

// planeShifted's two results (wasm globals are per instance, so per thread)
let shiftedSum: f64 = 0;
let shiftedSq: f64 = 0;

/** shiftedSum = Σ (x - k), shiftedSq = Σ (x - k)² over one plane of n elements, in f64. */
@inline function planeShifted(p: usize, n: i32, k: f64): void {
  const vk = f64x2.splat(k);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0), q0 = f64x2.splat(0), q1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = at(p, i);
    const d0 = f64x2.sub(lo2(a), vk), d1 = f64x2.sub(hi2(a), vk);
    s0 = f64x2.add(s0, d0);
    s1 = f64x2.add(s1, d1);
    q0 = f64x2.add(q0, f64x2.mul(d0, d0));
    q1 = f64x2.add(q1, f64x2.mul(d1, d1));
  }
  let s = hsum(f64x2.add(s0, s1)), q = hsum(f64x2.add(q0, q1));
  for (; i < n; i++) {
    const d = <f64>load<f32>(at(p, i)) - k;
    s += d;
    q += d * d;
  }
  shiftedSum = s;
  shiftedSq = q;
}

/** max(v, 0) per lane when `relu` (the IEEE max of reluForwardF32), else v. */
@inline function rectify(v: v128, relu: bool): v128 {
  return relu ? f32x4.max(v, f32x4.splat(0)) : v;
}

/** y = ((x - mhi) - mlo) * a + b over one plane, then max(y, 0) when `relu`. */
@inline function planeAffine(x: usize, y: usize, n: i32, mhi: f32, mlo: f32, a: f32, b: f32, relu: bool): void {
  const vh = f32x4.splat(mhi), vl = f32x4.splat(mlo), va = f32x4.splat(a), vb = f32x4.splat(b);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const d = f32x4.sub(f32x4.sub(v128.load(at(x, i)), vh), vl);
    v128.store(at(y, i), rectify(f32x4.add(f32x4.mul(d, va), vb), relu));
  }
  for (; i < n; i++) {
    const v = ((load<f32>(at(x, i)) - mhi) - mlo) * a + b;
    store<f32>(at(y, i), relu ? max<f32>(v, 0) : v);
  }
}

/**
 * Four floats of dy at address g; with a ReLU fused, masked by (y > 0) where y is the forward's
 * output at the same element: recomputed from x (at x + (g - dy)) with the forward's f32 operations
 * when `relu` (per lane mean_hi, mean_lo, a and b of that lane's channel), else read from `out`
 * unless out is 0. Either way the bits of reluBackwardF32's mask.
 */
@inline function gradAt(g: usize, dy: usize, x: usize, relu: bool, mhi: v128, mlo: v128, a: v128, b: v128, out: usize): v128 {
  const v = v128.load(g);
  if (relu) {
    const d = f32x4.sub(f32x4.sub(v128.load(x + (g - dy)), mhi), mlo);
    return v128.and(v, f32x4.gt(f32x4.add(f32x4.mul(d, a), b), f32x4.splat(0)));
  }
  return out == 0 ? v : v128.and(v, f32x4.gt(v128.load(out + (g - dy)), f32x4.splat(0)));
}

/** One float of dy, masked as gradAt (the forward's scalar tail: the same f32 operations). */
@inline function gradOne(g: usize, dy: usize, x: usize, relu: bool, mhi: f32, mlo: f32, a: f32, b: f32, out: usize): f32 {
  const v = load<f32>(g);
  if (relu) return ((load<f32>(x + (g - dy)) - mhi) - mlo) * a + b > 0 ? v : 0;
  return out == 0 || load<f32>(out + (g - dy)) > 0 ? v : 0;
}

@inline function updateRunning(rm: usize, rv: usize, c: i32, mean: f64, varBiased: f64, count: i32, momentum: f64): void {
  if (rm != 0) {
    const q = at(rm, c);
    store<f32>(q, <f32>((1 - momentum) * <f64>load<f32>(q) + momentum * mean));
  }
  if (rv != 0) {
    const q = at(rv, c);
    const unbiased = varBiased * (<f64>count / <f64>(count - 1));
    store<f32>(q, <f32>((1 - momentum) * <f64>load<f32>(q) + momentum * unbiased));
  }
}

/**
 * Training-mode forward: batch mean and biased variance per channel, y normalised with them,
 * saveMean / saveInvStd kept for backward, running stats updated with the unbiased variance:
 * running = (1 - momentum)·running + momentum·batch. Needs N·HW > 1.
 */
export function batchNormForwardTrainF32(
  x: usize, gamma: usize, beta: usize, y: usize, saveMean: usize, saveInvStd: usize,
  runningMean: usize, runningVar: usize, N: i32, C: i32, HW: i32, momentum: f64, eps: f64, relu: bool,
  affine: usize, start: i32, end: i32,
): void {
  const count = N * HW;
  const inv = 1.0 / <f64>count;
  let c = start;
  if (HW == 1) {
    const row = <usize>C << 2;
    for (; c + 4 <= end; c += 4) {
      const x0 = at(x, c), y0 = at(y, c);
      // shift by the first row (see the numerics note at the top)
      const k0 = lo2(x0), k1 = hi2(x0);
      let s0 = f64x2.splat(0), s1 = f64x2.splat(0), q0 = f64x2.splat(0), q1 = f64x2.splat(0);
      let p = x0;
      for (let n = 0; n < N; n++, p += row) {
        const d0 = f64x2.sub(lo2(p), k0), d1 = f64x2.sub(hi2(p), k1);
        s0 = f64x2.add(s0, d0);
        s1 = f64x2.add(s1, d1);
        q0 = f64x2.add(q0, f64x2.mul(d0, d0));
        q1 = f64x2.add(q1, f64x2.mul(d1, d1));
      }
      const vinv = f64x2.splat(inv);
      const e0 = f64x2.mul(s0, vinv), e1 = f64x2.mul(s1, vinv);
      const m0 = f64x2.add(k0, e0), m1 = f64x2.add(k1, e1);
      const zero = f64x2.splat(0);
      const v0 = f64x2.max(zero, f64x2.sub(f64x2.mul(q0, vinv), f64x2.mul(e0, e0)));
      const v1 = f64x2.max(zero, f64x2.sub(f64x2.mul(q1, vinv), f64x2.mul(e1, e1)));
      // per-lane constants; the lanes are independent channels
      const istd0 = f64x2.div(f64x2.splat(1), f64x2.sqrt(f64x2.add(v0, f64x2.splat(eps))));
      const istd1 = f64x2.div(f64x2.splat(1), f64x2.sqrt(f64x2.add(v1, f64x2.splat(eps))));
      const mean = f32x4.shuffle(f32x4.demote_f64x2_zero(m0), f32x4.demote_f64x2_zero(m1), 0, 1, 4, 5);
      const mlo = f32x4.shuffle(
        f32x4.demote_f64x2_zero(f64x2.sub(m0, f64x2.promote_low_f32x4(mean))),
        f32x4.demote_f64x2_zero(f64x2.sub(m1, f64x2.promote_low_f32x4(i32x4.shuffle(mean, mean, 2, 3, 2, 3)))),
        0, 1, 4, 5,
      );
      const g = gamma == 0 ? f32x4.splat(1) : v128.load(at(gamma, c));
      const b = beta == 0 ? f32x4.splat(0) : v128.load(at(beta, c));
      const g0 = f64x2.promote_low_f32x4(g), g1 = f64x2.promote_low_f32x4(i32x4.shuffle(g, g, 2, 3, 2, 3));
      const a = f32x4.shuffle(f32x4.demote_f64x2_zero(f64x2.mul(g0, istd0)), f32x4.demote_f64x2_zero(f64x2.mul(g1, istd1)), 0, 1, 4, 5);
      p = x0;
      let q = y0;
      for (let n = 0; n < N; n++, p += row, q += row) {
        const d = f32x4.sub(f32x4.sub(v128.load(p), mean), mlo);
        v128.store(q, rectify(f32x4.add(f32x4.mul(d, a), b), relu));
      }
      v128.store(at(saveMean, c), mean);
      if (affine != 0) {
        v128.store(at(affine, c), mlo);
        v128.store(at(affine, C + c), a);
      }
      v128.store(at(saveInvStd, c), f32x4.shuffle(f32x4.demote_f64x2_zero(istd0), f32x4.demote_f64x2_zero(istd1), 0, 1, 4, 5));
      updateRunning(runningMean, runningVar, c, f64x2.extract_lane(m0, 0), f64x2.extract_lane(v0, 0), count, momentum);
      updateRunning(runningMean, runningVar, c + 1, f64x2.extract_lane(m0, 1), f64x2.extract_lane(v0, 1), count, momentum);
      updateRunning(runningMean, runningVar, c + 2, f64x2.extract_lane(m1, 0), f64x2.extract_lane(v1, 0), count, momentum);
      updateRunning(runningMean, runningVar, c + 3, f64x2.extract_lane(m1, 1), f64x2.extract_lane(v1, 1), count, momentum);
    }
  }
  // one channel at a time: any HW, and the last channels of HW = 1
  const plane = <usize>HW << 2;
  const stride = plane * <usize>C;
  for (; c < end; c++) {
    const x0 = x + plane * <usize>c, y0 = y + plane * <usize>c;
    planeShifted(x0, HW, 0);
    const k = shiftedSum / <f64>HW;
    let s: f64 = 0, q: f64 = 0;
    let p = x0;
    for (let n = 0; n < N; n++, p += stride) {
      planeShifted(p, HW, k);
      s += shiftedSum;
      q += shiftedSq;
    }
    const e = s * inv;
    const mean = k + e;
    const varB = max<f64>(0, q * inv - e * e);
    const istd = 1.0 / Math.sqrt(varB + eps);
    const mhi = <f32>mean;
    const mlo = <f32>(mean - <f64>mhi);
    const a = <f32>(<f64>param(gamma, c, 1) * istd);
    const b = param(beta, c, 0);
    p = x0;
    let o = y0;
    for (let n = 0; n < N; n++, p += stride, o += stride) planeAffine(p, o, HW, mhi, mlo, a, b, relu);
    store<f32>(at(saveMean, c), mhi);
    store<f32>(at(saveInvStd, c), <f32>istd);
    if (affine != 0) {
      store<f32>(at(affine, c), mlo);
      store<f32>(at(affine, C + c), a);
    }
    updateRunning(runningMean, runningVar, c, mean, varB, count, momentum);
  }
}

/** Eval-mode forward: y = (x - runningMean) * gamma / sqrt(runningVar + eps) + beta. */
export function batchNormForwardEvalF32(
  x: usize, gamma: usize, beta: usize, runningMean: usize, runningVar: usize, y: usize,
  N: i32, C: i32, HW: i32, eps: f64, start: i32, end: i32,
): void {
  let c = start;
  if (HW == 1) {
    const row = <usize>C << 2;
    for (; c + 4 <= end; c += 4) {
      const v = v128.load(at(runningVar, c));
      const e = f64x2.splat(eps);
      const g = gamma == 0 ? f32x4.splat(1) : v128.load(at(gamma, c));
      const a0 = f64x2.div(f64x2.promote_low_f32x4(g), f64x2.sqrt(f64x2.add(f64x2.promote_low_f32x4(v), e)));
      const g23 = i32x4.shuffle(g, g, 2, 3, 2, 3), v23 = i32x4.shuffle(v, v, 2, 3, 2, 3);
      const a1 = f64x2.div(f64x2.promote_low_f32x4(g23), f64x2.sqrt(f64x2.add(f64x2.promote_low_f32x4(v23), e)));
      const a = f32x4.shuffle(f32x4.demote_f64x2_zero(a0), f32x4.demote_f64x2_zero(a1), 0, 1, 4, 5);
      const m = v128.load(at(runningMean, c));
      const b = beta == 0 ? f32x4.splat(0) : v128.load(at(beta, c));
      let p = at(x, c), q = at(y, c);
      for (let n = 0; n < N; n++, p += row, q += row) {
        v128.store(q, f32x4.add(f32x4.mul(f32x4.sub(v128.load(p), m), a), b));
      }
    }
  }
  const plane = <usize>HW << 2;
  const stride = plane * <usize>C;
  for (; c < end; c++) {
    const a = <f32>(<f64>param(gamma, c, 1) / Math.sqrt(<f64>load<f32>(at(runningVar, c)) + eps));
    const m = load<f32>(at(runningMean, c));
    const b = param(beta, c, 0);
    let p = x + plane * <usize>c, o = y + plane * <usize>c;
    for (let n = 0; n < N; n++, p += stride, o += stride) planeAffine(p, o, HW, m, 0, a, b, false);
  }
}

/**
 * Backward of the training-mode forward (the full formula, batch statistics depend on x):
 *   xhat = (x - mean)·invstd, dbeta = Σdy, dgamma = Σ dy·xhat,
 *   dx = gamma·invstd·(dy - dbeta/n - xhat·dgamma/n)
 * evaluated as dx = A·dy + B·(x - mean) + D with per-channel A, B, D. dgamma/dbeta overwritten.
 */
export function batchNormBackwardF32(
  dy: usize, x: usize, gamma: usize, saveMean: usize, saveInvStd: usize, dx: usize, dgamma: usize, dbeta: usize,
  N: i32, C: i32, HW: i32, out: usize, beta: usize, affine: usize, start: i32, end: i32,
): void {
  const count = <f64>(N * HW);
  const relu = affine != 0; // a fused ReLU, its mask recomputed from x (see gradAt); else read from out if given
  let c = start;
  if (HW == 1) {
    const row = <usize>C << 2;
    for (; c + 4 <= end; c += 4) {
      const m = v128.load(at(saveMean, c));
      const ml = relu ? v128.load(at(affine, c)) : m, ma = relu ? v128.load(at(affine, C + c)) : m;
      const mb = beta == 0 ? f32x4.splat(0) : v128.load(at(beta, c));
      const m0 = f64x2.promote_low_f32x4(m), m1 = f64x2.promote_low_f32x4(i32x4.shuffle(m, m, 2, 3, 2, 3));
      let s0 = f64x2.splat(0), s1 = f64x2.splat(0), t0 = f64x2.splat(0), t1 = f64x2.splat(0);
      let p = at(x, c), g = at(dy, c);
      for (let n = 0; n < N; n++, p += row, g += row) {
        const gv = gradAt(g, dy, x, relu, m, ml, ma, mb, out);
        const g0 = f64x2.promote_low_f32x4(gv), g1 = f64x2.promote_low_f32x4(i32x4.shuffle(gv, gv, 2, 3, 2, 3));
        s0 = f64x2.add(s0, g0);
        s1 = f64x2.add(s1, g1);
        t0 = f64x2.add(t0, f64x2.mul(g0, f64x2.sub(lo2(p), m0)));
        t1 = f64x2.add(t1, f64x2.mul(g1, f64x2.sub(hi2(p), m1)));
      }
      const is = v128.load(at(saveInvStd, c));
      const i0 = f64x2.promote_low_f32x4(is), i1 = f64x2.promote_low_f32x4(i32x4.shuffle(is, is, 2, 3, 2, 3));
      const gm = gamma == 0 ? f32x4.splat(1) : v128.load(at(gamma, c));
      const gm0 = f64x2.promote_low_f32x4(gm), gm1 = f64x2.promote_low_f32x4(i32x4.shuffle(gm, gm, 2, 3, 2, 3));
      const vn = f64x2.splat(1.0 / count);
      const A0 = f64x2.mul(gm0, i0), A1 = f64x2.mul(gm1, i1);
      const B0 = f64x2.neg(f64x2.mul(f64x2.mul(A0, f64x2.mul(i0, i0)), f64x2.mul(t0, vn)));
      const B1 = f64x2.neg(f64x2.mul(f64x2.mul(A1, f64x2.mul(i1, i1)), f64x2.mul(t1, vn)));
      const D0 = f64x2.neg(f64x2.mul(A0, f64x2.mul(s0, vn))), D1 = f64x2.neg(f64x2.mul(A1, f64x2.mul(s1, vn)));
      const A = f32x4.shuffle(f32x4.demote_f64x2_zero(A0), f32x4.demote_f64x2_zero(A1), 0, 1, 4, 5);
      const B = f32x4.shuffle(f32x4.demote_f64x2_zero(B0), f32x4.demote_f64x2_zero(B1), 0, 1, 4, 5);
      const D = f32x4.shuffle(f32x4.demote_f64x2_zero(D0), f32x4.demote_f64x2_zero(D1), 0, 1, 4, 5);
      if (dgamma != 0) {
        v128.store(at(dgamma, c), f32x4.shuffle(f32x4.demote_f64x2_zero(f64x2.mul(t0, i0)), f32x4.demote_f64x2_zero(f64x2.mul(t1, i1)), 0, 1, 4, 5));
      }
      if (dbeta != 0) {
        v128.store(at(dbeta, c), f32x4.shuffle(f32x4.demote_f64x2_zero(s0), f32x4.demote_f64x2_zero(s1), 0, 1, 4, 5));
      }
      p = at(x, c);
      g = at(dy, c);
      let o = at(dx, c);
      for (let n = 0; n < N; n++, p += row, g += row, o += row) {
        const d = f32x4.sub(v128.load(p), m);
        v128.store(o, f32x4.add(f32x4.add(f32x4.mul(gradAt(g, dy, x, relu, m, ml, ma, mb, out), A), f32x4.mul(d, B)), D));
      }
    }
  }
  const plane = <usize>HW << 2;
  const stride = plane * <usize>C;
  for (; c < end; c++) {
    const mf = load<f32>(at(saveMean, c));
    const m = <f64>mf;
    const vm = f64x2.splat(m);
    const lo = relu ? load<f32>(at(affine, c)) : 0, sa = relu ? load<f32>(at(affine, C + c)) : 0, sb = param(beta, c, 0);
    const vh = f32x4.splat(mf), vl = f32x4.splat(lo), vsa = f32x4.splat(sa), vsb = f32x4.splat(sb);
    const off = plane * <usize>c;
    let s: f64 = 0, t: f64 = 0;
    for (let n = 0; n < N; n++) {
      const p = x + off + stride * <usize>n, g = dy + off + stride * <usize>n;
      let s0 = f64x2.splat(0), s1 = f64x2.splat(0), t0 = f64x2.splat(0), t1 = f64x2.splat(0);
      let i = 0;
      for (; i + 4 <= HW; i += 4) {
        const gv = gradAt(at(g, i), dy, x, relu, vh, vl, vsa, vsb, out), pq = at(p, i);
        const g0 = f64x2.promote_low_f32x4(gv), g1 = f64x2.promote_low_f32x4(i32x4.shuffle(gv, gv, 2, 3, 2, 3));
        s0 = f64x2.add(s0, g0);
        s1 = f64x2.add(s1, g1);
        t0 = f64x2.add(t0, f64x2.mul(g0, f64x2.sub(lo2(pq), vm)));
        t1 = f64x2.add(t1, f64x2.mul(g1, f64x2.sub(hi2(pq), vm)));
      }
      let ps = hsum(f64x2.add(s0, s1)), pt = hsum(f64x2.add(t0, t1));
      for (; i < HW; i++) {
        const gv = <f64>gradOne(at(g, i), dy, x, relu, mf, lo, sa, sb, out);
        ps += gv;
        pt += gv * (<f64>load<f32>(at(p, i)) - m);
      }
      s += ps;
      t += pt;
    }
    const istd = <f64>load<f32>(at(saveInvStd, c));
    const A = <f64>param(gamma, c, 1) * istd;
    const B = <f32>(-A * istd * istd * t / count);
    const D = <f32>(-A * s / count);
    const Af = <f32>A;
    if (dgamma != 0) store<f32>(at(dgamma, c), <f32>(t * istd));
    if (dbeta != 0) store<f32>(at(dbeta, c), <f32>s);
    const va = f32x4.splat(Af), vb = f32x4.splat(B), vd = f32x4.splat(D), vmf = f32x4.splat(mf);
    for (let n = 0; n < N; n++) {
      const p = x + off + stride * <usize>n, g = dy + off + stride * <usize>n, o = dx + off + stride * <usize>n;
      let i = 0;
      for (; i + 4 <= HW; i += 4) {
        const d = f32x4.sub(v128.load(at(p, i)), vmf);
        v128.store(at(o, i), f32x4.add(f32x4.add(f32x4.mul(gradAt(at(g, i), dy, x, relu, vh, vl, vsa, vsb, out), va), f32x4.mul(d, vb)), vd));
      }
      for (; i < HW; i++) {
        const d = load<f32>(at(p, i)) - mf;
        store<f32>(at(o, i), (gradOne(at(g, i), dy, x, relu, mf, lo, sa, sb, out) * Af + d * B) + D);
      }
    }
  }
}
