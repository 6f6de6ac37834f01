// stateDict / loadStateDict: a run saved after 5 steps and resumed in fresh objects gives the
// same bytes as 10 uninterrupted steps; bad saved states are rejected before anything changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adam,
  CosineAnnealingLR,
  makeScheduler,
  RAdam,
  SGD,
  type LRScheduler,
  type Optimizer,
  type OptimizerStateDict,
  type OptimParam,
  type SchedulerStateDict,
} from "../src/optim/index.js";
import { rng } from "./random.js";


/** Two groups of three parameters, same values for the same seed. */
function makeParams(seed: number): OptimParam[] {
  const r = rng(seed);
  return [5, 17, 1, 8, 33, 2].map((n, i) => ({
    data: Float32Array.from({ length: n }, () => r() * 2 - 1),
    grad: new Float32Array(n),
    name: `p${i}`,
  }));
}

/** A gradient that depends on the current weights and the step, so any divergence propagates. */
function setGrads(params: OptimParam[], t: number): void {
  params.forEach((p, k) => {
    if (k === 3 && t % 3 === 0) {
      p.grad = null; // sometimes no gradient: that parameter's step count lags behind
      return;
    }
    const g = (p.grad ??= new Float32Array(p.data.length));
    for (let i = 0; i < g.length; i++) g[i] = Math.sin(3 * p.data[i] + t + k) + 0.1 * Math.cos(i * t);
  });
}

type Build = (params: OptimParam[]) => { opt: Optimizer; sched: LRScheduler | null };

function trainSteps(opt: Optimizer, sched: LRScheduler | null, params: OptimParam[], from: number, to: number): number[] {
  const lrs: number[] = [];
  for (let t = from; t < to; t++) {
    setGrads(params, t);
    opt.step();
    lrs.push(opt.paramGroups[0].lr);
    sched?.step();
  }
  return lrs;
}

function bytes(params: OptimParam[]): Uint8Array[] {
  return params.map((p) => new Uint8Array(p.data.buffer.slice(p.data.byteOffset, p.data.byteOffset + p.data.byteLength)));
}

/** Copies a state dict as a checkpoint would: JSON for groups and numbers, fresh arrays for tensors. */
function viaCheckpoint(sd: OptimizerStateDict): OptimizerStateDict {
  return {
    groups: JSON.parse(JSON.stringify(sd.groups)),
    state: sd.state.map((rec) =>
      Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, v instanceof Float32Array ? new Float32Array(v) : v])),
    ),
  };
}

function checkResume(build: Build): void {
  const straightParams = makeParams(7);
  const straight = build(straightParams);
  const straightLrs = trainSteps(straight.opt, straight.sched, straightParams, 0, 10);

  const firstParams = makeParams(7);
  const first = build(firstParams);
  const lrs = trainSteps(first.opt, first.sched, firstParams, 0, 5);
  const saved = viaCheckpoint(first.opt.stateDict());
  const savedSched = first.sched ? (JSON.parse(JSON.stringify(first.sched.stateDict())) as SchedulerStateDict) : null;
  const savedWeights = firstParams.map((p) => Float32Array.from(p.data));

  const resumedParams = makeParams(99); // different values: everything must come from the checkpoint
  resumedParams.forEach((p, i) => p.data.set(savedWeights[i]));
  const resumed = build(resumedParams);
  resumed.opt.loadStateDict(saved);
  if (savedSched) resumed.sched!.loadStateDict(savedSched);
  lrs.push(...trainSteps(resumed.opt, resumed.sched, resumedParams, 5, 10));

  assert.deepEqual(bytes(resumedParams), bytes(straightParams));
  assert.deepEqual(resumed.opt.stateDict(), straight.opt.stateDict());
  assert.deepEqual(lrs, straightLrs);
  // The check can fail: a run that skips the state load diverges.
  const naiveParams = makeParams(7);
  naiveParams.forEach((p, i) => p.data.set(savedWeights[i]));
  const naive = build(naiveParams);
  trainSteps(naive.opt, naive.sched, naiveParams, 5, 10);
  assert.notDeepEqual(bytes(naiveParams), bytes(straightParams));
}

const twoGroups = (params: OptimParam[]) => [
  { params: params.slice(0, 3) },
  { params: params.slice(3), lr: 0.02, weightDecay: 0.01 },
];

test("resume is bit-identical: SGD with momentum and Nesterov", () => {
  checkResume((ps) => ({ opt: new SGD(twoGroups(ps), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }), sched: null }));
  checkResume((ps) => ({ opt: new SGD(twoGroups(ps), { lr: 0.05, momentum: 0.9, dampening: 0.1 }), sched: null }));
});

test("resume is bit-identical: Adam (with and without amsgrad)", () => {
  checkResume((ps) => ({ opt: new Adam(twoGroups(ps), { lr: 0.01 }), sched: null }));
  checkResume((ps) => ({ opt: new Adam(twoGroups(ps), { lr: 0.01, amsgrad: true, betas: [0.9, 0.9] }), sched: null }));
});

test("resume is bit-identical: RAdam across the rectification threshold (steps 1-5, then 6-10)", () => {
  checkResume((ps) => ({ opt: new RAdam(twoGroups(ps), { lr: 0.01 }), sched: null }));
});

test("resume is bit-identical: SGD with a cosine schedule, and with a warm-up before multistep", () => {
  checkResume((ps) => {
    const opt = new SGD(twoGroups(ps), { lr: 0.1, momentum: 0.9 });
    return { opt, sched: new CosineAnnealingLR(opt, 10, 0.001) };
  });
  checkResume((ps) => {
    const opt = new SGD(twoGroups(ps), { lr: 0.1, momentum: 0.9 });
    return { opt, sched: makeScheduler("multistep", opt, { milestones: [2, 4], gamma: 0.5, warmupSteps: 3 }) };
  });
});

test("stateDict is a snapshot and loadStateDict copies", () => {
  const p = { data: Float32Array.from([1, 2]), grad: Float32Array.from([1, 1]) };
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
  opt.step();
  const sd = opt.stateDict();
  const buf = sd.state[0].momentumBuffer as Float32Array;
  const copy = Float32Array.from(buf);
  opt.step();
  assert.deepEqual(buf, copy, "later steps do not change a saved state");
  opt.loadStateDict(sd);
  buf.fill(123);
  assert.deepEqual(opt.stateDict().state[0].momentumBuffer, copy, "changing the dict after loading does not change the optimizer");
  sd.groups[0].lr = 5;
  assert.equal(opt.paramGroups[0].lr, 0.1);
});

test("loadStateDict restores group options, including a scheduler-set lr", () => {
  const ps = makeParams(1);
  const a = new Adam(twoGroups(ps), { lr: 0.01, betas: [0.8, 0.95] });
  a.paramGroups[1].lr = 0.0042;
  const b = new Adam(twoGroups(makeParams(1)), { lr: 0.5 });
  b.loadStateDict(a.stateDict());
  assert.equal(b.paramGroups[1].lr, 0.0042);
  assert.deepEqual(b.paramGroups[0].betas, [0.8, 0.95]);
  assert.deepEqual(b.stateDict().groups, a.stateDict().groups);
});

test("bad saved states are rejected with a clear message and change nothing", () => {
  const ps = makeParams(3);
  const opt = new Adam(twoGroups(ps), { lr: 0.01 });
  setGrads(ps, 1);
  opt.step();
  const good = opt.stateDict();
  const before = JSON.stringify(opt.stateDict().groups);
  const cases: [string, (sd: OptimizerStateDict) => unknown, RegExp][] = [
    ["group count", (sd) => ({ ...sd, groups: sd.groups.slice(1) }), /saved state has 1 param groups, this optimizer has 2/],
    ["param count", (sd) => ({ ...sd, state: sd.state.slice(1) }), /saved state has 5 parameters, this optimizer has 6/],
    ["array size", (sd) => ({ ...sd, state: sd.state.map((s, i) => (i === 4 ? { ...s, expAvg: new Float32Array(3) } : s)) }), /state\[4\] \(parameter 4 \('p4'\)\): 'expAvg' has 3 values, the parameter has 33/],
    ["unknown entry", (sd) => ({ ...sd, state: sd.state.map((s, i) => (i === 0 ? { ...s, momentumBuffer: new Float32Array(5) } : s)) }), /unknown state entry 'momentumBuffer'/],
    ["step", (sd) => ({ ...sd, state: sd.state.map((s, i) => (i === 0 ? { ...s, step: 1.5 } : s)) }), /'step' must be an integer >= 1, got 1.5/],
    ["bad option", (sd) => ({ ...sd, groups: sd.groups.map((g, i) => (i === 1 ? { ...g, lr: -1 } : g)) }), /groups\[1\]: option 'lr' must be >= 0, got -1/],
    ["foreign option", (sd) => ({ ...sd, groups: sd.groups.map((g) => ({ ...g, momentum: 0.9 })) }), /unknown option 'momentum'/],
    ["shape", () => ({ groups: {} }), /expected \{ groups: \[...\], state: \[...\] \}/],
  ];
  const snapshot = opt.stateDict();
  for (const [what, mutate, message] of cases) {
    // The last parameter's state is fine in every case, so a partial load would show.
    const bad = mutate(viaCheckpoint(good)) as OptimizerStateDict;
    if (bad.state) bad.state = bad.state.map((s, i) => (i === bad.state.length - 1 ? { ...s, step: 77 } : s));
    assert.throws(() => opt.loadStateDict(bad), message, what);
    assert.deepEqual(opt.stateDict(), snapshot, `${what}: nothing changed`);
    assert.equal(JSON.stringify(opt.stateDict().groups), before);
  }
  const sgd = new SGD(twoGroups(makeParams(3)), { lr: 0.1 });
  assert.throws(() => sgd.loadStateDict(good), /SGD\.loadStateDict groups\[0\]: unknown option 'betas'/);
});

test("scheduler state: wrong kind, wrong group count and bad values are rejected", () => {
  const opt = new SGD(twoGroups(makeParams(4)), { lr: 0.1 });
  const cos = new CosineAnnealingLR(opt, 10);
  cos.step();
  const sd = cos.stateDict();
  const step = makeScheduler("step", opt, { stepSize: 3 });
  assert.throws(() => step.loadStateDict(sd), /StepLR\.loadStateDict: saved state is for "CosineAnnealingLR", not StepLR/);
  const single = new SGD(makeParams(4), { lr: 0.1 });
  assert.throws(() => new CosineAnnealingLR(single, 10).loadStateDict(sd), /'baseLrs' must be an array of 1 learning rates/);
  assert.throws(() => cos.loadStateDict({ ...sd, lastEpoch: -3 }), /'lastEpoch' must be an integer >= 0, got -3/);
  assert.throws(() => cos.loadStateDict({ ...sd, config: { tMax: 0, etaMin: 0 } }), /config: option 'tMax' must be an integer >= 1, got 0/);
  assert.equal(cos.lastEpoch, 1, "a failed load changes nothing");
});
