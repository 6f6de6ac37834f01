// DeepShift's transforms against their formulas (docs/deepshift.md, "Semantics"): shift ranges,
// log-domain rounding (geometric midpoint, half to even, zero), straight-through and asymmetric
// gradients, and fixed-point activations (floor, bounds, I = 1, unsigned).
import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { backward } from "../src/tensor/autograd.js";
import { fixedPoint, fixedPointRange, quantizeFixedPoint } from "../src/tensor/ops/fixed_point.js";
import { roundHalfEven, roundLog2, roundShifts, roundToPowerOfTwo, shiftPS, shiftQ, shiftRange, shiftSignToWeight, ternarySign } from "../src/tensor/ops/shift.js";
import { Rng, uniform } from "../src/tensor/random.js";
import { scope } from "../src/tensor/storage.js";
import { Parameter, Tensor } from "../src/tensor/tensor.js";

initRuntime({ threads: 1 });

const f32 = Math.fround;
/** The float32 neighbours of x (x itself must be a float32 value). */
function nextUp(x: number): number {
  const b = new Float32Array([x]);
  const i = new Int32Array(b.buffer);
  i[0] += x >= 0 ? 1 : -1;
  return b[0];
}
function nextDown(x: number): number {
  const b = new Float32Array([x]);
  const i = new Int32Array(b.buffer);
  i[0] -= x > 0 ? 1 : -1;
  return b[0];
}
function param(values: number[]): Parameter {
  const p = Parameter.create([values.length]);
  p.data.set(values);
  return p;
}
function q(values: number[], min: number): number[] {
  const out = new Float32Array(values.length);
  roundToPowerOfTwo(Float32Array.from(values), out, min);
  return [...out];
}

test("shift ranges per weight-bit width follow the reference table (§1)", () => {
  const expected: Record<number, [number, number]> = { 2: [-1, 0], 3: [-3, -2], 4: [-7, -6], 5: [-15, -14], 6: [-31, -30], 7: [-63, -62], 8: [-127, -126] };
  for (let wb = 2; wb <= 8; wb++) {
    assert.deepEqual(shiftRange("q", wb), { min: 1 - 2 ** (wb - 1), max: 0 });
    assert.deepEqual(shiftRange("ps", wb), { min: 2 - 2 ** (wb - 1), max: 0 });
    assert.deepEqual([shiftRange("q", wb).min, shiftRange("ps", wb).min], expected[wb]);
    // Q: 2^wb codes with sign; PS: one code spent on zero (2·(range size) + 1 = 2^wb − 1 values)
    assert.equal(2 * (1 - shiftRange("q", wb).min), 2 ** wb);
    assert.equal(2 * (1 - shiftRange("ps", wb).min) + 1, 2 ** wb - 1);
  }
  for (const bad of [1, 9, 4.5, NaN]) assert.throws(() => shiftRange("ps", bad), /weight bits must be an integer from 2 to 8/);
});

test("round half to even, like torch.round", () => {
  const cases: Array<[number, number]> = [[-3.5, -4], [-2.5, -2], [-1.5, -2], [-0.5, 0], [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [2.4999, 2], [-2.5001, -3], [-14, -14], [0, 0]];
  for (const [x, r] of cases) assert.equal(roundHalfEven(x), r, `round(${x})`);
});

test("Q rounds in the log domain: the tie is the geometric midpoint 2^(k+½), exact at float32 neighbours", () => {
  // 0.74 lies below the arithmetic midpoint 0.75 of ½ and 1 but above √½ ≈ 0.7071: it rounds up.
  // Likewise 0.36 > 2^−1.5 ≈ 0.3536 rounds to ½, and 0.35 to ¼.
  assert.deepEqual(q([0.74, -0.74, 0.7, 0.36, 0.35], 15 * -1), [1, -1, 0.5, 0.5, 0.25]);
  for (let k = -15; k < 0; k++) {
    const mid = f32(2 ** (k + 0.5));
    // f32(mid) is one of the two float32 values around the irrational midpoint; test both sides
    const below = mid < 2 ** (k + 0.5) ? mid : nextDown(mid);
    const above = nextUp(below);
    assert.ok(below < 2 ** (k + 0.5) && above > 2 ** (k + 0.5));
    assert.deepEqual(q([below, above, -below, -above], -15), [2 ** k, 2 ** (k + 1), -(2 ** k), -(2 ** (k + 1))], `around 2^(${k}+½)`);
  }
  // exact powers of two stay, zero stays zero (no sign, no shift)
  assert.deepEqual(q([1, 0.5, 2 ** -15, -0.125, 0, -0], -15), [1, 0.5, 2 ** -15, -0.125, 0, 0]);
  // the range clamps: nothing below 2^min (a nonzero weight never becomes 0 in Q), nothing above 1
  assert.deepEqual(q([2 ** -20, -(2 ** -40), 3, -1e9, 1.2e-45], -15), [2 ** -15, -(2 ** -15), 1, -1, 2 ** -15]);
  assert.deepEqual(q([0.3, 0.2, 0.9], -1), [0.5, 0.5, 1]);
});

test("Q's fast path agrees with the exact formula on random float32 values, subnormals included", () => {
  const rng = Rng.fromSeed(11);
  const n = 20000;
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = (uniform(rng, -1, 1) < 0 ? -1 : 1) * 2 ** uniform(rng, -160, 3);
  for (const min of [-1, -15, -127]) {
    const out = new Float32Array(n);
    roundToPowerOfTwo(w, out, min);
    for (let i = 0; i < n; i++) {
      const a = Math.abs(w[i]);
      // reference: exact comparison with the geometric midpoint in float64
      let k = Math.floor(Math.log2(a));
      if (2 ** k > a) k--;
      if (2 ** (k + 1) <= a) k++;
      const p = Math.min(0, Math.max(min, a * a > 2 ** (2 * k + 1) ? k + 1 : k));
      assert.equal(out[i], a === 0 ? 0 : Math.sign(w[i]) * 2 ** p, `w = ${w[i]}, min ${min}`);
      if (a > 0 && a >= 2 ** -149) assert.equal(roundLog2(a), a * a > 2 ** (2 * k + 1) ? k + 1 : k);
    }
  }
});

test("stochastic rounding picks floor or ceil of log2|w| with probability equal to the fraction", () => {
  const n = 40000;
  const w = new Float32Array(n).fill(f32(2 ** -2.3)); // floor −3, fraction 0.7
  const out = new Float32Array(n);
  roundToPowerOfTwo(w, out, -15, 12345);
  let up = 0;
  for (const v of out) {
    assert.ok(v === 0.25 || v === 0.125, `value ${v}`);
    if (v === 0.25) up++;
  }
  assert.ok(Math.abs(up / n - 0.7) < 0.01, `P(round up) = ${up / n}, expected 0.7`);
  // exact powers of two have fraction 0: never moved
  roundToPowerOfTwo(new Float32Array(1000).fill(0.5), out.subarray(0, 1000), -15, 7);
  assert.ok(out.subarray(0, 1000).every((v) => v === 0.5));
  // PS: P = −2.25 is 0.75 above −3, so it goes to −2 with probability 0.75
  const P = new Float32Array(n).fill(-2.25);
  const r = new Float32Array(n);
  roundShifts(P, r, -14, 99);
  const frac = r.filter((v) => v === -2).length / n;
  assert.ok(r.every((v) => v === -2 || v === -3) && Math.abs(frac - 0.75) < 0.01, `P(−2) = ${frac}`);
});

test("PS: ternary sign (±0.5 → 0), rounded and clamped shift", () => {
  const cases: Array<[number, number]> = [[-1, -1], [-0.5000001, -1], [-0.5, 0], [-0.2, 0], [0, 0], [0.5, 0], [0.50001, 1], [3, 1]];
  for (const [s, t] of cases) assert.equal(ternarySign(s), t, `sign(round(${s}))`);
  const P = Float32Array.from([-2.5, -1.5, -0.5, -20, 3, -3.4, -13.6]);
  const S = Float32Array.from([1, -1, 0.9, 0.7, -0.8, 0.3, -1]);
  const out = new Float32Array(P.length);
  shiftSignToWeight(P, S, out, -14);
  assert.deepEqual([...out], [0.25, -0.25, 1, 2 ** -14, -1, 0, -(2 ** -14)]);
  roundShifts(P, out, -14);
  assert.deepEqual([...out], [-2, -2, 0, -14, 0, -3, -14]);
  // 2 bits: pure ternary {−1, 0, +1}
  shiftSignToWeight(P, S, out, shiftRange("ps", 2).min);
  assert.deepEqual([...out], [1, -1, 1, 1, -1, 0, -1]);
});

test("Q's backward is straight through: g_W = g_Wq", () => {
  scope(() => {
    const w = param([0.3, -0.7, 1e-9, 0, 5, -0.05]);
    const y = shiftQ(w, { min: -15 });
    assert.deepEqual([...y.data], [0.25, -0.5, 2 ** -15, 0, 1, -0.0625]);
    const g = Float32Array.from([0.1, -2, 3, 4, -5, 0.5]);
    backward(y, g);
    assert.deepEqual([...w.grad!], [...g], "identity, no clip mask, even where the range clamps");
  });
});

test("PS's backward is asymmetric: g_S = g_W and g_P = g_W·W·ln 2 (the README slide swaps them)", () => {
  scope(() => {
    const P = param([-1.2, -3, 0.4, -20, -2.5, -0.6]);
    const S = param([0.9, -0.7, 0.2, 1, -1, 0.55]);
    const W = shiftPS(P, S, { min: -14 });
    const expectW = [0.5, -0.125, 0, 2 ** -14, -0.25, 0.5];
    assert.deepEqual([...W.data], expectW);
    const g = Float32Array.from([0.3, -1.5, 2, 0.7, -0.25, 4]);
    backward(W, g);
    assert.deepEqual([...S.grad!], [...g], "g_S = g_W, not scaled by 2^P");
    for (let i = 0; i < g.length; i++) assert.equal(P.grad![i], f32(g[i] * expectW[i] * Math.LN2), `g_P[${i}]`);
    assert.equal(P.grad![2], 0, "no shift gradient where the sign rounds to 0");
  });
});

test("fixed point: floor onto the 2^−F grid, clamped to [−2^(I−1), 2^(I−1) − 1] (§6)", () => {
  const rng = Rng.fromSeed(3);
  for (const [I, F] of [[3, 5], [16, 16], [2, 0], [8, 8], [1, 4], [1, 0]]) {
    const { lo, hi, step } = fixedPointRange({ intBits: I, fracBits: F });
    assert.equal(lo, -(2 ** (I - 1)));
    assert.equal(hi, 2 ** (I - 1) - 1);
    assert.equal(step, 2 ** -F);
    const x = Float32Array.from({ length: 2000 }, () => uniform(rng, -2 * 2 ** I, 2 * 2 ** I));
    const y = new Float32Array(x.length);
    quantizeFixedPoint(x, y, { intBits: I, fracBits: F });
    for (let i = 0; i < x.length; i++) {
      const expect = Math.min(hi, Math.max(lo, Math.floor(x[i] / step) * step));
      assert.equal(y[i], f32(expect), `I=${I} F=${F} x=${x[i]}`);
    }
  }
  // the README's 8-bit example, -ab 3 5: [−4, 3] in steps of 1/32; floor, not round
  const y = new Float32Array(6);
  quantizeFixedPoint(Float32Array.from([3.9, -4.5, 1.99, -0.01, 0.03, -4]), y, { intBits: 3, fracBits: 5 });
  assert.deepEqual([...y], [3, -4, 1.96875, -0.03125, 0, -4]);
});

test("fixed point with I = 1 follows the formula ([−1, 0]), not the reference's sign(x) − 1 (pitfall 7)", () => {
  const x = Float32Array.from([-0.3, -0.75, 0.4, 0.9, -3, 2]);
  const y = new Float32Array(x.length);
  quantizeFixedPoint(x, y, { intBits: 1, fracBits: 2 });
  assert.deepEqual([...y], [-0.5, -0.75, 0, 0, -1, 0]);
  assert.notDeepEqual([...y], [...x].map((v) => Math.sign(v) - 1));
});

test("unsigned fixed point gives a ReLU output one more bit: [0, 2^I − 1]", () => {
  assert.deepEqual(fixedPointRange({ intBits: 1, fracBits: 3, unsigned: true }), { lo: 0, hi: 1, step: 0.125 });
  assert.deepEqual(fixedPointRange({ intBits: 4, fracBits: 0, unsigned: true }), { lo: 0, hi: 15, step: 1 });
  const y = new Float32Array(5);
  quantizeFixedPoint(Float32Array.from([0.7, 1.5, 0, 0.99, -0.2]), y, { intBits: 1, fracBits: 3, unsigned: true });
  assert.deepEqual([...y], [0.625, 1, 0, 0.875, 0]);
  for (const bad of [{ intBits: 0, fracBits: 3 }, { intBits: 2, fracBits: -1 }, { intBits: 2.5, fracBits: 1 }]) {
    assert.throws(() => fixedPointRange(bad), /bits must be an integer/);
  }
});

test("fixed point's gradient is the identity (straight through, no clip mask)", () => {
  scope(() => {
    const x = param([0.3, 100, -100, -0.001]);
    const y = fixedPoint(x, { intBits: 3, fracBits: 2 });
    assert.deepEqual([...y.data], [0.25, 3, -4, -0.25]);
    const g = Float32Array.from([1, 2, 3, 4]);
    backward(y, g);
    assert.deepEqual([...x.grad!], [1, 2, 3, 4]);
  });
});

test("the ops reject tensors that do not match", () => {
  scope(() => {
    assert.throws(() => shiftPS(Tensor.zeros([2, 3]), Tensor.zeros([3, 2]), { min: -14 }), /shift \[2, 3\] and sign \[3, 2\] differ/);
  });
});
