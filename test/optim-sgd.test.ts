// SGD against torch.optim.SGD's formulas: hand-computed steps and an f64 transliteration of
// torch's `_single_tensor_sgd` on random arrays.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SGD, type SGDOptions } from "../src/optim/index.js";
import { randomArray, rng } from "./random.js";
import { assertScaledClose } from "./close.js";

/** torch's _single_tensor_sgd in double precision. */
function referenceSGD(p0: ArrayLike<number>, grads: ArrayLike<number>[], o: SGDOptions): number[] {
  const p = Array.from(p0);
  let buf: number[] | null = null;
  for (const gradT of grads) {
    let g = Array.from(gradT);
    if (o.weightDecay !== 0) g = g.map((gi, i) => gi + o.weightDecay * p[i]);
    if (o.momentum !== 0) {
      if (buf === null) buf = [...g];
      else buf = buf.map((b, i) => o.momentum * b + (1 - o.dampening) * g[i]);
      const b = buf;
      g = o.nesterov ? g.map((gi, i) => gi + o.momentum * b[i]) : [...b];
    }
    for (let i = 0; i < p.length; i++) p[i] += -o.lr * g[i];
  }
  return p;
}

function param(values: number[]): { data: Float32Array; grad: Float32Array } {
  return { data: Float32Array.from(values), grad: new Float32Array(values.length) };
}

test("SGD momentum: hand-computed steps, buffer starts as the gradient", () => {
  const p = param([1, -2]);
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
  p.grad.set([0.5, 0.25]);
  opt.step();
  assertScaledClose(p.data, [0.95, -2.025]);
  opt.step(); // buf = 0.9·g + g
  assertScaledClose(p.data, [0.855, -2.0725]);
});

test("SGD Nesterov: hand-computed steps use g + momentum·buf", () => {
  const p = param([1, -2]);
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true });
  p.grad.set([0.5, 0.25]);
  opt.step();
  assertScaledClose(p.data, [0.905, -2.0475]);
  opt.step();
  assertScaledClose(p.data, [0.7695, -2.11525]);
});

test("SGD dampening is not applied on the first momentum step", () => {
  const p = param([1]);
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.5 });
  p.grad.set([0.5]);
  opt.step();
  assertScaledClose(p.data, [0.95]); // buf = g, not 0.5·g
  opt.step();
  assertScaledClose(p.data, [0.88]); // buf = 0.9·0.5 + 0.5·0.5 = 0.7
});

test("SGD weight decay: with a zero gradient p shrinks by (1 - lr·wd) per step", () => {
  const p = param([2, -4]);
  const opt = new SGD([p], { lr: 0.1, weightDecay: 0.5 });
  for (let t = 0; t < 3; t++) opt.step();
  assertScaledClose(p.data, [2 * 0.95 ** 3, -4 * 0.95 ** 3]);
});

test("SGD matches the f64 torch formulas on random arrays for every option combination", () => {
  const r = rng(1);
  const combos: SGDOptions[] = [];
  for (const momentum of [0, 0.9])
    for (const nesterov of [false, true])
      for (const dampening of [0, 0.3])
        for (const weightDecay of [0, 5e-2]) {
          if (nesterov && (momentum === 0 || dampening !== 0)) continue;
          combos.push({ lr: 0.05, momentum, dampening, nesterov, weightDecay });
        }
  assert.equal(combos.length, 10);
  for (const o of combos) {
    const n = 37;
    const p0 = randomArray(r, n, 2);
    const grads = Array.from({ length: 6 }, () => randomArray(r, n));
    const p = { data: Float32Array.from(p0), grad: new Float32Array(n) };
    const opt = new SGD([p], o);
    for (const g of grads) {
      p.grad.set(g);
      opt.step();
    }
    assertScaledClose(p.data, referenceSGD(p0, grads, o), 1e-6, JSON.stringify(o));
  }
});

test("Nesterov and plain momentum differ by lr·momentum·buf, as the formula says", () => {
  const r = rng(2);
  const n = 16;
  const p0 = randomArray(r, n);
  const g1 = randomArray(r, n), g2 = randomArray(r, n);
  const run = (nesterov: boolean) => {
    const p = { data: Float32Array.from(p0), grad: new Float32Array(n) };
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, nesterov });
    p.grad.set(g1);
    opt.step();
    p.grad.set(g2);
    opt.step();
    return p.data;
  };
  const plain = run(false), nest = run(true);
  // buf1 = g1, buf2 = 0.9·g1 + g2. Plain moves by lr·(buf1 + buf2); Nesterov by
  // lr·((g1 + 0.9·buf1) + (g2 + 0.9·buf2)).
  for (let i = 0; i < n; i++) {
    const buf1 = g1[i], buf2 = 0.9 * g1[i] + g2[i];
    const expected = 0.1 * (g1[i] + 0.9 * buf1 + g2[i] + 0.9 * buf2) - 0.1 * (buf1 + buf2);
    assert.ok(Math.abs(plain[i] - nest[i] - expected) < 1e-6, `element ${i}: ${plain[i] - nest[i]} vs ${expected}`);
  }
  assert.ok(plain.some((v, i) => Math.abs(v - nest[i]) > 1e-3), "the two runs must differ");
});

test("SGD skips parameters without a gradient and keeps no state for them", () => {
  const a = param([1, 2]);
  const b = { data: Float32Array.from([3, 4]), grad: null as Float32Array | null };
  const opt = new SGD([a, b], { lr: 0.1, momentum: 0.9 });
  a.grad.set([1, 1]);
  opt.step();
  assert.deepEqual([...b.data], [3, 4]);
  const sd = opt.stateDict();
  assert.ok(sd.state[0].momentumBuffer instanceof Float32Array);
  assert.deepEqual(sd.state[1], {});
});

test("SGD without momentum keeps no state", () => {
  const p = param([1]);
  const opt = new SGD([p], { lr: 0.1 });
  p.grad.set([1]);
  opt.step();
  assert.deepEqual(opt.stateDict().state, [{}]);
});

test("SGD changes only the step's arrays: same data and grad objects, no new state arrays after step 1", () => {
  const p = param([1, 2, 3]);
  const data = p.data, grad = p.grad;
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
  p.grad.set([1, 2, 3]);
  opt.step();
  const buf = (opt as unknown as { state: { momentumBuffer: Float32Array }[] }).state[0].momentumBuffer;
  opt.step();
  assert.equal(p.data, data);
  assert.equal(p.grad, grad);
  assert.equal((opt as unknown as { state: { momentumBuffer: Float32Array }[] }).state[0].momentumBuffer, buf);
});
