// Parameter groups (per-group options, writable lr), zeroGrad, gradient hooks and AdderNet's
// adaptive learning rate.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Adam, RAdam, SGD, adaptiveLrHook, registerAdaptiveLr, type OptimParam } from "../src/optim/index.js";
import { randomArray, rng } from "./random.js";
import { assertScaledClose } from "./close.js";

function makeParam(r: () => number, n: number, name?: string): OptimParam & { grad: Float32Array } {
  return { data: randomArray(r, n), grad: randomArray(r, n), name };
}

function rms(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s / a.length);
}

test("param groups: each group's lr, momentum and weightDecay are applied to its own params", () => {
  const r = rng(21);
  const a = makeParam(r, 10), b = makeParam(r, 12), c = makeParam(r, 7);
  const a0 = Float32Array.from(a.data), b0 = Float32Array.from(b.data), c0 = Float32Array.from(c.data);
  const ga = Float32Array.from(a.grad), gb = Float32Array.from(b.grad), gc = Float32Array.from(c.grad);
  const opt = new SGD(
    [
      { params: [a] }, // defaults: lr 0.1, momentum 0.9, weightDecay 0
      { params: [b], lr: 0.01, weightDecay: 0.5 },
      { params: [c], momentum: 0, name: "no-momentum" },
    ],
    { lr: 0.1, momentum: 0.9 },
  );
  assert.deepEqual(
    opt.paramGroups.map((g) => [g.lr, g.momentum, g.weightDecay, g.name]),
    [
      [0.1, 0.9, 0, undefined],
      [0.01, 0.9, 0.5, undefined],
      [0.1, 0, 0, "no-momentum"],
    ],
  );
  opt.step(); // first momentum step: buf = g (+ wd·p), so p -= lr·(g + wd·p) in every group
  assertScaledClose(a.data, Array.from(a0, (p, i) => p - 0.1 * ga[i]));
  assertScaledClose(b.data, Array.from(b0, (p, i) => p - 0.01 * (gb[i] + 0.5 * p)));
  assertScaledClose(c.data, Array.from(c0, (p, i) => p - 0.1 * gc[i]));
  const a1 = Float32Array.from(a.data), b1 = Float32Array.from(b.data), c1 = Float32Array.from(c.data);
  opt.step(); // same gradients: momentum groups move by lr·(0.9·buf + g'), the plain group by lr·g
  assertScaledClose(a.data, Array.from(a1, (p, i) => p - 0.1 * (0.9 * ga[i] + ga[i])));
  assertScaledClose(b.data, Array.from(b1, (p, i) => p - 0.01 * (0.9 * (gb[i] + 0.5 * b0[i]) + gb[i] + 0.5 * p)));
  assertScaledClose(c.data, Array.from(c1, (p, i) => p - 0.1 * gc[i]));
  assert.deepEqual(opt.stateDict().state[2], {}, "the momentum-free group keeps no buffer");
});

test("paramGroups[i].lr is writable and takes effect on the next step", () => {
  const p = { data: Float32Array.from([1]), grad: Float32Array.from([1]) };
  const opt = new Adam([p], { lr: 0.1 });
  opt.step();
  const before = p.data[0];
  opt.paramGroups[0].lr = 0;
  opt.step();
  assert.equal(p.data[0], before, "lr 0 freezes the parameter");
  opt.paramGroups[0].lr = 0.5;
  opt.step();
  assert.ok(before - p.data[0] > 0.4, "a larger lr moves it further");
});

test("addParamGroup inherits the defaults and extends the flat index", () => {
  const r = rng(22);
  const a = makeParam(r, 3), b = makeParam(r, 4);
  const opt = new RAdam([a], { lr: 0.02, betas: [0.8, 0.99] });
  opt.addParamGroup({ params: [b], weightDecay: 0.1 });
  assert.equal(opt.paramGroups[1].lr, 0.02);
  assert.deepEqual(opt.paramGroups[1].betas, [0.8, 0.99]);
  assert.notEqual(opt.paramGroups[1].betas, opt.paramGroups[0].betas, "groups do not share the betas array");
  assert.deepEqual(opt.flatParams(), [a, b]);
  assert.throws(() => opt.addParamGroup({ params: [a] }), /already in another group/);
});

test("zeroGrad fills gradients with 0, keeps the arrays and leaves null gradients null", () => {
  const r = rng(23);
  const a = makeParam(r, 5);
  const b: OptimParam = { data: new Float32Array(2), grad: null };
  const grad = a.grad;
  const opt = new SGD([a, b], { lr: 0.1 });
  opt.zeroGrad();
  assert.equal(a.grad, grad);
  assert.deepEqual([...a.grad], [0, 0, 0, 0, 0]);
  assert.equal(b.grad, null);
});

test("hooks see the raw gradient before weight decay, in registration order, and can be removed", () => {
  const p = { data: Float32Array.from([2, -2]), grad: Float32Array.from([0.5, 0.25]) };
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.5 });
  const seen: string[] = [];
  const h1 = opt.registerGradHook(p, (g, param) => {
    assert.equal(param, p);
    seen.push(`h1:${[...g]}`);
    g[0] *= 2;
  });
  opt.registerGradHook(p, (g) => seen.push(`h2:${[...g]}`));
  opt.step();
  assert.deepEqual(seen, ["h1:0.5,0.25", "h2:1,0.25"]);
  // The optimizer used the hooked gradient plus weight decay on the original p.
  assertScaledClose(p.data, [2 - 0.1 * (1 + 0.5 * 2), -2 - 0.1 * (0.25 - 0.5 * 2)]);
  h1.remove();
  seen.length = 0;
  p.grad.set([0.5, 0.25]);
  opt.step();
  assert.deepEqual(seen, ["h2:0.5,0.25"]);
});

test("hooks are not called for a parameter without a gradient; foreign parameters are rejected", () => {
  const p: OptimParam = { data: new Float32Array(3), grad: null, name: "w" };
  const opt = new SGD([p], { lr: 0.1 });
  let calls = 0;
  opt.registerGradHook(p, () => calls++);
  opt.step();
  assert.equal(calls, 0);
  assert.throws(() => opt.registerGradHook({ data: new Float32Array(1), grad: null, name: "other" }, () => {}), /'other' is not managed by this optimizer/);
});

test("adaptiveLrHook: every hooked gradient has RMS exactly eta", () => {
  const r = rng(24);
  for (const eta of [0.2, 0.05, 1.5]) {
    const hook = adaptiveLrHook(eta);
    for (const [n, scale] of [[1, 3], [7, 1e-6], [150, 40], [1000, 1]] as const) {
      const g = randomArray(r, n, scale);
      const p = { data: new Float32Array(n), grad: g };
      hook(g, p);
      assert.ok(Math.abs(rms(g) - eta) <= 1e-6 * eta, `eta ${eta}, n ${n}: rms ${rms(g)}`);
    }
  }
});

test("adaptiveLrHook leaves a zero gradient at zero (norm floor 1e-12) and scales a tiny one up", () => {
  const z = new Float32Array(4);
  adaptiveLrHook()(z, { data: new Float32Array(4), grad: z });
  assert.deepEqual([...z], [0, 0, 0, 0]);
  const tiny = Float32Array.from([3e-20, -4e-20]); // norm 5e-20 < 1e-12: scaled by eta·√2/1e-12
  adaptiveLrHook(0.2)(tiny, { data: new Float32Array(2), grad: tiny });
  assertScaledClose(tiny, [3e-20 * 0.2 * Math.SQRT2 / 1e-12, -4e-20 * 0.2 * Math.SQRT2 / 1e-12]);
});

test("adaptive lr runs before weight decay: the decay term is not rescaled", () => {
  const r = rng(25);
  const n = 64, eta = 0.2, lr = 0.5, wd = 0.3;
  const p = makeParam(r, n);
  p.grad = randomArray(r, n, 1e-3); // small raw gradient: rescaling it (×~200) is obvious
  const p0 = Float32Array.from(p.data), g0 = Float32Array.from(p.grad);
  const opt = new SGD([p], { lr, weightDecay: wd });
  registerAdaptiveLr(opt, [p], eta);
  opt.step();
  let norm = 0;
  for (const g of g0) norm += g * g;
  const s = (eta * Math.sqrt(n)) / Math.sqrt(norm);
  const expected = Array.from(p0, (w, i) => w - lr * (g0[i] * s + wd * w));
  assertScaledClose(p.data, expected, 1e-6);
  assert.ok(Math.abs(rms(p.grad) - eta) < 1e-6, "the stored gradient is the normalised one");
  // The wrong order (decay first, then normalise the sum) gives a visibly different result.
  const sum = Array.from(g0, (g, i) => g + wd * p0[i]);
  const sNorm = Math.sqrt(sum.reduce((acc, x) => acc + x * x, 0));
  const wrong = Array.from(p0, (w, i) => w - lr * sum[i] * ((eta * Math.sqrt(n)) / sNorm));
  assert.ok(wrong.some((w, i) => Math.abs(w - p.data[i]) > 1e-2));
});

test("adaptive lr: each tensor is normalised on its own; momentum accumulates normalised gradients", () => {
  const r = rng(26);
  const a = makeParam(r, 9), b = makeParam(r, 30), plain = makeParam(r, 5);
  b.grad = randomArray(r, 30, 100);
  const plainGrad = Float32Array.from(plain.grad);
  const opt = new SGD([a, b, plain], { lr: 0.1, momentum: 0.9 });
  registerAdaptiveLr(opt, [a, b], 0.2);
  opt.step();
  assert.ok(Math.abs(rms(a.grad) - 0.2) < 1e-6 && Math.abs(rms(b.grad) - 0.2) < 1e-6);
  assert.deepEqual(plain.grad, plainGrad, "un-hooked parameters keep their raw gradient");
  const g1 = Float32Array.from(b.grad);
  b.grad.set(randomArray(r, 30, 0.01));
  opt.step();
  const buf = opt.stateDict().state[1].momentumBuffer as Float32Array;
  assertScaledClose(buf, Array.from(g1, (g, i) => 0.9 * g + b.grad[i]));
  assert.ok(Math.abs(rms(b.grad) - 0.2) < 1e-6);
});

test("adaptiveLrHook rejects a non-positive eta", () => {
  assert.throws(() => adaptiveLrHook(0), /'eta' must be a finite number > 0, got 0/);
  assert.throws(() => adaptiveLrHook(-0.2), /'eta'/);
  assert.throws(() => adaptiveLrHook(Number.NaN), /'eta'/);
});
