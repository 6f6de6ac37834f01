// Learning-rate schedules: exact lr sequences against torch's closed forms.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ConstantLR,
  CosineAnnealingLR,
  LinearWarmupLR,
  makeScheduler,
  MultiStepLR,
  SGD,
  StepLR,
  type LRScheduler,
} from "../src/optim/index.js";

function sgd(...lrs: number[]): SGD {
  return new SGD(
    lrs.map((lr) => ({ params: [{ data: new Float32Array(1), grad: null }], lr })),
    { momentum: 0.9 },
  );
}

/** lr of group `g` at t = 0..n-1 (t = 0 is the value set by the constructor). */
function sequence(s: LRScheduler, n: number, g = 0): number[] {
  const out = [s.optimizer.paramGroups[g].lr];
  for (let t = 1; t < n; t++) {
    s.step();
    out.push(s.optimizer.paramGroups[g].lr);
  }
  return out;
}

function near(a: number, b: number, tol = 1e-12): boolean {
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}

test("cosine: base at t = 0, (base + etaMin)/2 at tMax/2, exactly etaMin at tMax", () => {
  const opt = sgd(0.1);
  const s = new CosineAnnealingLR(opt, 50, 0.001);
  const lrs = sequence(s, 51);
  assert.equal(lrs[0], 0.1);
  assert.ok(near(lrs[25], (0.1 + 0.001) / 2), `midpoint ${lrs[25]}`);
  assert.equal(lrs[50], 0.001);
  for (let t = 1; t < 50; t++) assert.ok(lrs[t] < lrs[t - 1], "strictly decreasing");
  assert.equal(s.lastEpoch, 50);
  assert.deepEqual(s.lastLr(), [0.001]);
});

test("cosine reproduces AdderNet's CIFAR rule lr = 0.05·(1 + cos(π·epoch/400))", () => {
  const s = new CosineAnnealingLR(sgd(0.1), 400);
  const lrs = sequence(s, 400);
  lrs.forEach((lr, e) => assert.ok(near(lr, 0.05 * (1 + Math.cos((Math.PI * e) / 400))), `epoch ${e}`));
});

test("cosine continues periodically past tMax, as torch's closed form", () => {
  const s = new CosineAnnealingLR(sgd(1), 4, 0);
  const lrs = sequence(s, 9);
  assert.ok(near(lrs[6], lrs[2]) && near(lrs[8], 1));
});

test("multistep drops exactly at the milestones", () => {
  const s = new MultiStepLR(sgd(1), [5, 3], 0.1); // unsorted on purpose
  const lrs = sequence(s, 8);
  const want = [1, 1, 1, 0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1, 0.1 * 0.1];
  lrs.forEach((lr, t) => assert.ok(near(lr, want[t]), `t=${t}: ${lr} vs ${want[t]}`));
  assert.equal(lrs[2], 1);
  assert.ok(lrs[3] < lrs[2] && lrs[5] < lrs[4]);
});

test("multistep applies gamma twice for a repeated milestone; DeepShift's 80/120/160/180 recipe", () => {
  const twice = sequence(new MultiStepLR(sgd(1), [2, 2], 0.5), 4);
  assert.deepEqual(twice, [1, 1, 0.25, 0.25]);
  const recipe = sequence(new MultiStepLR(sgd(0.1), [80, 120, 160, 180], 0.1), 200);
  for (const [t, drops] of [[79, 0], [80, 1], [119, 1], [120, 2], [160, 3], [180, 4], [199, 4]] as const) {
    assert.ok(near(recipe[t], 0.1 * 0.1 ** drops), `epoch ${t}`);
  }
});

test("step lr multiplies by gamma every stepSize units", () => {
  const lrs = sequence(new StepLR(sgd(0.1), 30, 0.1), 91);
  for (const [t, k] of [[0, 0], [29, 0], [30, 1], [59, 1], [60, 2], [90, 3]] as const) assert.ok(near(lrs[t], 0.1 * 0.1 ** k), `t=${t}`);
});

test("ConstantLR uses torch's defaults; the factory's 'constant' keeps lr at its base", () => {
  const lrs = sequence(new ConstantLR(sgd(0.3)), 7);
  lrs.slice(0, 5).forEach((lr) => assert.ok(near(lr, 0.1)));
  assert.deepEqual(lrs.slice(5), [0.3, 0.3]);
  assert.deepEqual(sequence(makeScheduler("constant", sgd(0.3)), 7), new Array(7).fill(0.3));
  const half = sequence(makeScheduler("constant", sgd(0.4), { factor: 0.5, totalIters: 2 }), 4);
  assert.deepEqual(half, [0.2, 0.2, 0.4, 0.4]);
});

test("linear warm-up then cosine: the cosine starts counting after the warm-up", () => {
  const opt = sgd(0.1);
  const s = new LinearWarmupLR(new CosineAnnealingLR(opt, 10), 4, 0.2);
  const lrs = sequence(s, 15);
  const want = [0.02, 0.04, 0.06, 0.08];
  for (let t = 0; t < 4; t++) assert.ok(near(lrs[t], want[t]), `warm-up t=${t}: ${lrs[t]}`);
  for (let t = 4; t < 15; t++) assert.ok(near(lrs[t], 0.05 * (1 + Math.cos((Math.PI * (t - 4)) / 10))), `t=${t}`);
  assert.equal(lrs[14], 0);
  const wrapped = new CosineAnnealingLR(sgd(1), 5);
  new LinearWarmupLR(wrapped, 2);
  assert.throws(() => wrapped.step(), /driven by LinearWarmupLR; step that instead/);
});

test("each group keeps its own base lr (DeepShift's per-group sign lr is not lost)", () => {
  const opt = sgd(0.1, 0.01);
  const s = makeScheduler("cosine", opt, { tMax: 10 });
  for (let t = 0; t < 9; t++) {
    const [a, b] = opt.paramGroups.map((g) => g.lr);
    assert.ok(near(a / b, 10, 1e-9), `t=${t}: ratio ${a / b}`);
    s.step();
  }
  const m = makeScheduler("multistep", sgd(1, 3), { milestones: [1], gamma: 0.5 });
  m.step();
  assert.deepEqual(m.lastLr(), [0.5, 1.5]);
});

test("a scheduler refuses to step when the optimizer gained a param group", () => {
  const opt = sgd(0.1);
  const s = new StepLR(opt, 2);
  opt.addParamGroup({ params: [{ data: new Float32Array(1), grad: null }] });
  assert.throws(() => s.step(), /the optimizer has 2 param groups, the scheduler was built for 1/);
});

test("stateDict round trip continues the sequence and restores the lr", () => {
  const a = new CosineAnnealingLR(sgd(0.1), 20, 0.01);
  const full = sequence(a, 20);
  const b = new CosineAnnealingLR(sgd(0.1), 20, 0.01);
  sequence(b, 8);
  const saved = JSON.parse(JSON.stringify(b.stateDict()));
  const optC = sgd(0.1);
  const c = new CosineAnnealingLR(optC, 20, 0.01);
  c.loadStateDict(saved);
  assert.equal(optC.paramGroups[0].lr, full[7], "the saved lr is written back");
  assert.equal(c.lastEpoch, 7);
  const rest: number[] = [];
  for (let t = 8; t < 20; t++) {
    c.step();
    rest.push(optC.paramGroups[0].lr);
  }
  assert.deepEqual(rest, full.slice(8));
});
