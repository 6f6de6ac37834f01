// The int8 deployment kernels (src/kernels/int8.ts) against the reference loops (reference/int8.ts):
// exact equality on random shapes, fused == requantize ∘ unfused, 1 thread == 2 threads, the
// requantization's extremes, and clear errors for bad calls.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime, type Runtime } from "../src/kernels/runtime.js";
import { tuning } from "../src/kernels/gemm.js";
import { conv2dShape, type Conv2dShape } from "../src/kernels/conv2d.js";
import * as fast from "../src/kernels/int8.js";
import * as ref from "../src/kernels/reference/int8.js";
import { lanesRequant, u16Requant } from "../src/kernels/requant_u16.js";
import { rng } from "./random.js";
import { WasmBuffers } from "./wasm-buffers.js";

const SHAPES = 220;
/** Taps per shape (N·OH·OW·K·R) at most, so the reference loops stay fast. */
const MAX_TAPS = 120_000;

const int = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

/** A random conv geometry: groups (depthwise included), odd sizes, stride, padding, dilation; linear layers too. */
function randomShape(rand: () => number): Conv2dShape {
  for (;;) {
    const N = int(rand, 1, 3);
    if (rand() < 0.15) {
      // a linear layer: a 1×1 conv on a 1×1 image
      const I = int(rand, 1, 300), O = int(rand, 1, 20);
      return conv2dShape([N, I, 1, 1], [O, I, 1, 1]);
    }
    const r = rand();
    const groups = r < 0.6 ? 1 : r < 0.8 ? int(rand, 2, 3) : 0; // 0: depthwise
    const Cg = groups === 0 ? 1 : int(rand, 1, Math.floor(20 / groups));
    const G = groups === 0 ? int(rand, 1, 12) : groups;
    const C = Cg * G;
    const K = G * (groups === 0 ? int(rand, 1, 2) : int(rand, 1, Math.floor(20 / G)));
    const kh = int(rand, 1, 5), kw = int(rand, 1, 5);
    const stride = [int(rand, 1, 2), int(rand, 1, 2)] as [number, number];
    const padding = [int(rand, 0, 2), int(rand, 0, 2)] as [number, number];
    const dilation = [int(rand, 1, 2), int(rand, 1, 2)] as [number, number];
    const H = int(rand, Math.max(1, (kh - 1) * dilation[0] + 1 - 2 * padding[0]), 12);
    const W = int(rand, Math.max(1, (kw - 1) * dilation[1] + 1 - 2 * padding[1]), 12);
    let s: Conv2dShape;
    try {
      s = conv2dShape([N, C, H, W], [K, Cg, kh, kw], { stride, padding, dilation, groups: G });
    } catch {
      continue;
    }
    if (s.N * s.OH * s.OW * s.K * Cg * kh * kw <= MAX_TAPS) return s;
  }
}

/**
 * Requantization within the contract: |acc·2^biasBits + bias| < 2^31, |mult| < 2^21, shift in
 * [1, 52]. reach: the largest |accumulator| the parameters must take (biasBits leaves room for it in
 * int32). Half the channels are drawn across the whole contract, half as export writes them: a
 * 15-bit multiplier that maps about the accumulator's reach onto the u8 range, either sign.
 * allExport: every channel as export writes them (so whole layers can take the integer forms).
 */
function randomRequant(rand: () => number, K: number, reach = 2 ** 30, allExport = false): fast.RequantParams {
  const biasBits = Math.max(0, Math.min(pickOf(rand, [0, 0, 1, 8, 16]), Math.floor(Math.log2((2 ** 31 - 1 - 2 ** 20) / reach))));
  const shift = new Uint8Array(K), mult = new Int32Array(K), bias = new Int32Array(K);
  for (let k = 0; k < K; k++) {
    if (!allExport && rand() < 0.5) {
      shift[k] = rand() < 0.3 ? int(rand, 1, 52) : int(rand, 8, 24);
      mult[k] = int(rand, -(2 ** 21 - 1), 2 ** 21 - 1);
      bias[k] = int(rand, -(2 ** 20), 2 ** 20);
      continue;
    }
    // real multiplier per accumulator unit: 255 output steps over 0.2–5 times the reach
    const real = 255 / (reach * (0.2 + 4.8 * rand()));
    const e = Math.floor(Math.log2(real * 2 ** biasBits));
    shift[k] = Math.min(52, Math.max(1, 14 - e));
    mult[k] = Math.min(2 ** 15 - 1, Math.round(real * 2 ** (shift[k]! - biasBits))) * (rand() < 0.5 ? -1 : 1);
    bias[k] = Math.max(-(2 ** 20), Math.min(2 ** 20, Math.round(-rand() * reach * 2 ** biasBits * Math.sign(mult[k]!))));
  }
  const lo = int(rand, 0, 255), hi = int(rand, lo, 255);
  return { bias, mult, shift, outZp: int(rand, 0, 255), lo, hi, biasBits };
}

function pickOf(rand: () => number, options: number[]): number {
  return options[Math.floor(rand() * options.length)]!;
}

function fill(a: Uint8Array | Int8Array, rand: () => number, lo: number, hi: number): void {
  for (let i = 0; i < a.length; i++) a[i] = int(rand, lo, hi);
}

interface Outputs {
  acc: Int32Array;
  q: Uint8Array;
  rq: fast.RequantParams;
}

/** One random shape of one kind: wasm unfused and fused against the reference, returned for the thread comparison. */
function checkConv(rt: Runtime, buf: WasmBuffers, kind: "adder" | "mul", s: Conv2dShape, rand: () => number, label: string, allExport = false): Outputs {
  const nx = s.N * s.H * s.W * s.C, ny = s.N * s.OH * s.OW * s.K;
  const nw = s.K * s.kh * s.kw * (s.C / s.groups);
  const x = buf.u8(nx);
  fill(x, rand, 0, 255);
  const padValue = int(rand, 0, 255);
  const rq = randomRequant(rand, s.K, 255 * s.kh * s.kw * (s.C / s.groups) * (kind === "adder" ? 1 : 128), allExport);
  // outputs with a guard zone after them: no kernel may write past its output
  const GUARD = 64;
  const accAll = buf.i32(ny + GUARD).fill(0x5a5a5a5a), qAll = buf.u8(ny + GUARD).fill(0xa5), q2All = buf.u8(ny + GUARD).fill(0xa5);
  const acc = accAll.subarray(0, ny), q = qAll.subarray(0, ny), q2 = q2All.subarray(0, ny);
  const want = new Int32Array(ny), wantQ = new Uint8Array(ny);
  let w: fast.Int8Weights;
  if (kind === "adder") {
    const wv = new Uint8Array(nw);
    fill(wv, rand, 0, 255);
    ref.adderConvU8(x, wv, padValue, want, s);
    w = fast.prepareAdderWeights(wv, s);
    fast.adderConvU8(x, w, padValue, acc, s);
    fast.adderConvRequantU8(x, w, padValue, rq, q, s);
    const prq = fast.prepareRequant(rq, s.K);
    fast.adderConvRequantU8(x, w, padValue, prq, q2, s);
    prq.dispose();
  } else {
    const wv = new Int8Array(nw);
    fill(wv, rand, -128, 127);
    ref.mulConvU8I8(x, wv, padValue, want, s);
    w = fast.prepareMulWeights(wv, s);
    fast.mulConvU8I8(x, w, padValue, acc, s);
    fast.mulConvRequantU8I8(x, w, padValue, rq, q, s);
    const prq = fast.prepareRequant(rq, s.K);
    fast.mulConvRequantU8I8(x, w, padValue, prq, q2, s);
    prq.dispose();
  }
  w.dispose();
  ref.requantizeU8(want, ny / s.K, s.K, rq.bias, rq.mult, rq.shift, rq.outZp, rq.lo, rq.hi, wantQ, rq.biasBits);
  const what = `${kind} ${label} padValue ${padValue} ${JSON.stringify(s)}`;
  assert.deepEqual(acc, want, `${what}: accumulators`);
  assert.deepEqual(q, wantQ, `${what}: fused requantization`);
  assert.deepEqual(q2, wantQ, `${what}: fused requantization, prepared`);
  assert.ok(accAll.subarray(ny).every((v) => v === 0x5a5a5a5a) && qAll.subarray(ny).every((v) => v === 0xa5) && q2All.subarray(ny).every((v) => v === 0xa5), `${what}: wrote past the output`);
  return { acc: acc.slice(), q: q.slice(), rq };
}

function runShapes(rt: Runtime, kind: "adder" | "mul", seed: number): Outputs[] {
  const buf = new WasmBuffers(rt);
  const rand = rng(seed);
  const outs: Outputs[] = [];
  try {
    for (let i = 0; i < SHAPES; i++) outs.push(checkConv(rt, buf, kind, randomShape(rand), rand, `#${i} (seed ${seed}, ${rt.threads} thread(s))`));
  } finally {
    buf.freeAll();
  }
  return outs;
}

/** Run fn with 2 threads and jobs split even when tiny; restore 1 thread after. */
function withTwoThreads<T>(fn: (rt: Runtime) => T): T {
  const saved = tuning.minMacsPerThread;
  const rt = initRuntime({ threads: 2 });
  tuning.minMacsPerThread = 1;
  try {
    return fn(rt);
  } finally {
    tuning.minMacsPerThread = saved;
    rt.setThreads(1);
  }
}

/** Runs `check` with fresh wasm buffers on one thread, then on two (every split forced), freeing the buffers after each. */
function onOneAndTwoThreads(check: (buf: WasmBuffers) => void): void {
  const run = (rt: Runtime) => {
    const buf = new WasmBuffers(rt);
    try {
      check(buf);
    } finally {
      buf.freeAll();
    }
  };
  run(initRuntime({ threads: 1 }));
  withTwoThreads(run);
}

for (const kind of ["adder", "mul"] as const) {
  test(`int8 ${kind} conv/linear: ${SHAPES} random shapes equal the reference, fused and unfused, 1 and 2 threads alike`, () => {
    const seed = kind === "adder" ? 101 : 202;
    const one = runShapes(initRuntime({ threads: 1 }), kind, seed);
    const two = withTwoThreads((rt) => runShapes(rt, kind, seed));
    assert.equal(one.length, two.length);
    for (let i = 0; i < one.length; i++) {
      assert.deepEqual(two[i].acc, one[i].acc, `${kind} shape #${i}: 2 threads differ from 1`);
      assert.deepEqual(two[i].q, one[i].q, `${kind} shape #${i}: 2 threads differ from 1 (fused)`);
    }
  });
}

/** A one-channel conv (the adder kernel's direct C = 1 path): any kh, kw ≤ 7, stride and dilation along H, padding. */
function randomC1Shape(rand: () => number): Conv2dShape {
  for (;;) {
    const N = int(rand, 1, 3), K = int(rand, 1, 9);
    const kh = int(rand, 1, 7), kw = int(rand, 1, 7);
    const padding = [int(rand, 0, 3), int(rand, 0, 3)] as [number, number];
    const dilation = [int(rand, 1, 2), 1] as [number, number];
    const stride = [int(rand, 1, 2), 1] as [number, number];
    const H = int(rand, 1, 20), W = int(rand, 1, 40);
    try {
      const s = conv2dShape([N, 1, H, W], [K, 1, kh, kw], { stride, padding, dilation });
      if (s.N * s.OH * s.OW * s.K * kh * kw <= MAX_TAPS) return s;
    } catch {
      continue;
    }
  }
}

/** `count` shapes from `shape` (one seed), each equal to the reference, on 1 and on 2 threads alike. */
function checkOnOneAndTwoThreads(kind: "adder" | "mul", what: string, seed: number, count: number, shape: (rand: () => number) => Conv2dShape, allExport = false): Outputs[] {
  const run = (rt: Runtime) => {
    const buf = new WasmBuffers(rt);
    const rand = rng(seed);
    const outs: Outputs[] = [];
    try {
      for (let i = 0; i < count; i++) outs.push(checkConv(rt, buf, kind, shape(rand), rand, `${what} #${i} (${rt.threads} thread(s))`, allExport));
    } finally {
      buf.freeAll();
    }
    return outs;
  };
  const one = run(initRuntime({ threads: 1 }));
  const two = withTwoThreads(run);
  for (let i = 0; i < one.length; i++) {
    assert.deepEqual(two[i].acc, one[i].acc, `${what} shape #${i}: 2 threads differ from 1`);
    assert.deepEqual(two[i].q, one[i].q, `${what} shape #${i}: 2 threads differ from 1 (fused)`);
  }
  return one;
}

test(`int8 adder, one input channel (direct path): ${SHAPES} random shapes equal the reference, 1 and 2 threads alike`, () => {
  checkOnOneAndTwoThreads("adder", "C1", 909, SHAPES, randomC1Shape);
});

test("int8 adder, 1×1 convs whose C fills whole vectors (rows read straight from x): 60 random shapes equal the reference, 1 and 2 threads alike", () => {
  checkOnOneAndTwoThreads("adder", "pointwise", 4040, 60, (rand) => {
    const C = 16 * int(rand, 1, 6), K = int(rand, 1, 40), side = int(rand, 1, 9);
    return conv2dShape([int(rand, 1, 4), C, side, int(rand, 1, 9)], [K, C, 1, 1]);
  });
});

/** A depthwise geometry (groups = C = K) with up to 70 channels: whole and partial 16-lane channel groups. */
function randomDepthwiseShape(rand: () => number): Conv2dShape {
  const C = int(rand, 2, 70), k = int(rand, 1, 5), stride = int(rand, 1, 2), dilation = int(rand, 1, 2), padding = int(rand, 0, 2);
  const side = (k - 1) * dilation + 1 + int(rand, 0, 9);
  return conv2dShape([int(rand, 1, 3), C, side, side + int(rand, 0, 3)], [C, 1, k, k], { stride, padding, dilation, groups: C });
}

test("int8 adder, depthwise (channels in lanes): 120 random shapes equal the reference, 1 and 2 threads alike", () => {
  checkOnOneAndTwoThreads("adder", "depthwise", 911, 120, randomDepthwiseShape);
});

/**
 * A layer of the kernels whose lanes hold channels (lanes tiles: ≥ 8 channels per group and ≤ 256
 * taps; depthwise), groups whose channels start on a block of 8 or not, linear layers among them.
 */
function randomLanesShape(rand: () => number): Conv2dShape {
  const r = rand();
  if (r < 0.3) return randomDepthwiseShape(rand);
  const G = r < 0.45 ? 2 : 1;
  const Kg = G === 2 ? pickOf(rand, [8, 16, 10, 12]) : int(rand, 8, 70);
  const linear = r < 0.55;
  const k = linear ? 1 : pickOf(rand, [1, 1, 3]), Cg = int(rand, 1, k === 1 ? 256 : 28);
  const side = linear ? 1 : int(rand, k, 7);
  return conv2dShape([int(rand, 1, 3), G * Cg, side, side], [G * Kg, Cg, k, k], { padding: k === 3 && rand() < 0.5 ? 1 : 0, groups: G });
}

test("int8 adder, requantization with one shift per layer (lanes tiles, depthwise): 100 random layers as export writes them equal the reference, 1 and 2 threads alike", () => {
  const outs = checkOnOneAndTwoThreads("adder", "lanes requant", 3131, 100, randomLanesShape, true);
  // the one-shift form must really be taken, by most layers (the kernels fall back to f64 without it)
  const taken = outs.filter(({ rq }) => {
    const forms = Array.from(rq.bias, (b, c) => u16Requant(b, rq.mult[c]!, rq.shift[c]!, rq.biasBits ?? 0, rq.outZp, rq.lo, rq.hi));
    return lanesRequant(forms) !== null;
  }).length;
  assert.ok(taken >= 70, `${taken} of 100 layers take the one-shift form`);
});

test("int8 bound calls (bind*) equal the plain entry points on random shapes, and refuse disposed weights", () => {
  const rt = initRuntime({ threads: 1 });
  const buf = new WasmBuffers(rt);
  const rand = rng(515);
  try {
    for (let i = 0; i < 60; i++) {
      const s = i % 3 === 0 ? randomC1Shape(rand) : randomShape(rand);
      const kind = i % 2 ? "adder" : "mul";
      const nx = s.N * s.H * s.W * s.C, ny = s.N * s.OH * s.OW * s.K, nw = s.K * s.kh * s.kw * (s.C / s.groups);
      const x = buf.u8(nx);
      fill(x, rand, 0, 255);
      const pad = int(rand, 0, 255);
      const prq = fast.prepareRequant(randomRequant(rand, s.K), s.K);
      const q = buf.u8(ny), qb = buf.u8(ny), acc = buf.i32(ny), accb = buf.i32(ny);
      let w: fast.Int8Weights;
      if (kind === "adder") {
        const wv = new Uint8Array(nw);
        fill(wv, rand, 0, 255);
        w = fast.prepareAdderWeights(wv, s);
        fast.adderConvU8(x, w, pad, acc, s);
        fast.adderConvRequantU8(x, w, pad, prq, q, s);
        const f = fast.bindAdderConvU8(x, w, pad, accb, s), g = fast.bindAdderConvRequantU8(x, w, pad, prq, qb, s);
        f(); g(); f(); g();
      } else {
        const wv = new Int8Array(nw);
        fill(wv, rand, -128, 127);
        w = fast.prepareMulWeights(wv, s);
        fast.mulConvU8I8(x, w, pad, acc, s);
        fast.mulConvRequantU8I8(x, w, pad, prq, q, s);
        const f = fast.bindMulConvU8I8(x, w, pad, accb, s), g = fast.bindMulConvRequantU8I8(x, w, pad, prq, qb, s);
        f(); g(); f(); g();
      }
      assert.deepEqual(accb, acc, `bound ${kind} #${i} ${JSON.stringify(s)}`);
      assert.deepEqual(qb, q, `bound ${kind} #${i} ${JSON.stringify(s)} (fused)`);
      const bound = kind === "adder" ? fast.bindAdderConvU8(x, w, pad, accb, s) : fast.bindMulConvU8I8(x, w, pad, accb, s);
      w.dispose();
      assert.throws(bound, /disposed/);
      prq.dispose();
    }
  } finally {
    buf.freeAll();
  }
});

test("int8 conv: LeNet-5 shapes at batch 11 (several blocks per thread), 1 and 2 threads", () => {
  const rand = rng(7);
  const shapes = [
    conv2dShape([11, 1, 28, 28], [6, 1, 5, 5], { padding: 2 }),
    conv2dShape([11, 6, 14, 14], [16, 6, 5, 5]),
    conv2dShape([11, 400, 1, 1], [120, 400, 1, 1]),
    conv2dShape([11, 120, 1, 1], [84, 120, 1, 1]),
    conv2dShape([11, 84, 1, 1], [10, 84, 1, 1]),
  ];
  for (const threads of [1, 2]) {
    const run = (rt: Runtime) => {
      const buf = new WasmBuffers(rt);
      try {
        for (const s of shapes) for (const kind of ["adder", "mul"] as const) checkConv(rt, buf, kind, s, rand, `LeNet, ${threads} thread(s)`);
      } finally {
        buf.freeAll();
      }
    };
    if (threads === 1) run(initRuntime({ threads: 1 }));
    else withTwoThreads(run);
  }
});

test("int8 adder: the largest sums (x = 255, w = 0) stay exact across u16 runs (R up to 2100)", () => {
  const rt = initRuntime({ threads: 1 });
  const buf = new WasmBuffers(rt);
  try {
    for (const I of [1023, 1024, 1025, 2048, 2100]) {
      const s = conv2dShape([3, I, 1, 1], [5, I, 1, 1]);
      const x = buf.u8(3 * I).fill(255);
      const wv = new Uint8Array(5 * I);
      wv.fill(255, I); // channel 0 all zeros: 255 per tap; the others 0 per tap
      const w = fast.prepareAdderWeights(wv, s);
      const acc = buf.i32(15);
      fast.adderConvU8(x, w, 0, acc, s);
      w.dispose();
      const want = new Int32Array(15);
      ref.adderConvU8(x, wv, 0, want, s);
      assert.deepEqual(acc, want, `I = ${I}`);
      assert.equal(acc[0], 255 * I);
    }
  } finally {
    buf.freeAll();
  }
});

test("int8 adder, one input channel: the largest windows (R = 256, 257) and sums up to 65535 are exact, raw and requantized", () => {
  const rt = initRuntime({ threads: 1 });
  const buf = new WasmBuffers(rt);
  const rand = rng(77);
  try {
    for (const [kh, kw, H, W] of [[16, 16, 20, 40], [1, 257, 3, 270], [257, 1, 260, 17]] as const) {
      const s = conv2dShape([2, 1, H, W], [7, 1, kh, kw], { padding: [1, 2] });
      const R = kh * kw, ny = s.N * s.OH * s.OW * s.K;
      // mostly 0 and 255, so some windows reach Σ = 255·R (≥ 2^16 − 255) and the u16 sums wrap
      const x = buf.u8(s.N * H * W);
      for (let i = 0; i < x.length; i++) x[i] = rand() < 0.997 ? 255 : int(rand, 0, 255);
      const wv = new Uint8Array(s.K * R);
      for (let i = 0; i < wv.length; i++) wv[i] = i < R ? 0 : rand() < 0.5 ? 0 : int(rand, 0, 255);
      const padValue = 255;
      const want = new Int32Array(ny), wantQ = new Uint8Array(ny);
      ref.adderConvU8(x, wv, padValue, want, s);
      const w = fast.prepareAdderWeights(wv, s);
      const acc = buf.i32(ny), q = buf.u8(ny);
      const rq = randomRequant(rand, s.K, 255 * R);
      fast.adderConvU8(x, w, padValue, acc, s);
      fast.adderConvRequantU8(x, w, padValue, rq, q, s);
      w.dispose();
      ref.requantizeU8(want, ny / s.K, s.K, rq.bias, rq.mult, rq.shift, rq.outZp, rq.lo, rq.hi, wantQ, rq.biasBits);
      assert.deepEqual(acc, want, `${kh}×${kw}: accumulators`);
      assert.deepEqual(q, wantQ, `${kh}×${kw}: requantized`);
      assert.ok(want.some((v) => v === 255 * R), `${kh}×${kw}: some window sums to 255·R`);
    }
  } finally {
    buf.freeAll();
  }
});

test("int8 adder with a fused 2×2 max pool: 200 random shapes (half of them one-channel) equal pool(requantize(conv)) of the reference, 1 and 2 threads alike", () => {
  const run = (rt: Runtime) => {
    const buf = new WasmBuffers(rt);
    const rand = rng(515);
    const outs: Uint8Array[] = [];
    try {
      for (let i = 0; i < 200; i++) {
        let s: Conv2dShape;
        do s = i % 2 ? randomC1Shape(rand) : randomShape(rand);
        while (s.OH < 2 || s.OW < 2 || (s.groups > 1 && s.groups === s.C && s.groups === s.K) || (i % 2 === 0 && s.C === 1));
        assert.ok(fast.canFuseMaxPool2("adder", s), JSON.stringify(s));
        const R = s.kh * s.kw * (s.C / s.groups), ny = s.N * s.OH * s.OW * s.K;
        const POH = s.OH >> 1, POW = s.OW >> 1, np = s.N * POH * POW * s.K;
        const x = buf.u8(s.N * s.H * s.W * s.C);
        fill(x, rand, 0, 255);
        const wv = new Uint8Array(s.K * R);
        fill(wv, rand, 0, 255);
        const padValue = int(rand, 0, 255);
        const rq = randomRequant(rand, s.K, 255 * R);
        const acc = new Int32Array(ny), q = new Uint8Array(ny), want = new Uint8Array(np);
        ref.adderConvU8(x, wv, padValue, acc, s);
        ref.requantizeU8(acc, ny / s.K, s.K, rq.bias, rq.mult, rq.shift, rq.outZp, rq.lo, rq.hi, q, rq.biasBits);
        ref.maxPool2dU8(q, s.N, s.OH, s.OW, s.K, 2, 2, 2, want);
        const GUARD = 64;
        const outAll = buf.u8(np + GUARD).fill(0xa5), out = outAll.subarray(0, np);
        const w = fast.prepareAdderWeights(wv, s);
        const prq = fast.prepareRequant(rq, s.K);
        fast.adderConvRequantMaxPool2U8(x, w, padValue, prq, out, s);
        w.dispose();
        prq.dispose();
        const what = `#${i} ${JSON.stringify(s)} (${rt.threads} thread(s))`;
        assert.deepEqual(out, want, what);
        assert.ok(outAll.subarray(np).every((v) => v === 0xa5), `${what}: wrote past the output`);
        outs.push(out.slice());
      }
    } finally {
      buf.freeAll();
    }
    return outs;
  };
  const one = run(initRuntime({ threads: 1 }));
  const two = withTwoThreads(run);
  for (let i = 0; i < one.length; i++) assert.deepEqual(two[i], one[i], `shape #${i}: 2 threads differ from 1`);
});

test("int8 adder: a fused max pool is refused where the kernel cannot fuse it", () => {
  const rt = initRuntime({ threads: 1 });
  const buf = new WasmBuffers(rt);
  try {
    // depthwise (its own kernel), and one channel with stride 2 along W (not the direct kernel)
    const dw = conv2dShape([1, 4, 8, 8], [4, 1, 3, 3], { groups: 4 });
    const strided = conv2dShape([1, 1, 8, 8], [4, 1, 3, 3], { stride: [1, 2] });
    assert.equal(fast.canFuseMaxPool2("adder", dw), false);
    assert.equal(fast.canFuseMaxPool2("adder", strided), false);
    assert.equal(fast.canFuseMaxPool2("mul", conv2dShape([1, 2, 8, 8], [4, 2, 3, 3])), false);
    const w = fast.prepareAdderWeights(new Uint8Array(4 * 9), dw);
    const rq = randomRequant(rng(1), 4);
    assert.throws(() => fast.adderConvRequantMaxPool2U8(buf.u8(256), w, 0, rq, buf.u8(4 * 9), dw), /adderConvRequantMaxPool2U8: a fused 2×2 max pool needs an adder conv \(not depthwise\)/);
    w.dispose();
  } finally {
    buf.freeAll();
  }
});

test("int8 mul: extreme products (255 · −128) over long rows", () => {
  const rt = initRuntime({ threads: 1 });
  const buf = new WasmBuffers(rt);
  try {
    const I = 3001;
    const s = conv2dShape([2, I, 1, 1], [3, I, 1, 1]);
    const x = buf.u8(2 * I).fill(255);
    const wv = new Int8Array(3 * I).fill(-128);
    wv.fill(127, I, 2 * I);
    const w = fast.prepareMulWeights(wv, s);
    const acc = buf.i32(6);
    fast.mulConvU8I8(x, w, 0, acc, s);
    w.dispose();
    assert.deepEqual([...acc], [-255 * 128 * I, 255 * 127 * I, -255 * 128 * I, -255 * 128 * I, 255 * 127 * I, -255 * 128 * I]);
  } finally {
    buf.freeAll();
  }
});

test("requantizeU8: random and extreme parameters equal the reference, 1 and 2 threads", () => {
  const rand = rng(303);
  onOneAndTwoThreads((buf) => {
    for (let t = 0; t < 200; t++) {
      const M = int(rand, 1, 40), Nc = int(rand, 1, 37);
      const reach = 2 ** int(rand, 8, 30);
      const rq = randomRequant(rand, Nc, reach);
      const acc = buf.i32(M * Nc);
      const edge = t % 4 === 0;
      for (let i = 0; i < acc.length; i++) acc[i] = int(rand, -reach, reach);
      if (edge) {
        // |acc + bias| up to 2^31 − 1, |mult| up to 2^21 − 1, shifts at both ends
        for (let c = 0; c < Nc; c++) {
          rq.bias[c] = 0;
          rq.mult[c] = [2 ** 21 - 1, -(2 ** 21 - 1), 1, -1, 0][c % 5];
          rq.shift[c] = [1, 52, 31, 30, 2][(c + t) % 5];
        }
        for (let i = 0; i < acc.length; i++) acc[i] = [2 ** 31 - 1, -(2 ** 31 - 1), 0, 1, -1, 2 ** 30][i % 6];
        rq.biasBits = 0;
        if (t % 8 === 4) {
          // acc·2^16 + bias at both ends of int32
          rq.biasBits = 16;
          for (let c = 0; c < Nc; c++) rq.bias[c] = [2 ** 16 - 1, -(2 ** 16 - 1), 0, 12345, -1][c % 5]!;
          for (let i = 0; i < acc.length; i++) acc[i] = [2 ** 15 - 1, -(2 ** 15 - 1), 0, 1, -1, 3][i % 6]!;
        }
      }
      const outAll = buf.u8(M * Nc + 32).fill(0xa5), want = new Uint8Array(M * Nc);
      const out = outAll.subarray(0, M * Nc);
      fast.requantizeU8(acc, M, Nc, rq.bias, rq.mult, rq.shift, rq.outZp, rq.lo, rq.hi, out, rq.biasBits);
      assert.ok(outAll.subarray(M * Nc).every((v) => v === 0xa5), `requant #${t} wrote past its output`);
      ref.requantizeU8(acc, M, Nc, rq.bias, rq.mult, rq.shift, rq.outZp, rq.lo, rq.hi, want, rq.biasBits);
      assert.deepEqual(out, want, `requant #${t} M ${M} Nc ${Nc} ${JSON.stringify({ ...rq, bias: [...rq.bias], mult: [...rq.mult], shift: [...rq.shift] })}`);
    }
    // rounding ties: (acc + bias)·mult / 2^shift exactly k + 1/2 rounds up, for negative values too
    const acc = buf.i32(8);
    acc.set([1, 3, -1, -3, 5, -5, 2, -2]);
    const one = (v: number) => Int32Array.from({ length: 8 }, () => v);
    const out = buf.u8(8), want = new Uint8Array(8);
    fast.requantizeU8(acc, 1, 8, one(0), one(1), new Uint8Array(8).fill(1), 100, 0, 255, out);
    ref.requantizeU8(acc, 1, 8, one(0), one(1), new Uint8Array(8).fill(1), 100, 0, 255, want);
    assert.deepEqual([...out], [101, 102, 100, 99, 103, 98, 101, 99]);
    assert.deepEqual(out, want);
  });
});

test("maxPool2dU8 and avgPoolGlobalU8: random shapes equal the reference", () => {
  const rand = rng(404);
  onOneAndTwoThreads((buf) => {
    for (let t = 0; t < 300; t++) {
      const N = int(rand, 1, 3), C = t % 2 ? int(rand, 1, 16) : int(rand, 1, 40), kh = int(rand, 1, 3), kw = int(rand, 1, 3), stride = int(rand, 1, 3);
      const H = int(rand, kh, 13), W = int(rand, kw, 13);
      const OH = Math.floor((H - kh) / stride) + 1, OW = Math.floor((W - kw) / stride) + 1;
      const x = buf.u8(N * H * W * C);
      fill(x, rand, 0, 255);
      const outAll = buf.u8(N * OH * OW * C + 32).fill(0xa5), want = new Uint8Array(N * OH * OW * C);
      const out = outAll.subarray(0, N * OH * OW * C);
      fast.maxPool2dU8(x, N, H, W, C, kh, kw, stride, out);
      ref.maxPool2dU8(x, N, H, W, C, kh, kw, stride, want);
      assert.deepEqual(out, want, `maxPool #${t} ${JSON.stringify({ N, H, W, C, kh, kw, stride })}`);
      assert.ok(outAll.subarray(out.length).every((v) => v === 0xa5), `maxPool #${t} wrote past its output`);
      const HW = H * W;
      const avgAll = buf.u8(N * C + 32).fill(0xa5), wantAvg = new Uint8Array(N * C);
      const avg = avgAll.subarray(0, N * C);
      fast.avgPoolGlobalU8(x, N, HW, C, avg);
      ref.avgPoolGlobalU8(x, N, HW, C, wantAvg);
      assert.deepEqual(avg, wantAvg, `avgPool #${t} ${JSON.stringify({ N, HW, C })}`);
      assert.ok(avgAll.subarray(avg.length).every((v) => v === 0xa5), `avgPool #${t} wrote past its output`);
    }
  });
});

/** Residual-add parameters within the contract: |m| < 2^15, 1 ≤ shift ≤ 30. */
function randomAdd(rand: () => number): ref.AddRequant {
  const shift = rand() < 0.3 ? int(rand, 1, 30) : int(rand, 10, 18);
  const m = () => (rand() < 0.2 ? int(rand, -(2 ** 15 - 1), 2 ** 15 - 1) : int(rand, 2 ** 12, 2 ** 15 - 1));
  const lo = rand() < 0.5 ? 0 : int(rand, 0, 255), hi = int(rand, lo, 255);
  return { zeroA: int(rand, 0, 255), multA: m(), zeroB: int(rand, 0, 255), multB: m(), shift, outZp: int(rand, 0, 255), lo, hi };
}

test("addRequantU8: random and extreme parameters equal the reference, 1 and 2 threads; ties round up", () => {
  const rand = rng(505);
  onOneAndTwoThreads((buf) => {
    for (let t = 0; t < 300; t++) {
      const n = t % 10 === 0 ? int(rand, 20_000, 70_000) : int(rand, 1, 200);
      const p = randomAdd(rand);
      const a = buf.u8(n), b = buf.u8(n);
      fill(a, rand, 0, 255);
      fill(b, rand, 0, 255);
      if (t % 7 === 0) {
        // the largest magnitudes: (±255)·(±(2^15 − 1)) twice, at both ends of the shift range
        Object.assign(p, { zeroA: t % 2 ? 0 : 255, zeroB: t % 2 ? 255 : 0, multA: 2 ** 15 - 1, multB: -(2 ** 15 - 1), shift: t % 3 ? 30 : 1 });
        a.forEach((_, i) => (a[i] = i % 2 ? 255 : 0));
        b.forEach((_, i) => (b[i] = i % 3 ? 0 : 255));
      }
      const outAll = buf.u8(n + 32).fill(0xa5), want = new Uint8Array(n);
      const out = outAll.subarray(0, n);
      fast.addRequantU8(a, b, p, out);
      ref.addRequantU8(a, b, p, want);
      assert.deepEqual(out, want, `add #${t} n ${n} ${JSON.stringify(p)}`);
      assert.ok(outAll.subarray(n).every((v) => v === 0xa5), `add #${t} wrote past its output`);
    }
    // ties: (a − za)·ma + (b − zb)·mb = ±(k + ½)·2^shift rounds toward +∞ in both
    const a = buf.u8(4), b = buf.u8(4), out = buf.u8(4), want = new Uint8Array(4);
    a.set([101, 99, 103, 97]);
    b.fill(0);
    const p = { zeroA: 100, multA: 1, zeroB: 0, multB: 0, shift: 1, outZp: 50, lo: 0, hi: 255 };
    fast.addRequantU8(a, b, p, out);
    ref.addRequantU8(a, b, p, want);
    assert.deepEqual([...want], [51, 50, 52, 49], "½ → 1, −½ → 0, 1½ → 2, −1½ → −1");
    assert.deepEqual(out, want);
  });
});

test("avgPool2dU8 (reference): the mean rounded half up; a window of the whole image is the global pool", () => {
  const rand = rng(606);
  for (let t = 0; t < 200; t++) {
    const N = int(rand, 1, 2), C = int(rand, 1, 9), kh = int(rand, 1, 4), kw = int(rand, 1, 4), stride = int(rand, 1, 3);
    const H = int(rand, kh, 9), W = int(rand, kw, 9);
    const OH = Math.floor((H - kh) / stride) + 1, OW = Math.floor((W - kw) / stride) + 1;
    const x = Uint8Array.from({ length: N * H * W * C }, () => int(rand, 0, 255));
    const out = new Uint8Array(N * OH * OW * C);
    ref.avgPool2dU8(x, N, H, W, C, kh, kw, stride, out);
    for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) sum += x[((n * H + oh * stride + i) * W + ow * stride + j) * C + c]!;
      const q = out[((n * OH + oh) * OW + ow) * C + c]!, mean = sum / (kh * kw);
      assert.ok(q - mean <= 0.5 && mean - q < 0.5, `#${t}: ${q} for the mean ${mean}`);
    }
    const whole = new Uint8Array(N * C), global = new Uint8Array(N * C);
    ref.avgPool2dU8(x, N, H, W, C, H, W, 1, whole);
    ref.avgPoolGlobalU8(x, N, H * W, C, global);
    assert.deepEqual(whole, global);
  }
});

test("int8 kernels: bad calls throw errors that name the problem", () => {
  const rt = initRuntime({ threads: 1 });
  const buf = new WasmBuffers(rt);
  try {
    const s = conv2dShape([2, 3, 6, 6], [4, 3, 3, 3]);
    const ny = 2 * 4 * 4 * 4;
    const wv = new Uint8Array(4 * 27);
    const w = fast.prepareAdderWeights(wv, s);
    const x = buf.u8(2 * 6 * 6 * 3), acc = buf.i32(ny), q = buf.u8(ny);
    const rq = randomRequant(rng(1), 4);
    assert.throws(() => fast.prepareRequant({ ...rq, biasBits: 17 }, 4), /requantizeU8: biasBits must be an integer in \[0, 16\], got 17/);
    assert.throws(() => fast.requantizeU8(acc, 1, 4, rq.bias, rq.mult, rq.shift, rq.outZp, rq.lo, rq.hi, q.subarray(0, 4), -1), /biasBits must be an integer in \[0, 16\], got -1/);
    assert.throws(() => fast.prepareAdderWeights(new Uint8Array(5), s), /prepareAdderWeights: w must be a Uint8Array of K·kh·kw·C\/groups = 108 elements, got Uint8Array of 5/);
    assert.throws(() => fast.prepareMulWeights(new Uint8Array(108) as unknown as Int8Array, s), /w must be a Int8Array/);
    assert.throws(() => fast.adderConvU8(buf.u8(5), w, 0, acc, s), /adderConvU8: x must be a Uint8Array of N·H·W·C = 216 elements, got Uint8Array of 5/);
    assert.throws(() => fast.adderConvU8(x, w, 0, buf.i32(3), s), /out must be a Int32Array of N·OH·OW·K = 128/);
    assert.throws(() => fast.adderConvRequantU8(x, w, 0, rq, acc as unknown as Uint8Array, s), /out must be a Uint8Array/);
    assert.throws(() => fast.adderConvU8(x, w, 256, acc, s), /padValue must be an integer in \[0, 255\], got 256/);
    assert.throws(() => fast.adderConvU8(new Uint8Array(216), w, 0, acc, s), /x is not in the kernel runtime's memory/);
    assert.throws(() => fast.mulConvU8I8(x, w, 0, acc, s), /weights must come from prepareMulWeights/);
    assert.throws(() => fast.adderConvU8(x, w, 0, acc, { ...s, OH: 5 }), /output size 5×4 should be 4×4/);
    assert.throws(() => fast.adderConvU8(x, w, 0, acc, { ...s, strideH: 0 }), /strideH must be an integer ≥ 1, got 0/);
    const s5 = conv2dShape([2, 3, 6, 6], [5, 3, 3, 3]);
    assert.throws(() => fast.adderConvU8(x, w, 0, buf.i32(2 * 16 * 5), s5), /weights were prepared for K = 4, but the call has K = 5/);
    assert.throws(() => fast.adderConvRequantU8(x, w, 0, { ...rq, shift: new Uint8Array(4) }, q, s), /shift\[0\] = 0 must be in \[1, 52\]/);
    assert.throws(() => fast.adderConvRequantU8(x, w, 0, { ...rq, bias: new Int32Array(2) }, q, s), /bias, mult and shift need 4 channels/);
    const prq = fast.prepareRequant(rq, 3);
    assert.throws(() => fast.adderConvRequantU8(x, w, 0, prq, q, s), /prepared for 3 channels, the layer has K = 4/);
    prq.dispose();
    assert.throws(() => fast.requantizeU8(acc, 33, 4, rq.bias, rq.mult, rq.shift, 0, 0, 255, q), /acc must be a Int32Array of M·Nc = 132/);
    assert.throws(() => fast.requantizeU8(acc, 32, 4, rq.bias, rq.mult, rq.shift, 0, 9, 3, q), /need 0 ≤ lo ≤ hi ≤ 255/);
    assert.throws(() => fast.maxPool2dU8(x, 2, 6, 6, 3, 7, 2, 2, q), /a 7×2 window does not fit 6×6/);
    assert.throws(() => fast.maxPool2dU8(x, 2, 6, 6, 3, 2, 2, 0, q), /stride must be a positive integer, got 0/);
    assert.throws(() => fast.avgPoolGlobalU8(x, 2, 36, 3, buf.u8(5)), /out must be a Uint8Array of N·C = 6 elements/);
    const add = { zeroA: 0, multA: 1, zeroB: 0, multB: 1, shift: 1, outZp: 0, lo: 0, hi: 255 };
    assert.throws(() => fast.addRequantU8(q, q, { ...add, shift: 31 }, q), /shift must be in \[1, 30\], got 31/);
    assert.throws(() => fast.addRequantU8(q, q, { ...add, multB: 2 ** 15 }, q), /\|m\| < 2\^15, got 32768/);
    assert.throws(() => fast.addRequantU8(q, buf.u8(3), add, q), /addRequantU8: b must be a Uint8Array of a.length = 128 elements, got Uint8Array of 3/);
    w.dispose();
    assert.throws(() => fast.adderConvU8(x, w, 0, acc, s), /the prepared weights were disposed/);
  } finally {
    buf.freeAll();
  }
});
