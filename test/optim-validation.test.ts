// Bad options and inputs give errors that name the optimizer, the group and the option.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adam,
  CosineAnnealingLR,
  LinearWarmupLR,
  makeOptimizer,
  makeScheduler,
  MultiStepLR,
  optimizerOptionKeys,
  RAdam,
  SGD,
  StepLR,
  type OptimParam,
} from "../src/optim/index.js";

const param = (n = 2, name?: string): OptimParam => ({ data: new Float32Array(n).fill(1), grad: new Float32Array(n).fill(1), name });

test("SGD option errors name the option and the value", () => {
  const p = [param()];
  const cases: [object, RegExp][] = [
    [{ lr: -0.1 }, /SGD options: option 'lr' must be >= 0, got -0.1/],
    [{ lr: Number.NaN }, /option 'lr' must be a finite number, got NaN/],
    [{ lr: "0.1" }, /option 'lr' must be a finite number, got "0.1"/],
    [{ momentum: 1 }, /option 'momentum' must be in \[0, 1\), got 1/],
    [{ momentum: -0.5 }, /option 'momentum' must be in \[0, 1\), got -0.5/],
    [{ dampening: 2 }, /option 'dampening' must be in \[0, 1\], got 2/],
    [{ weightDecay: -1e-4 }, /option 'weightDecay' must be >= 0/],
    [{ nesterov: true }, /option 'nesterov' requires 'momentum' > 0 and 'dampening' = 0, got momentum 0/],
    [{ nesterov: true, momentum: 0.9, dampening: 0.1 }, /option 'nesterov' requires .* dampening 0.1/],
    [{ nesterov: 1 }, /option 'nesterov' must be true or false, got 1/],
    [{ momentun: 0.9 }, /SGD options: unknown option 'momentun' \(valid: lr, momentum, dampening, nesterov, weightDecay\)/],
  ];
  for (const [opts, message] of cases) assert.throws(() => new SGD(p, opts as never), message, JSON.stringify(opts));
  assert.doesNotThrow(() => new SGD(p, { lr: 0, momentum: 0.9, nesterov: true, weightDecay: undefined }));
});

test("Adam and RAdam option errors", () => {
  const p = [param()];
  assert.throws(() => new Adam(p, { betas: [0.9, 1] }), /Adam options: option 'betas' must be a pair of numbers each in \[0, 1\), got \[0.9, 1\]/);
  assert.throws(() => new Adam(p, { betas: [-0.1, 0.9] }), /option 'betas'/);
  assert.throws(() => new Adam(p, { betas: [0.9] as never }), /option 'betas' must be a pair \[beta1, beta2\], got \[0.9\]/);
  assert.throws(() => new Adam(p, { eps: -1 }), /option 'eps' must be >= 0/);
  assert.throws(() => new Adam(p, { amsgrad: "yes" as never }), /option 'amsgrad' must be true or false/);
  assert.throws(() => new RAdam(p, { lr: -1 }), /RAdam options: option 'lr' must be >= 0, got -1/);
  assert.throws(() => new RAdam(p, { amsgrad: true } as never), /RAdam options: unknown option 'amsgrad'/);
});

test("group options are checked per group and the message names the group", () => {
  assert.throws(
    () => new SGD([{ params: [param()] }, { params: [param()], momentum: 1.5 }], { lr: 0.1 }),
    /SGD param group 1: option 'momentum' must be in \[0, 1\), got 1.5/,
  );
  assert.throws(() => new Adam([{ params: [param()], beta: [0.9, 0.9] } as never]), /Adam param group 0: unknown option 'beta'/);
});

test("parameter list errors", () => {
  const p = param();
  assert.throws(() => new SGD([]), /SGD: got an empty parameter list/);
  assert.throws(() => new SGD([p, p]), /params\[1\] appears twice in the group/);
  assert.throws(() => new SGD([{ params: [p] }, { params: [p] }]), /SGD param group 1: params\[0\] is already in another group/);
  assert.throws(() => new SGD([p, { params: [param()] }] as never), /mix of parameters and parameter groups at index 1/);
  assert.throws(() => new SGD([{ data: [1, 2], grad: null }] as never), /params\[0\] is not a parameter \(needs a Float32Array 'data'\)/);
});

test("step() rejects a bad lr set at run time or a gradient of the wrong size, before changing anything", () => {
  const a = param(2, "a"), b = param(3, "b");
  const opt = new SGD([a, { params: [b] }].slice(0, 1) as OptimParam[], { lr: 0.1 });
  opt.addParamGroup({ params: [b], name: "head" });
  opt.paramGroups[1].lr = -1;
  assert.throws(() => opt.step(), /SGD param group 1 \('head'\): option 'lr' must be >= 0, got -1/);
  assert.deepEqual([...a.data], [1, 1], "the valid group was not updated either");
  opt.paramGroups[1].lr = Number.POSITIVE_INFINITY;
  assert.throws(() => opt.step(), /option 'lr' must be a finite number, got Infinity/);
  opt.paramGroups[1].lr = 0.1;
  b.grad = new Float32Array(2);
  assert.throws(() => opt.step(), /SGD\.step: parameter 1 \('b'\) has 3 values but its gradient has 2/);
  assert.deepEqual([...a.data], [1, 1]);
});

test("step() rejects parameters whose data was replaced by a different size", () => {
  const a = param(2, "a");
  const opt = new Adam([a]);
  opt.step();
  a.data = new Float32Array(5);
  a.grad = new Float32Array(5);
  assert.throws(() => opt.step(), /Adam\.step: parameter 0 \('a'\) has 5 values but its state has 2/);
});

test("makeOptimizer: names, unknown names, typos, options of other optimizers", () => {
  const ps = () => [param()];
  assert.ok(makeOptimizer("sgd", ps(), { lr: 0.1, momentum: 0.9 }) instanceof SGD);
  assert.ok(makeOptimizer("adam", ps()) instanceof Adam);
  assert.ok(makeOptimizer("radam", ps()) instanceof RAdam);
  const adamw = makeOptimizer("adamw", ps()) as Adam;
  assert.equal(adamw.paramGroups[0].decoupledWeightDecay, true);
  assert.equal(adamw.paramGroups[0].weightDecay, 1e-2);
  assert.throws(() => makeOptimizer("adagrad", ps()), /makeOptimizer: unknown optimizer "adagrad" \(valid: sgd, adam, adamw, radam\)/);
  assert.throws(() => makeOptimizer("sgd", ps(), { lr: 0.1, moment: 0.9 } as never), /makeOptimizer\('sgd'\): unknown option 'moment'/);
  assert.throws(() => makeOptimizer("adamw", ps(), { decoupledWeightDecay: false }), /cannot be false/);
  // One options bag for every name: another optimizer's options are ignored, its own are checked.
  const radam = makeOptimizer("radam", ps(), { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }) as RAdam;
  assert.equal(radam.paramGroups[0].weightDecay, 1e-4);
  assert.throws(() => makeOptimizer("sgd", ps(), { lr: -1, betas: [0.9, 0.999] }), /SGD options: option 'lr' must be >= 0/);
  assert.deepEqual(optimizerOptionKeys("sgd"), ["lr", "momentum", "dampening", "nesterov", "weightDecay"]);
  assert.throws(() => optimizerOptionKeys("lbfgs"), /unknown optimizer "lbfgs"/);
});

test("makeScheduler: names, required options, typos", () => {
  const opt = new SGD([param()], { lr: 0.1 });
  assert.ok(makeScheduler("cosine", opt, { tMax: 5 }) instanceof CosineAnnealingLR);
  assert.ok(makeScheduler("multistep", opt, { milestones: [1] }) instanceof MultiStepLR);
  assert.ok(makeScheduler("step", opt, { stepSize: 1, tMax: 50, milestones: [3] }) instanceof StepLR);
  assert.ok(makeScheduler("cosine", opt, { tMax: 5, warmupSteps: 2 }) instanceof LinearWarmupLR);
  assert.throws(() => makeScheduler("poly", opt), /makeScheduler: unknown scheduler "poly" \(valid: cosine, multistep, step, constant\)/);
  assert.throws(() => makeScheduler("cosine", opt), /makeScheduler\('cosine'\): option 'tMax' is required/);
  assert.throws(() => makeScheduler("multistep", opt, { gamma: 0.1 }), /option 'milestones' is required/);
  assert.throws(() => makeScheduler("cosine", opt, { tmax: 5 } as never), /unknown option 'tmax'/);
  assert.throws(() => makeScheduler("cosine", opt, { tMax: 5, warmupStartFactor: 0.1 }), /'warmupStartFactor' needs 'warmupSteps' > 0/);
  assert.throws(() => makeScheduler("cosine", opt, { tMax: 5, warmupSteps: 1.5 }), /option 'warmupSteps' must be an integer >= 0, got 1.5/);
});

test("scheduler option errors", () => {
  const opt = new SGD([param()], { lr: 0.1 });
  assert.throws(() => new CosineAnnealingLR(opt, 0), /CosineAnnealingLR: option 'tMax' must be an integer >= 1, got 0/);
  assert.throws(() => new CosineAnnealingLR(opt, 10, -1), /option 'etaMin' must be >= 0, got -1/);
  assert.throws(() => new MultiStepLR(opt, [3, -1]), /option 'milestones\[1\]' must be an integer >= 0, got -1/);
  assert.throws(() => new MultiStepLR(opt, 3 as never), /option 'milestones' must be an array/);
  assert.throws(() => new MultiStepLR(opt, [3], 0), /option 'gamma' must be > 0, got 0/);
  assert.throws(() => new StepLR(opt, 0), /option 'stepSize' must be an integer >= 1/);
  assert.throws(() => new LinearWarmupLR(new StepLR(opt, 1), 0), /LinearWarmupLR: option 'warmupSteps' must be an integer >= 1, got 0/);
  assert.throws(() => new LinearWarmupLR({} as never, 2), /'inner' must be a scheduler/);
});
