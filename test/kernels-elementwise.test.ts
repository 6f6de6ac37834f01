import { after, test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import * as fast from "../src/kernels/elementwise.js";
import * as ref from "../src/kernels/reference/elementwise.js";
import { rng } from "./random.js";
import { WasmBuffers } from "./wasm-buffers.js";

const rt = initRuntime({ threads: 2 });
after(() => rt.close());


const buffers = new WasmBuffers(rt);
const f32 = (n: number) => buffers.f32(n);
const u8 = (n: number) => buffers.u8(n);
const freeAll = () => buffers.freeAll();

/** Random length: small and odd sizes often, sometimes a few thousand. */
function randLen(r: () => number): number {
  const u = r();
  if (u < 0.3) return Math.floor(r() * 9);
  if (u < 0.8) return Math.floor(r() * 200);
  return Math.floor(r() * 5000);
}

/** Normal-ish values with a sprinkle of zeros, -0, integers (ties) and, when asked, NaN/±inf. */
function fillRandom(a: Float32Array, r: () => number, specials = false): Float32Array {
  for (let i = 0; i < a.length; i++) {
    const u = r();
    if (u < 0.05) a[i] = 0;
    else if (u < 0.08) a[i] = -0;
    else if (u < 0.15) a[i] = Math.floor(r() * 7) - 3;
    else if (specials && u < 0.17) a[i] = NaN;
    else if (specials && u < 0.19) a[i] = r() < 0.5 ? Infinity : -Infinity;
    else a[i] = (r() - 0.5) * 8 * Math.exp(r() * 4 - 2);
  }
  return a;
}

function copyOf(a: Float32Array): Float32Array {
  const b = f32(a.length);
  b.set(a);
  return b;
}

/** Bitwise-level equality (NaNs equal each other, -0 differs from +0). */
function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    if (!(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)))) assert.fail(`${what}: [${i}] got ${g}, want ${w}`);
  }
}

const CASES = 240;

test("maps (add, sub, mul, axpy, scale, fill, copy, relu, hardtanh) equal the reference exactly", () => {
  const r = rng(1);
  for (let t = 0; t < CASES; t++) {
    const n = randLen(r);
    const a = fillRandom(f32(n), r, true), b = fillRandom(f32(n), r, true);
    const o1 = f32(n), o2 = f32(n);
    const what = (k: string) => `case ${t} n=${n} ${k}`;
    for (const k of ["add", "sub", "mul"] as const) {
      fast[k](a, b, o1);
      ref[k](a, b, o2);
      assertSame(o1, o2, what(k));
    }
    const alpha = (r() - 0.5) * 10;
    const y1 = copyOf(b), y2 = copyOf(b);
    fast.axpy(alpha, a, y1);
    ref.axpy(alpha, a, y2);
    assertSame(y1, y2, what("axpy"));
    fast.addScaled(y1, a, -alpha);
    ref.addScaled(y2, a, -alpha);
    assertSame(y1, y2, what("addScaled"));
    fast.scale(alpha, a, o1);
    ref.scale(alpha, a, o2);
    assertSame(o1, o2, what("scale"));
    fast.fill(o1, alpha);
    ref.fill(o2, alpha);
    assertSame(o1, o2, what("fill"));
    fast.copy(a, o1);
    assertSame(o1, a, what("copy"));
    fast.reluForward(a, o1);
    ref.reluForward(a, o2);
    assertSame(o1, o2, what("reluForward"));
    fast.reluBackward(b, a, o1);
    ref.reluBackward(b, a, o2);
    assertSame(o1, o2, what("reluBackward"));
    const lo = -r() * 3, hi = lo + r() * 4;
    fast.hardtanhForward(a, o1, lo, hi);
    ref.hardtanhForward(a, o2, lo, hi);
    assertSame(o1, o2, what("hardtanhForward"));
    fast.hardtanhBackward(b, a, o1, lo, hi);
    ref.hardtanhBackward(b, a, o2, lo, hi);
    assertSame(o1, o2, what("hardtanhBackward"));
    // in place
    const z = copyOf(a);
    fast.reluForward(z, z);
    ref.reluForward(a, o2);
    assertSame(z, o2, what("reluForward in place"));
    freeAll();
  }
});

test("relu semantics: NaN propagates, -0 becomes +0, gradient is 0 at x <= 0", () => {
  const x = f32(6), y = f32(6), dy = f32(6), dx = f32(6);
  x.set([NaN, -0, 0, -1, 2, Infinity]);
  dy.fill(5);
  fast.reluForward(x, y);
  assert.ok(Number.isNaN(y[0]));
  assert.ok(Object.is(y[1], 0) && Object.is(y[2], 0));
  assert.deepEqual(Array.from(y.subarray(3)), [0, 2, Infinity]);
  fast.reluBackward(dy, x, dx);
  assert.deepEqual(Array.from(dx), [0, 0, 0, 0, 5, 5]);
  freeAll();
});

test("addChannelBias equals the reference exactly; sumChannels within f64 rounding", () => {
  const r = rng(2);
  for (let t = 0; t < CASES; t++) {
    const N = 1 + Math.floor(r() * 5), C = 1 + Math.floor(r() * 13);
    const HW = r() < 0.35 ? 1 : 1 + Math.floor(r() * (r() < 0.5 ? 9 : 120));
    const n = N * C * HW;
    const y = fillRandom(f32(n), r), bias = fillRandom(f32(C), r);
    const y1 = copyOf(y), y2 = copyOf(y);
    fast.addChannelBias(y1, bias, N, C, HW);
    ref.addChannelBias(y2, bias, N, C, HW);
    assertSame(y1, y2, `case ${t} addChannelBias N=${N} C=${C} HW=${HW}`);
    const s1 = f32(C), s2 = f32(C);
    fast.sumChannels(y, s1, N, C, HW);
    ref.sumChannels(y, s2, N, C, HW);
    for (let c = 0; c < C; c++) {
      let mag = 0;
      for (let k = 0; k < N; k++) for (let s = 0; s < HW; s++) mag += Math.abs(y[(k * C + c) * HW + s]);
      const tol = 1.2e-7 * Math.abs(s2[c]) + 1e-12 * mag;
      assert.ok(Math.abs(s1[c] - s2[c]) <= tol, `case ${t} sumChannels N=${N} C=${C} HW=${HW} c=${c}: ${s1[c]} vs ${s2[c]}`);
    }
    freeAll();
  }
});

test("sum and sumSquares match the f64 reference", () => {
  const r = rng(3);
  for (let t = 0; t < CASES; t++) {
    const n = r() < 0.2 ? Math.floor(r() * 30000) : randLen(r);
    const x = fillRandom(f32(n), r);
    let mag = 0, mag2 = 0;
    for (let i = 0; i < n; i++) {
      mag += Math.abs(x[i]);
      mag2 += x[i] * x[i];
    }
    const s = fast.sum(x), w = ref.sum(x);
    assert.ok(Math.abs(s - w) <= 1e-13 * mag, `case ${t} n=${n} sum ${s} vs ${w}`);
    const q = fast.sumSquares(x), wq = ref.sumSquares(x);
    assert.ok(Math.abs(q - wq) <= 1e-13 * mag2, `case ${t} n=${n} sumSquares ${q} vs ${wq}`);
  }
  freeAll();
  const e = f32(0);
  assert.equal(fast.sum(e), 0);
  assert.equal(fast.sumSquares(e), 0);
  freeAll();
});

test("dropout: fast equals the reference exactly, masks are counter-based and keep ~1-p", () => {
  const r = rng(4);
  for (let t = 0; t < CASES; t++) {
    const n = randLen(r);
    const u = r();
    const p = u < 0.05 ? 0 : u < 0.1 ? 1 : u < 0.2 ? 0.5 : r();
    const seed = Math.floor(r() * 2 ** 32), offset = r() < 0.3 ? 0 : Math.floor(r() * 2 ** 32);
    const x = fillRandom(f32(n), r, true);
    const m1 = u8(n), m2 = u8(n), y1 = f32(n), y2 = f32(n);
    fast.dropoutForward(x, m1, y1, p, seed, offset);
    ref.dropoutForward(x, m2, y2, p, seed, offset);
    const what = `case ${t} n=${n} p=${p} seed=${seed} offset=${offset}`;
    assertSame(m1, m2, `${what} mask`);
    assertSame(y1, y2, `${what} y`);
    const dy = fillRandom(f32(n), r, true), d1 = f32(n), d2 = f32(n);
    fast.dropoutBackward(dy, m1, d1, p);
    ref.dropoutBackward(dy, m1, d2, p);
    assertSame(d1, d2, `${what} dx`);
    // the mask of a suffix is the suffix of the mask when the offset advances with it
    if (n > 3) {
      const k = 1 + Math.floor(r() * (n - 1));
      const m3 = u8(n - k), y3 = f32(n - k);
      fast.dropoutForward(x.subarray(k), m3, y3, p, seed, offset + k);
      assertSame(m3, m1.subarray(k), `${what} suffix mask k=${k}`);
    }
    freeAll();
  }
  // keep rate and independence from the seed
  const n = 200000;
  const x = f32(n).fill(1), m = u8(n), y = f32(n), m2 = u8(n);
  for (const p of [0.1, 0.5, 0.9]) {
    fast.dropoutForward(x, m, y, p, 12345, 0);
    let kept = 0;
    for (let i = 0; i < n; i++) kept += m[i];
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(Math.abs(kept - n * (1 - p)) < 5 * sd, `p=${p}: kept ${kept} of ${n}`);
    assert.equal(y[m.indexOf(1)], Math.fround(1 / (1 - p)));
    fast.dropoutForward(x, m2, y, p, 12346, 0);
    let same = 0;
    for (let i = 0; i < n; i++) same += m[i] === m2[i] ? 1 : 0;
    const expect = n * (p * p + (1 - p) * (1 - p));
    assert.ok(Math.abs(same - expect) < 5 * Math.sqrt(n), `p=${p}: seeds 12345 and 12346 agree on ${same} (expect ~${expect})`);
  }
  freeAll();
});

test("bad input gets a clear error", () => {
  const a = f32(5), b = f32(6);
  assert.throws(() => fast.add(a, b, a), /add: b has 6 elements, expected 5/);
  assert.throws(() => fast.add(new Float32Array(5), a, a), /add: a must be a view into the kernel memory/);
  assert.throws(() => fast.addChannelBias(a, b, 1, 5, 1), /addChannelBias: bias has 6 elements, expected 5/);
  assert.throws(() => fast.sumChannels(a, a, 1, 0, 5), /sumChannels: C must be a positive integer/);
  assert.throws(() => fast.dropoutForward(a, u8(5), a, 1.5, 1), /p must be in \[0, 1\]/);
  assert.throws(() => fast.hardtanhForward(a, a, 1, -1), /need lo <= hi/);
  assert.throws(() => fast.copy(b.subarray(0, 5), b.subarray(1, 6)), /overlap/);
  freeAll();
});

test("1 and 2 threads give bit-identical results", () => {
  const r = rng(5);
  const n = 300007, N = 64, C = 6, HW = 28 * 28 - 3;
  const a = fillRandom(f32(n), r, true), b = fillRandom(f32(n), r, true);
  const big = fillRandom(f32(N * C * HW), r), bias = fillRandom(f32(C), r);
  const lin = fillRandom(f32(4096 * 120), r), linBias = fillRandom(f32(120), r);
  const run = () => {
    const outs: ArrayLike<number>[] = [];
    const o = () => {
      const v = f32(n);
      outs.push(v);
      return v;
    };
    fast.add(a, b, o());
    fast.sub(a, b, o());
    fast.mul(a, b, o());
    const y = copyOf(b);
    fast.axpy(0.37, a, y);
    outs.push(y);
    fast.scale(-1.5, a, o());
    fast.reluForward(a, o());
    fast.reluBackward(b, a, o());
    fast.hardtanhForward(a, o(), -1, 1);
    fast.hardtanhBackward(b, a, o(), -1, 1);
    const m = u8(n);
    fast.dropoutForward(a, m, o(), 0.3, 99, 7);
    outs.push(m);
    fast.dropoutBackward(b, m, o(), 0.3);
    const yb = copyOf(big);
    fast.addChannelBias(yb, bias, N, C, HW);
    outs.push(yb);
    const yl = copyOf(lin);
    fast.addChannelBias(yl, linBias, 4096, 120, 1);
    outs.push(yl);
    const s = f32(C);
    fast.sumChannels(big, s, N, C, HW);
    outs.push(s);
    const sl = f32(120);
    fast.sumChannels(lin, sl, 4096, 120, 1);
    outs.push(sl);
    outs.push([fast.sum(a), fast.sumSquares(a), fast.sum(big), fast.sumSquares(big)]);
    return outs.map((v) => Array.from(v));
  };
  const two = run();
  rt.setThreads(1);
  const one = run();
  rt.setThreads(2);
  assert.equal(two.length, one.length);
  for (let i = 0; i < two.length; i++) assertSame(two[i], one[i], `output ${i}`);
  freeAll();
});
