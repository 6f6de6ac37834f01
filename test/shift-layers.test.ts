// Conv2dShift and LinearShift: PyTorch-like state dicts, the reference's initialisations, a forward
// pass that is exactly conv/linear over the effective weights with quantised input and bias (for
// PS linear too, pitfall 8), the in-place clamps of training, and effective weights in range.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { Conv2d } from "../src/nn/conv.js";
import { Conv2dShift, LinearShift, type ShiftOptions } from "../src/nn/shift.js";
import { noGrad } from "../src/tensor/autograd.js";
import { conv2d } from "../src/tensor/ops/conv2d.js";
import { quantizeFixedPoint } from "../src/tensor/ops/fixed_point.js";
import { linear } from "../src/tensor/ops/linear.js";
import { roundLog2 } from "../src/tensor/ops/shift.js";
import { manualSeed, Rng, uniform } from "../src/tensor/random.js";
import { scope } from "../src/tensor/storage.js";
import { Tensor } from "../src/tensor/tensor.js";

initRuntime({ threads: 1 });

function randomTensor(shape: number[], rng: Rng, lo = -2, hi = 2): Tensor {
  const t = Tensor.empty(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = uniform(rng, lo, hi);
  return t;
}

function isShiftValue(v: number, min: number): boolean {
  if (v === 0) return true;
  const p = Math.log2(Math.abs(v));
  return Number.isInteger(p) && p >= min && p <= 0;
}

test("state dicts: Q keeps `weight`, PS stores `shift` and `sign`, then `bias`", () => {
  assert.deepEqual([...new Conv2dShift(2, 3, 3, { mode: "q" }).stateDict().keys()], ["weight", "bias"]);
  assert.deepEqual([...new Conv2dShift(2, 3, 3, { mode: "ps" }).stateDict().keys()], ["shift", "sign", "bias"]);
  assert.deepEqual([...new LinearShift(4, 2, { mode: "ps", bias: false }).stateDict().keys()], ["shift", "sign"]);
  const c = new Conv2dShift(4, 8, [3, 1], { mode: "ps", groups: 2 });
  assert.deepEqual(c.shift!.shape, [8, 2, 3, 1]);
  assert.deepEqual(c.sign!.shape, [8, 2, 3, 1]);
});

test("initialisation: Q draws exactly as nn.Conv2d; PS conv P ~ U(−10, −1), PS linear P ~ U(range), S ~ U(−1, 1)", () => {
  manualSeed(5);
  const conv = new Conv2d(3, 6, 3);
  manualSeed(5);
  const shiftQ = new Conv2dShift(3, 6, 3, { mode: "q" });
  assert.deepEqual(shiftQ.weight!.data, conv.weight.data);
  assert.deepEqual(shiftQ.bias!.data, conv.bias!.data);

  const ps = new Conv2dShift(16, 32, 3, { mode: "ps" });
  const P = [...ps.shift!.data], S = [...ps.sign!.data];
  assert.ok(P.every((p) => p >= -10 && p <= -1) && Math.min(...P) < -9.9 && Math.max(...P) > -1.1);
  assert.ok(S.every((s) => s >= -1 && s <= 1));
  const zeros = S.filter((s) => Math.abs(s) <= 0.5).length / S.length;
  assert.ok(Math.abs(zeros - 0.5) < 0.03, `about half the initial PS weights are 0, got ${zeros}`);
  const lin = new LinearShift(300, 40, { mode: "ps", weightBits: 4 });
  const LP = [...lin.shift!.data];
  assert.ok(LP.every((p) => p >= -6 && p <= 0) && Math.min(...LP) < -5.9 && Math.max(...LP) > -0.1);
});

test("initialisation from float weights: P = round(log2|w|) in range, S = sign(w); 'float' init rounds the default init", () => {
  const l = new LinearShift(3, 2, { mode: "ps" });
  const w = [0.3, -0.74, 0, 1e-9, -2, 0.125];
  l.initFromFloat(w, [0.5, -0.25]);
  assert.deepEqual([...l.shift!.data], [-2, 0, -14, -14, 0, -3]);
  assert.deepEqual([...l.sign!.data], [1, -1, 0, 1, -1, 1]);
  assert.deepEqual([...l.effectiveWeight()], [0.25, -1, 0, 2 ** -14, -1, 0.125]);
  assert.deepEqual([...l.bias!.data], [0.5, -0.25]);
  assert.throws(() => l.initFromFloat([1, 2]), /2 weights for a \[2, 3\] layer/);

  manualSeed(9);
  const conv = new Conv2d(4, 5, 3);
  manualSeed(9);
  const ps = new Conv2dShift(4, 5, 3, { mode: "ps", init: "float" });
  for (let i = 0; i < conv.weight.size; i++) {
    const v = conv.weight.data[i];
    assert.equal(ps.sign!.data[i], Math.sign(v));
    assert.equal(ps.shift!.data[i], Math.max(-14, roundLog2(Math.abs(v))));
  }
  assert.deepEqual(ps.bias!.data, conv.bias!.data);
});

test("forward = conv2d(q(x), effective weight, q(bias)) for stride, padding, groups and depthwise", () => {
  const rng = Rng.fromSeed(21);
  const cases: Array<[number, number, number, Record<string, number>]> = [
    [3, 5, 3, { stride: 2, padding: 1 }],
    [4, 6, 3, { groups: 2, padding: 1 }],
    [6, 6, 3, { groups: 6, stride: 2, padding: 1 }], // depthwise
    [2, 3, 1, {}],
  ];
  for (const mode of ["q", "ps"] as const) {
    for (const [i, o, k, cfg] of cases) {
      const layer = new Conv2dShift(i, o, k, { mode, ...cfg, activationBits: [3, 4] });
      scope(() => {
        const x = randomTensor([2, i, 7, 7], rng, -6, 6);
        const y = noGrad(() => layer.eval().forward(x));
        const xq = Tensor.empty(x.shape);
        quantizeFixedPoint(x.data, xq.data, { intBits: 3, fracBits: 4 });
        const w = Tensor.from(layer.effectiveWeight(), layer.weightShape);
        const b = Tensor.from(layer.effectiveBias()!, [o]);
        const expect = noGrad(() => conv2d(xq, w, b, cfg));
        assert.deepEqual(y.data, expect.data, `${mode} ${JSON.stringify(cfg)}`);
        assert.ok(layer.effectiveWeight().every((v) => isShiftValue(v, layer.range.min)));
      });
    }
  }
});

test("PS linear quantises its input and bias like every other shift layer (the reference skips them)", () => {
  const rng = Rng.fromSeed(4);
  const layer = new LinearShift(10, 4, { mode: "ps", activationBits: [2, 3] });
  layer.bias!.data.set([0.33, -1.7, 5, 0.01]);
  scope(() => {
    const x = randomTensor([3, 10], rng, -3, 3);
    const y = noGrad(() => layer.eval().forward(x));
    const xq = Tensor.empty(x.shape);
    quantizeFixedPoint(x.data, xq.data, { intBits: 2, fracBits: 3 });
    assert.deepEqual([...layer.effectiveBias()!], [0.25, -1.75, 1, 0]);
    const expect = noGrad(() => linear(xq, Tensor.from(layer.effectiveWeight(), [4, 10]), Tensor.from(layer.effectiveBias()!, [4])));
    assert.deepEqual(y.data, expect.data);
    // activationBits null: float32 input and bias
    const plain = new LinearShift(10, 4, { mode: "ps", activationBits: null });
    const yp = noGrad(() => plain.eval().forward(x));
    const ep = noGrad(() => linear(x, Tensor.from(plain.effectiveWeight(), [4, 10]), plain.bias));
    assert.deepEqual(yp.data, ep.data);
  });
});

test("unsigned activations: a non-negative input uses [0, 2^I − 1], an input with negatives stays signed", () => {
  const layer = new LinearShift(2, 1, { mode: "q", bias: false, activationBits: [2, 2], activationUnsigned: true });
  layer.weight!.data.set([1, 0.5]);
  scope(() => {
    noGrad(() => {
      layer.eval();
      // unsigned: 2.9 → 2.75 (range [0, 3]); signed it would clamp to 1
      assert.deepEqual([...layer.forward(Tensor.from([2.9, 3.3], [1, 2])).data], [2.75 + 0.5 * 3]);
      assert.deepEqual([...layer.forward(Tensor.from([2.9, -0.3], [1, 2])).data], [1 + 0.5 * -0.5]);
    });
  });
});

test("training clamps the latents in place: PS P to the range and S to [−1, 1]; Q only |W| ≤ 1; eval changes nothing", () => {
  const ps = new LinearShift(3, 1, { mode: "ps", bias: false });
  ps.shift!.data.set([-20, 0.7, -3.3]);
  ps.sign!.data.set([4, -2.5, 0.2]);
  const q = new LinearShift(3, 1, { mode: "q", bias: false });
  q.weight!.data.set([3, -1e-7, 0.2]);
  scope(() => {
    const x = Tensor.from([1, 1, 1], [1, 3]);
    noGrad(() => {
      ps.eval().forward(x);
      q.eval().forward(x);
    });
    assert.deepEqual([...ps.shift!.data], [-20, f(0.7), f(-3.3)], "eval leaves the latents alone");
    assert.deepEqual([...q.weight!.data], [3, f(-1e-7), f(0.2)]);
    ps.train().forward(x);
    q.train().forward(x);
  });
  assert.deepEqual([...ps.shift!.data], [-14, 0, f(-3.3)]);
  assert.deepEqual([...ps.sign!.data], [1, -1, f(0.2)]);
  assert.deepEqual([...q.weight!.data], [1, f(-1e-7), f(0.2)], "a tiny Q weight is not pushed up to 2^min (pitfall 6)");
  assert.deepEqual([...q.effectiveWeight()], [1, -(2 ** -15), 0.25]);
});

const f = Math.fround;

test("effective weights are exactly 0 or ±2^p in range for every bit width and both modes", () => {
  const rng = Rng.fromSeed(8);
  for (let wb = 2; wb <= 8; wb++) {
    for (const mode of ["q", "ps"] as const) {
      const layer = new Conv2dShift(3, 4, 3, { mode, weightBits: wb } satisfies Conv2dShiftOptions);
      for (const p of layer.parameters()) for (let i = 0; i < p.size; i++) p.data[i] = uniform(rng, -3, 3) * 2 ** uniform(rng, -20, 1);
      const w = layer.effectiveWeight();
      assert.ok(w.every((v) => isShiftValue(v, layer.range.min)), `${mode} ${wb} bits`);
      const { shift, sign } = layer.shiftsAndSigns();
      for (let i = 0; i < w.length; i++) assert.equal(w[i], sign[i] === 0 ? 0 : sign[i] * 2 ** shift[i]);
      if (mode === "q") assert.ok(sign.every((s) => s !== 0), "Q has no zero for nonzero latents");
      const saved = layer.savedTensors();
      if (mode === "q") assert.deepEqual(saved.get("weight"), w);
      else {
        assert.ok(saved.get("shift")!.every((p) => Number.isInteger(p) && p >= layer.range.min && p <= 0));
        assert.ok(saved.get("sign")!.every((s) => s === -1 || s === 0 || s === 1));
      }
    }
  }
});

type Conv2dShiftOptions = ShiftOptions & { bias?: boolean };

test("bad options fail with a clear message", () => {
  assert.throws(() => new LinearShift(2, 2, { mode: "ps", weightBits: 9 }), /weight bits must be an integer from 2 to 8, got 9/);
  assert.throws(() => new LinearShift(2, 2, { mode: "q", rounding: "up" as never }), /rounding must be deterministic or stochastic/);
  assert.throws(() => new LinearShift(2, 2, { mode: "x" as never }), /shift mode must be 'q' or 'ps'/);
  assert.throws(() => new LinearShift(2, 2, { mode: "q", activationBits: [0, 4] }), /integer bits must be an integer in 1..32, got 0/);
  assert.throws(() => new LinearShift(0, 2, { mode: "q" }), /inFeatures must be a positive integer/);
});
