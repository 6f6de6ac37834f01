import { after, test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import * as fast from "../src/kernels/batchnorm.js";
import * as ref from "../src/kernels/reference/batchnorm.js";
import { reluBackward, reluForward } from "../src/kernels/elementwise.js";
import { rng } from "./random.js";
import { assertNear } from "./close.js";
import { WasmBuffers } from "./wasm-buffers.js";

const rt = initRuntime({ threads: 2 });
after(() => rt.close());

const buffers = new WasmBuffers(rt);
const f32 = (n: number) => buffers.f32(n);
const freeAll = () => buffers.freeAll();
function copyOf(a: Float32Array): Float32Array {
  const b = f32(a.length);
  b.set(a);
  return b;
}

interface Case {
  N: number;
  C: number;
  HW: number;
  x: Float32Array;
  gamma: Float32Array | null;
  beta: Float32Array | null;
}

/** x with a per-channel offset (up to ±3000) and spread (0.01 … 30): AdderNet-like inputs too. */
function randomCase(r: () => number): Case {
  const N = 1 + Math.floor(r() * 6);
  const C = 1 + Math.floor(r() * 11);
  let HW = r() < 0.4 ? 1 : 1 + Math.floor(r() * (r() < 0.5 ? 8 : 60));
  if (N * HW < 2) HW = 2;
  const x = f32(N * C * HW);
  for (let c = 0; c < C; c++) {
    const offset = r() < 0.3 ? -3000 * r() : (r() - 0.5) * 4;
    const spread = 0.01 * Math.exp(r() * 8);
    for (let n = 0; n < N; n++) for (let s = 0; s < HW; s++) x[(n * C + c) * HW + s] = offset + spread * (r() - 0.5);
  }
  const affine = r() < 0.85;
  const gamma = affine ? f32(C) : null, beta = affine ? f32(C) : null;
  if (gamma && beta) for (let c = 0; c < C; c++) { gamma[c] = (r() - 0.3) * 3; beta[c] = (r() - 0.5) * 2; }
  return { N, C, HW, x, gamma, beta };
}

const CASES = 250;

test("forward (train) matches the reference: y, saved stats, running stats", () => {
  const r = rng(21);
  for (let t = 0; t < CASES; t++) {
    const { N, C, HW, x, gamma, beta } = randomCase(r);
    const n = N * C * HW;
    const y1 = f32(n), y2 = f32(n), m1 = f32(C), m2 = f32(C), s1 = f32(C), s2 = f32(C);
    const rm = f32(C), rv = f32(C);
    for (let c = 0; c < C; c++) { rm[c] = r() - 0.5; rv[c] = 0.5 + r(); }
    const rm1 = copyOf(rm), rm2 = copyOf(rm), rv1 = copyOf(rv), rv2 = copyOf(rv);
    const track = r() < 0.9;
    const momentum = r() < 0.5 ? 0.1 : r(), eps = r() < 0.5 ? 1e-5 : 1e-3 * r();
    fast.batchNormForwardTrain(x, gamma, beta, y1, m1, s1, track ? rm1 : null, track ? rv1 : null, N, C, HW, momentum, eps);
    ref.batchNormForwardTrain(x, gamma, beta, y2, m2, s2, track ? rm2 : null, track ? rv2 : null, N, C, HW, momentum, eps);
    const what = `case ${t} N=${N} C=${C} HW=${HW}`;
    for (let c = 0; c < C; c++) {
      assertNear(m1[c], m2[c], 1.2e-7 * Math.abs(m2[c]), `${what} saveMean[${c}]`);
      assertNear(s1[c], s2[c], 1.2e-7 * Math.abs(s2[c]), `${what} saveInvStd[${c}]`);
      assertNear(rm1[c], rm2[c], 1.2e-7 * (Math.abs(rm2[c]) + Math.abs(m2[c])), `${what} runningMean[${c}]`);
      assertNear(rv1[c], rv2[c], 1.2e-7 * Math.abs(rv2[c]) + 1e-30, `${what} runningVar[${c}]`);
      const b = beta ? beta[c] : 0;
      for (let k = 0; k < N; k++) {
        for (let s = 0; s < HW; s++) {
          const i = (k * C + c) * HW + s;
          const mag = Math.abs(y2[i] - b) + Math.abs(b);
          assertNear(y1[i], y2[i], 1e-6 * mag + 1e-30, `${what} y[${i}]`);
        }
      }
    }
    if (!track) assert.deepEqual(rm1, rm);
    freeAll();
  }
});

test("forward (eval) matches the reference", () => {
  const r = rng(22);
  for (let t = 0; t < CASES; t++) {
    const { N, C, HW, x, gamma, beta } = randomCase(r);
    const n = N * C * HW;
    const rm = f32(C), rv = f32(C);
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let k = 0; k < N; k++) s += x[k * C * HW + c * HW];
      rm[c] = s / N + (r() - 0.5);
      rv[c] = 0.01 + 10 * r();
    }
    const y1 = f32(n), y2 = f32(n);
    fast.batchNormForwardEval(x, gamma, beta, rm, rv, y1, N, C, HW, 1e-5);
    ref.batchNormForwardEval(x, gamma, beta, rm, rv, y2, N, C, HW, 1e-5);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / HW) % C;
      const g = gamma ? gamma[c] : 1, b = beta ? beta[c] : 0;
      const mag = Math.abs(x[i] - rm[c]) * Math.abs(g) / Math.sqrt(rv[c] + 1e-5) + Math.abs(b);
      assertNear(y1[i], y2[i], 1e-6 * mag + 1e-30, `case ${t} N=${N} C=${C} HW=${HW} y[${i}]`);
    }
    freeAll();
  }
});

test("backward matches the reference", () => {
  const r = rng(23);
  for (let t = 0; t < CASES; t++) {
    const { N, C, HW, x, gamma, beta } = randomCase(r);
    const n = N * C * HW, count = N * HW;
    const y = f32(n), mean = f32(C), invstd = f32(C);
    ref.batchNormForwardTrain(x, gamma, beta, y, mean, invstd, null, null, N, C, HW, 0.1, 1e-5);
    const dy = f32(n);
    for (let i = 0; i < n; i++) dy[i] = r() - 0.5 + (r() < 0.3 ? 0.5 : 0);
    const dx1 = f32(n), dx2 = f32(n), dg1 = f32(C), dg2 = f32(C), db1 = f32(C), db2 = f32(C);
    const grads = r() < 0.85;
    fast.batchNormBackward(dy, x, gamma, mean, invstd, dx1, grads ? dg1 : null, grads ? db1 : null, N, C, HW);
    ref.batchNormBackward(dy, x, gamma, mean, invstd, dx2, dg2, db2, N, C, HW);
    const what = `case ${t} N=${N} C=${C} HW=${HW}`;
    for (let c = 0; c < C; c++) {
      let sAbs = 0, tAbs = 0;
      for (let k = 0; k < N; k++) {
        for (let s = 0; s < HW; s++) {
          const i = (k * C + c) * HW + s;
          sAbs += Math.abs(dy[i]);
          tAbs += Math.abs(dy[i] * (x[i] - mean[c]) * invstd[c]);
        }
      }
      if (grads) {
        assertNear(dg1[c], dg2[c], 1e-6 * tAbs + 1e-30, `${what} dgamma[${c}]`);
        assertNear(db1[c], db2[c], 1e-6 * sAbs + 1e-30, `${what} dbeta[${c}]`);
      }
      const a = Math.abs((gamma ? gamma[c] : 1) * invstd[c]);
      for (let k = 0; k < N; k++) {
        for (let s = 0; s < HW; s++) {
          const i = (k * C + c) * HW + s;
          const xhat = Math.abs((x[i] - mean[c]) * invstd[c]);
          const mag = a * (Math.abs(dy[i]) + sAbs / count + xhat * tAbs / count);
          assertNear(dx1[i], dx2[i], 2e-6 * mag + 1e-30, `${what} dx[${i}]`);
        }
      }
    }
    freeAll();
  }
});

test("variance of AdderNet-like inputs (x ≈ -3000 ± 5) is accurate", () => {
  const r = rng(24);
  for (const [N, C, HW] of [[64, 3, 49], [256, 8, 1], [7, 5, 3]]) {
    const n = N * C * HW;
    const x = f32(n);
    for (let i = 0; i < n; i++) x[i] = -3000 + 10 * (r() - 0.5);
    const y = f32(n), mean = f32(C), invstd = f32(C), rm = f32(C).fill(0), rv = f32(C).fill(1);
    fast.batchNormForwardTrain(x, null, null, y, mean, invstd, rm, rv, N, C, HW, 1, 0);
    for (let c = 0; c < C; c++) {
      let s = 0, q = 0;
      for (let k = 0; k < N; k++) for (let j = 0; j < HW; j++) s += x[(k * C + c) * HW + j];
      const m = s / (N * HW);
      for (let k = 0; k < N; k++) for (let j = 0; j < HW; j++) q += (x[(k * C + c) * HW + j] - m) ** 2;
      const v = q / (N * HW);
      assertNear(mean[c], m, 1.2e-7 * 3000, `N=${N} C=${C} HW=${HW} mean[${c}]`);
      assertNear(1 / invstd[c] ** 2, v, 1e-6 * v, `N=${N} C=${C} HW=${HW} variance[${c}]`);
      assertNear(rv[c], (v * (N * HW)) / (N * HW - 1), 1e-6 * v, `unbiased running variance[${c}]`);
      // the normalised output has mean 0 and variance 1 to f32 precision
      let ys = 0, yq = 0;
      for (let k = 0; k < N; k++) for (let j = 0; j < HW; j++) ys += y[(k * C + c) * HW + j];
      for (let k = 0; k < N; k++) for (let j = 0; j < HW; j++) yq += y[(k * C + c) * HW + j] ** 2;
      assertNear(ys / (N * HW), 0, 1e-5, `output mean[${c}]`);
      assertNear(yq / (N * HW), 1, 1e-5, `output variance[${c}]`);
    }
    freeAll();
  }
});

test("hard statistics: an outlier first, a constant channel", () => {
  const N = 64, C = 2, HW = 30, n = N * C * HW;
  const r = rng(26);
  const x = f32(n);
  for (let i = 0; i < n; i++) x[i] = Math.floor(i / HW) % C === 0 ? 1e-2 * (r() - 0.5) : -1234.5;
  x[0] = 1e4; // the first element of channel 0, which the shift is computed from
  const y = f32(n), mean = f32(C), invstd = f32(C), y2 = f32(n), mean2 = f32(C), invstd2 = f32(C);
  const beta = f32(C).fill(0.25), gamma = f32(C).fill(2);
  fast.batchNormForwardTrain(x, gamma, beta, y, mean, invstd, null, null, N, C, HW, 0.1, 1e-5);
  ref.batchNormForwardTrain(x, gamma, beta, y2, mean2, invstd2, null, null, N, C, HW, 0.1, 1e-5);
  assertNear(mean[0], mean2[0], 1.2e-7 * Math.abs(mean2[0]), "outlier mean");
  assertNear(invstd[0], invstd2[0], 1.2e-7 * invstd2[0], "outlier invstd");
  assert.equal(mean[1], -1234.5);
  assertNear(invstd[1], 1 / Math.sqrt(1e-5), 1e-3, "constant channel invstd");
  for (let k = 0; k < N; k++) for (let j = 0; j < HW; j++) assert.equal(y[(k * C + 1) * HW + j], 0.25);
  freeAll();
});

/** f64 forward for finite differences: L = Σ w·y. */
function lossF64(x: Float64Array, gamma: Float64Array, beta: Float64Array, w: Float64Array, N: number, C: number, HW: number, eps: number): number {
  let L = 0;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < HW; k++) s += x[(n * C + c) * HW + k];
    const m = s / (N * HW);
    let q = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < HW; k++) q += (x[(n * C + c) * HW + k] - m) ** 2;
    const istd = 1 / Math.sqrt(q / (N * HW) + eps);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < HW; k++) {
        const i = (n * C + c) * HW + k;
        L += w[i] * ((x[i] - m) * istd * gamma[c] + beta[c]);
      }
    }
  }
  return L;
}

test("reference backward agrees with central finite differences (f64)", () => {
  const r = rng(25);
  const eps = 1e-5, h = 1e-5;
  for (const [N, C, HW] of [[3, 2, 1], [2, 3, 4], [1, 2, 5], [4, 1, 3], [5, 3, 1]]) {
    const n = N * C * HW;
    const x = f32(n), gamma = f32(C), beta = f32(C), dy = f32(n);
    for (let i = 0; i < n; i++) { x[i] = r() * 2 - 1; dy[i] = r() - 0.5; }
    for (let c = 0; c < C; c++) { gamma[c] = 0.5 + r(); beta[c] = r() - 0.5; }
    const y = f32(n), mean = f32(C), invstd = f32(C), dx = f32(n), dg = f32(C), db = f32(C);
    ref.batchNormForwardTrain(x, gamma, beta, y, mean, invstd, null, null, N, C, HW, 0.1, eps);
    ref.batchNormBackward(dy, x, gamma, mean, invstd, dx, dg, db, N, C, HW);
    const X = Float64Array.from(x), G = Float64Array.from(gamma), B = Float64Array.from(beta), Wt = Float64Array.from(dy);
    const fd = (arr: Float64Array, i: number): number => {
      const v = arr[i];
      arr[i] = v + h;
      const lp = lossF64(X, G, B, Wt, N, C, HW, eps);
      arr[i] = v - h;
      const lm = lossF64(X, G, B, Wt, N, C, HW, eps);
      arr[i] = v;
      return (lp - lm) / (2 * h);
    };
    const what = `N=${N} C=${C} HW=${HW}`;
    let scale = 0;
    for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(dx[i]));
    for (let i = 0; i < n; i++) assertNear(dx[i], fd(X, i), 1e-5 * (scale + 1), `${what} dx[${i}]`);
    for (let c = 0; c < C; c++) {
      assertNear(dg[c], fd(G, c), 1e-5 * (Math.abs(dg[c]) + 1), `${what} dgamma[${c}]`);
      assertNear(db[c], fd(B, c), 1e-5 * (Math.abs(db[c]) + 1), `${what} dbeta[${c}]`);
    }
    freeAll();
  }
});

test("bad input gets a clear error", () => {
  const x = f32(6), c3 = f32(3), c2 = f32(2);
  assert.throws(() => fast.batchNormForwardTrain(x, null, null, x, c3, c3, null, null, 1, 6, 1), /more than one value per channel/);
  assert.throws(() => fast.batchNormForwardTrain(x, c2, null, x, c3, c3, null, null, 2, 3, 1), /gamma has 2 elements, expected 3/);
  assert.throws(() => fast.batchNormForwardEval(x, null, null, c3, c3, f32(5), 2, 3, 1), /y has 5 elements, expected 6/);
  assert.throws(() => fast.batchNormBackward(x, x, null, c3, c2, x, null, null, 2, 3, 1), /saveInvStd has 2 elements/);
  assert.throws(() => fast.batchNormForwardTrain(x, null, null, x, c3, c3, null, null, 2, 3, 1, 0.1, 1e-5, true, f32(3)), /affine has 3 elements, expected 6/);
  assert.throws(() => fast.batchNormBackward(x, x, null, c3, c3, x, null, null, 2, 3, 1, null, { affine: f32(6), beta: null }), /mask is given without reluOut/);
  assert.throws(() => fast.batchNormBackward(x, x, null, c3, c3, x, null, null, 2, 3, 1, x, { affine: f32(5), beta: null }), /mask.affine has 5 elements, expected 6/);
  freeAll();
});

test("1 and 2 threads give bit-identical results", () => {
  const shapes = [[256, 6, 28 * 28], [256, 16, 10 * 10], [256, 120, 1], [256, 84, 1], [31, 7, 33], [1000, 13, 1]];
  const run = () => {
    const outs: number[][] = [];
    for (const [N, C, HW] of shapes) {
      const rr = rng(N * C * HW);
      const n = N * C * HW;
      const x = f32(n), dy = f32(n), gamma = f32(C), beta = f32(C);
      for (let i = 0; i < n; i++) { x[i] = -1000 + 20 * rr(); dy[i] = rr() - 0.5; }
      for (let c = 0; c < C; c++) { gamma[c] = rr() + 0.5; beta[c] = rr() - 0.5; }
      const y = f32(n), m = f32(C), s = f32(C), rm = f32(C).fill(0), rv = f32(C).fill(1), ye = f32(n);
      const dx = f32(n), dg = f32(C), db = f32(C);
      fast.batchNormForwardTrain(x, gamma, beta, y, m, s, rm, rv, N, C, HW, 0.1, 1e-5);
      fast.batchNormForwardEval(x, gamma, beta, rm, rv, ye, N, C, HW, 1e-5);
      fast.batchNormBackward(dy, x, gamma, m, s, dx, dg, db, N, C, HW);
      for (const v of [y, m, s, rm, rv, ye, dx, dg, db]) outs.push(Array.from(v));
      freeAll();
    }
    return outs;
  };
  const two = run();
  rt.setThreads(1);
  const one = run();
  rt.setThreads(2);
  for (let i = 0; i < two.length; i++) {
    for (let j = 0; j < two[i].length; j++) {
      if (!Object.is(two[i][j], one[i][j])) assert.fail(`output ${i}[${j}]: 2 threads ${two[i][j]}, 1 thread ${one[i][j]}`);
    }
  }
});

test("the ReLU inside BatchNorm gives the bits of BatchNorm then ReLU, forward and backward (1 and 2 threads)", () => {
  const r = rng(33);
  let exactZeroCases = 0; // cases whose outputs before the ReLU include an exact +0
  try {
    for (const threads of [2, 1]) {
      rt.setThreads(threads);
      for (let t = 0; t < 120; t++) {
        const { N, C, HW, x, gamma, beta } = randomCase(r);
        const n = N * C * HW;
        // unfused: BatchNorm, then reluForward; backward: reluBackward, then BatchNorm's
        const y = f32(n), z = f32(n), mean = f32(C), invstd = f32(C);
        fast.batchNormForwardTrain(x, gamma, beta, y, mean, invstd, null, null, N, C, HW);
        reluForward(y, z);
        // fused
        const yf = f32(n), meanF = f32(C), invstdF = f32(C), affine = f32(2 * C);
        fast.batchNormForwardTrain(x, gamma, beta, yf, meanF, invstdF, null, null, N, C, HW, 0.1, 1e-5, true, affine);
        assert.deepEqual(yf, z, `forward, case ${t}, ${threads} thread(s)`);
        assert.deepEqual([meanF, invstdF], [mean, invstd]);
        // every fourth case: outputs exactly 0 before the ReLU (x at an exact mean, beta 0), which
        // the recomputed mask must mask as reluBackward does (y > 0, not y ≥ 0)
        if (t % 4 === 3 && beta) {
          beta.fill(0);
          for (let c = 0; c < C; c++) {
            for (let k = 0; k < N * HW; k++) x[Math.floor(k / HW) * C * HW + c * HW + (k % HW)] = c + 0.5 + (k === 0 ? -0.25 : k === 1 ? 0.25 : 0);
          }
          fast.batchNormForwardTrain(x, gamma, beta, y, mean, invstd, null, null, N, C, HW);
          reluForward(y, z);
          fast.batchNormForwardTrain(x, gamma, beta, yf, meanF, invstdF, null, null, N, C, HW, 0.1, 1e-5, true, affine);
          assert.deepEqual(yf, z);
          if (y.some((v) => Object.is(v, 0))) exactZeroCases++;
        }
        const dz = f32(n);
        for (let i = 0; i < n; i++) dz[i] = (r() - 0.5) * 4;
        const dy = f32(n), dx = f32(n), dg = f32(C), db = f32(C);
        reluBackward(dz, z, dy);
        fast.batchNormBackward(dy, x, gamma, mean, invstd, dx, dg, db, N, C, HW);
        const dxF = f32(n), dgF = f32(C), dbF = f32(C);
        fast.batchNormBackward(dz, x, gamma, mean, invstd, dxF, dgF, dbF, N, C, HW, yf);
        assert.deepEqual([dxF, dgF, dbF], [dx, dg, db], `backward, case ${t}, ${threads} thread(s)`);
        // the mask recomputed from x and the forward's affine constants: the same bits, and the
        // output is not read (NaN there would leak into the mask if it were)
        const dxM = f32(n), dgM = f32(C), dbM = f32(C);
        fast.batchNormBackward(dz, x, gamma, mean, invstd, dxM, dgM, dbM, N, C, HW, f32(n).fill(NaN), { affine, beta });
        assert.deepEqual([dxM, dgM, dbM], [dx, dg, db], `backward with the recomputed mask, case ${t}, ${threads} thread(s)`);
        // the reference kernels take the same flags, with the same meaning
        const yr = f32(n), yr2 = f32(n), mr = f32(C), sr = f32(C);
        ref.batchNormForwardTrain(x, gamma, beta, yr, mr, sr, null, null, N, C, HW);
        const affineR = f32(2 * C);
        ref.batchNormForwardTrain(x, gamma, beta, yr2, f32(C), f32(C), null, null, N, C, HW, 0.1, 1e-5, true, affineR);
        for (let c = 0; c < C; c++) {
          // the reference's mean_lo and scale: the fast kernel's within f32 rounding of its statistics
          assert.ok(Math.abs(affineR[c] - affine[c]) <= 1e-6 * (1 + Math.abs(mean[c])), `mean_lo of channel ${c}: ${affine[c]}, reference ${affineR[c]}`);
          assert.ok(Math.abs(affineR[C + c] - affine[C + c]) <= 1e-4 * Math.abs(affineR[C + c]) + 1e-6, `scale of channel ${c}: ${affine[C + c]}, reference ${affineR[C + c]}`);
        }
        assert.deepEqual(yr2, yr.map((v) => Math.max(v, 0)), `reference forward, case ${t}`);
        const masked = dz.map((g, i) => (yr2[i] > 0 ? g : 0));
        const dxr = f32(n), dxr2 = f32(n), dgr = f32(C), dgr2 = f32(C), dbr = f32(C), dbr2 = f32(C);
        ref.batchNormBackward(masked, x, gamma, mr, sr, dxr, dgr, dbr, N, C, HW);
        ref.batchNormBackward(dz, x, gamma, mr, sr, dxr2, dgr2, dbr2, N, C, HW, yr2);
        assert.deepEqual([dxr2, dgr2, dbr2], [dxr, dgr, dbr], `reference backward, case ${t}`);
        freeAll();
      }
    }
    assert.ok(exactZeroCases >= 10, `only ${exactZeroCases} cases had outputs of exactly 0 before the ReLU`);
  } finally {
    rt.setThreads(2);
  }
});
