// The wasm kernels of DeepShift's per-step transforms (assembly/shift_round.ts) against their
// TypeScript references: Q and PS weights bit for bit (special values, every bit width, the
// in-place projection, vector body and scalar tail, two threads), PS's shift gradient bit for bit,
// and the 2^P penalty to its stated accuracy.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { fixedPointQuantize, inKernelMemory, shiftPenalty, shiftPSGrad, shiftPSWeight, shiftQWeight } from "../src/kernels/shift_round.js";
import { shiftPenaltyHook } from "../src/models/shift_op.js";
import { fixedPointRange, quantizeFixedPoint, type FixedPointFormat } from "../src/tensor/ops/fixed_point.js";
import { clampInPlace, roundToPowerOfTwoReference, shiftFixedPoint, shiftRange, shiftSignToWeightReference } from "../src/tensor/ops/shift.js";
import { scope } from "../src/tensor/storage.js";
import { Tensor } from "../src/tensor/tensor.js";
import { rng } from "./random.js";
import { WasmBuffers } from "./wasm-buffers.js";

const rt = initRuntime({ threads: 2 });
after(() => rt.close());
const buffers = new WasmBuffers(rt);

function wasm(a: Float32Array): Float32Array {
  const b = buffers.f32(a.length);
  b.set(a);
  return b;
}

/** Lengths that hit the scalar tail, the vector body and (above 2·2^15) the thread split. */
function lengths(r: () => number): number[] {
  return [0, 1, 3, 4, 5, 7, 8, 13, 64, 1001, 70001, ...Array.from({ length: 12 }, () => Math.floor(r() * 3000))];
}

/** Log-uniform magnitudes over the whole float32 range, with zeros, ±0, ties, subnormals, ±inf, NaN. */
function weights(n: number, r: () => number): Float32Array {
  const a = new Float32Array(n);
  const bits = new Int32Array(a.buffer);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < 0.03) a[i] = 0;
    else if (u < 0.05) a[i] = -0;
    else if (u < 0.06) a[i] = NaN;
    else if (u < 0.07) a[i] = r() < 0.5 ? Infinity : -Infinity;
    else if (u < 0.1) bits[i] = (Math.floor(r() * 0x7fffff) + 1) | (r() < 0.5 ? 0x80000000 : 0); // subnormal
    else if (u < 0.2) a[i] = (r() < 0.5 ? -1 : 1) * Math.SQRT2 * 2 ** Math.floor(r() * 40 - 30); // near the tie
    else if (u < 0.3) a[i] = (r() < 0.5 ? -1 : 1) * 2 ** Math.floor(r() * 40 - 30); // exact powers
    else a[i] = (r() < 0.5 ? -1 : 1) * 2 ** (r() * 60 - 45);
  }
  return a;
}

/** P and S around the interesting points: integers and halves (ties), ±0.5, the range ends, beyond, NaN. */
function latents(n: number, r: () => number, min: number): [Float32Array, Float32Array] {
  const P = new Float32Array(n), S = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    P[i] = u < 0.02 ? NaN : u < 0.04 ? -0 : u < 0.3 ? Math.floor(r() * (2 - min) + min - 1) + (r() < 0.5 ? 0.5 : 0) : r() * (4 - min) + min - 2;
    const v = r();
    S[i] = v < 0.02 ? NaN : v < 0.1 ? (r() < 0.5 ? 0.5 : -0.5) : v < 0.15 ? (r() < 0.5 ? -0 : 0) : (r() - 0.5) * 3;
  }
  return [P, S];
}

function assertSameBits(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    if (Number.isNaN(got[i]) && Number.isNaN(want[i])) continue;
    if (!Object.is(got[i], want[i])) assert.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

test("views outside kernel memory are refused, so callers fall back to the reference", () => {
  const plain = new Float32Array(8);
  assert.equal(inKernelMemory(plain), false);
  assert.equal(inKernelMemory(wasm(plain)), true);
  assert.equal(shiftQWeight(plain, wasm(plain), -15, false), false);
  assert.equal(shiftPSWeight(wasm(plain), plain, wasm(plain), -14, false), false);
  assert.equal(shiftPSGrad(plain, plain, plain), false);
  assert.equal(shiftPenalty(plain, wasm(plain), 1), false);
  // 8-bit Q reaches 2^−127, a subnormal the kernel does not build
  assert.equal(shiftQWeight(wasm(plain), wasm(plain), shiftRange("q", 8).min, false), false);
  buffers.freeAll();
});

test("Q weight: kernel = reference, bit for bit, with and without the projection to [−1, 1]", () => {
  const r = rng(11);
  for (let wb = 2; wb <= 7; wb++) {
    const { min } = shiftRange("q", wb);
    for (const n of lengths(r)) {
      const w = weights(n, r);
      for (const project of [false, true]) {
        const latent = Float32Array.from(w), want = new Float32Array(n);
        if (project) clampInPlace(latent, -1, 1);
        roundToPowerOfTwoReference(latent, want, min);
        const kw = wasm(w), out = buffers.f32(n);
        assert.equal(shiftQWeight(kw, out, min, project), true);
        assertSameBits(out, want, `Q wb=${wb} n=${n} project=${project}`);
        assertSameBits(kw, latent, `Q latent wb=${wb} n=${n} project=${project}`);
        // in place (out aliases w)
        const inPlace = wasm(latent);
        shiftQWeight(inPlace, inPlace, min, false);
        assertSameBits(inPlace, want, `Q in place wb=${wb} n=${n}`);
      }
      buffers.freeAll();
    }
  }
});

test("PS weight: kernel = reference, bit for bit, with and without the projection of P and S", () => {
  const r = rng(12);
  for (let wb = 2; wb <= 8; wb++) {
    const { min } = shiftRange("ps", wb);
    for (const n of lengths(r)) {
      const [P, S] = latents(n, r, min);
      for (const project of [false, true]) {
        const lp = Float32Array.from(P), ls = Float32Array.from(S), want = new Float32Array(n);
        if (project) {
          clampInPlace(lp, min, 0);
          clampInPlace(ls, -1, 1);
        }
        shiftSignToWeightReference(lp, ls, want, min);
        const kp = wasm(P), ks = wasm(S), out = buffers.f32(n);
        assert.equal(shiftPSWeight(kp, ks, out, min, project), true);
        assertSameBits(out, want, `PS wb=${wb} n=${n} project=${project}`);
        assertSameBits(kp, lp, `PS P wb=${wb} n=${n} project=${project}`);
        assertSameBits(ks, ls, `PS S wb=${wb} n=${n} project=${project}`);
      }
      buffers.freeAll();
    }
  }
});

test("PS shift gradient: dw·w·ln 2 in float64, rounded once, bit for bit", () => {
  const r = rng(13);
  for (const n of lengths(r)) {
    const dw = new Float32Array(n), w = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      dw[i] = (r() - 0.5) * 2 ** (r() * 60 - 40);
      const u = r();
      w[i] = u < 0.3 ? 0 : (u < 0.65 ? -1 : 1) * 2 ** -Math.floor(r() * 15);
    }
    if (n > 2) dw[1] = 1e-45; // a subnormal gradient
    const want = new Float32Array(n);
    for (let i = 0; i < n; i++) want[i] = dw[i] * w[i] * Math.LN2;
    const out = buffers.f32(n);
    assert.equal(shiftPSGrad(wasm(dw), wasm(w), out), true);
    assertSameBits(out, want, `grad n=${n}`);
    buffers.freeAll();
  }
});

test("PS penalty: grad += wd·ln 2·2^(2P) to float32 accuracy, and the hook uses the kernel", () => {
  const r = rng(14);
  const wd = 5e-4, scale = wd * Math.LN2;
  for (const n of lengths(r)) {
    const P = new Float32Array(n), g = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = r();
      P[i] = u < 0.2 ? -Math.floor(r() * 15) : u < 0.3 ? -Math.floor(r() * 15) - 0.5 : -r() * 126;
      g[i] = r() < 0.5 ? 0 : (r() - 0.5) * 1e-3;
    }
    const kg = wasm(g), kp = wasm(P);
    assert.equal(shiftPenalty(kg, kp, scale), true);
    const hooked = wasm(g);
    shiftPenaltyHook(wd)(hooked, { data: kp } as never);
    assertSameBits(hooked, kg, `hook n=${n}`);
    for (let i = 0; i < n; i++) {
      const term = scale * Math.exp(2 * Math.LN2 * P[i]);
      const want = Math.fround(g[i] + term);
      // 2^P to 2·10⁻⁷ relative, squared: the term is good to 5·10⁻⁷, then one float32 rounding
      const tol = 5e-7 * term + 2 ** -23 * Math.abs(want) + 2 ** -149; // + one subnormal step
      assert.ok(Math.abs(kg[i] - want) <= tol, `penalty n=${n} P[${i}]=${P[i]}: ${kg[i]} vs ${want}`);
    }
    buffers.freeAll();
  }
});

test("fixed point: kernel = quantizeFixedPoint, bit for bit, for every kind of format", () => {
  const r = rng(15);
  const formats: FixedPointFormat[] = [
    { intBits: 16, fracBits: 16 }, { intBits: 16, fracBits: 16, unsigned: true }, { intBits: 3, fracBits: 5 }, { intBits: 1, fracBits: 3 },
    { intBits: 8, fracBits: 0 }, { intBits: 32, fracBits: 32 }, { intBits: 32, fracBits: 0, unsigned: true }, { intBits: 25, fracBits: 7 },
    { intBits: 4, fracBits: 4, unsigned: true },
  ];
  for (const f of formats) {
    const { lo, hi } = fixedPointRange(f);
    for (const n of lengths(r)) {
      const x = weights(n, r);
      for (let i = 0; i < n; i += 3) x[i] = (r() - 0.5) * 2 ** (r() * 40 - 6); // around the grid and the bounds
      const want = new Float32Array(n);
      quantizeFixedPoint(x, want, f);
      const out = buffers.f32(n);
      assert.equal(fixedPointQuantize(wasm(x), out, f.fracBits, lo, hi), true);
      assertSameBits(out, want, `fixed point ${JSON.stringify(f)} n=${n}`);
      buffers.freeAll();
    }
  }
  // the op: same values, identity gradient
  scope(() => {
    const x = Tensor.from(weights(37, r).map((v) => (Number.isFinite(v) ? v : 0)), [37]);
    const f = { intBits: 4, fracBits: 4 };
    const want = new Float32Array(37);
    quantizeFixedPoint(x.data, want, f);
    assertSameBits(shiftFixedPoint(x, f).data, want, "shiftFixedPoint");
  });
});
