// Training shift models: saved checkpoints hold rounded weights (every effective weight exactly 0 or
// ±2^p with p in range, DeepShift #19) plus the latent values for an exact resume; PS gets its own
// optimizer groups without weight decay and the penalty wd·½·Σ(2^P)² instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Dataset } from "../src/data/dataset.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { createModel, resolveSpec } from "../src/models/zoo.js";
import { shiftLayersOf } from "../src/models/shift_op.js";
import { Rng, normal } from "../src/tensor/random.js";
import { decodeCheckpoint, loadWeights } from "../src/train/checkpoint.js";
import { evaluate } from "../src/train/metrics.js";
import { Trainer, type TrainConfig } from "../src/train/trainer.js";

initRuntime({ threads: 1 });

function syntheticMnist(n: number, seed: number): Dataset {
  const rng = Rng.fromSeed(seed);
  const images = Float32Array.from({ length: n * 784 }, () => normal(rng));
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  return { images, labels, n, shape: [1, 28, 28] };
}

const train = syntheticMnist(96, 1);
const testSet = syntheticMnist(40, 2);

function config(op: string, opOptions: Record<string, unknown>, extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    spec: resolveSpec({ model: "lenet5", op, opOptions }),
    epochs: 1,
    batchSize: 32,
    optimizer: op === "shift-ps" ? "radam" : "sgd",
    lr: 0.01,
    momentum: 0,
    nesterov: false,
    weightDecay: 0,
    schedule: "constant",
    milestones: [],
    gamma: 0.1,
    seed: 3,
    augment: null,
    ...extra,
  };
}

for (const [op, bits] of [["shift-ps", 5], ["shift-ps", 3], ["shift-q", 5], ["shift-q", 2]] as const) {
  test(`${op} ${bits}-bit: a saved checkpoint's weights are exactly 0 or ±2^p with p in range`, () => {
    const trainer = new Trainer(config(op, { weightBits: bits }), train, testSet);
    trainer.run();
    const ckpt = decodeCheckpoint(trainer.checkpointBytes(), "ckpt");
    const min = op === "shift-q" ? 1 - 2 ** (bits - 1) : 2 - 2 ** (bits - 1);
    const layers = shiftLayersOf(trainer.model);
    assert.equal(layers.length, 5, "every weight layer of lenet5 is a shift layer");
    for (const [name] of layers) {
      const effective: number[] = [];
      if (op === "shift-q") effective.push(...ckpt.weights.get(`${name}.weight`)!.data);
      else {
        const shift = ckpt.weights.get(`${name}.shift`)!.data, sign = ckpt.weights.get(`${name}.sign`)!.data;
        assert.ok(shift.every((p) => Number.isInteger(p) && p >= min && p <= 0), `${name}.shift holds integers in [${min}, 0]`);
        assert.ok(sign.every((s) => s === -1 || s === 0 || s === 1), `${name}.sign is ternary`);
        for (let i = 0; i < shift.length; i++) effective.push(sign[i] === 0 ? 0 : sign[i] * 2 ** shift[i]);
      }
      for (const v of effective) {
        const p = Math.log2(Math.abs(v));
        assert.ok(v === 0 || (Number.isInteger(p) && p >= min && p <= 0), `${name}: ${v} is not 0 or ±2^p, p in [${min}, 0]`);
      }
      if (op === "shift-q") assert.ok(effective.every((v) => v !== 0), "Q weights are never 0");
    }
    // the latent values ride along for resuming; a model loaded without them evaluates identically
    assert.ok(ckpt.latent!.size > 0);
    const reloaded = createModel(ckpt.spec);
    loadWeights(reloaded, ckpt, "ckpt");
    for (const [name, layer] of shiftLayersOf(reloaded)) {
      assert.deepEqual(layer.effectiveWeight(), (trainer.model.namedModules().find(([n]) => n === name)![1] as typeof layer).effectiveWeight());
    }
    assert.equal(evaluate(reloaded, testSet).correct, evaluate(trainer.model, testSet).correct);
    loadWeights(reloaded, ckpt, "ckpt", { latent: true });
    const live = trainer.model.stateDict();
    for (const [k, t] of reloaded.stateDict()) assert.deepEqual(t.data, live.get(k)!.data, `latent ${k}`);
  });
}

test("resuming a stochastic-rounding run from its checkpoint ends in the same weights", () => {
  const cfg = config("shift-q", { rounding: "stochastic" }, { epochs: 2, momentum: 0.9 });
  const straight = new Trainer(cfg, train, testSet);
  straight.run();
  const first = new Trainer({ ...cfg, epochs: 1 }, train, testSet);
  first.run();
  const resumed = new Trainer(cfg, train, testSet);
  resumed.resumeFrom(decodeCheckpoint(first.checkpointBytes(), "ckpt"));
  resumed.run();
  const a = straight.model.stateDict();
  for (const [k, t] of resumed.model.stateDict()) assert.deepEqual(t.data, a.get(k)!.data, k);
  // and stochastic rounding did differ from deterministic rounding
  const det = new Trainer(config("shift-q", {}, { epochs: 2, momentum: 0.9 }), train, testSet);
  det.run();
  assert.notDeepEqual(det.model.stateDict().get("conv1.weight")!.data, a.get("conv1.weight")!.data);
});

test("PS: sign and shift groups without weight decay, and the gradient of wd·½·Σ(2^P)² on P", () => {
  const wd = 0.01;
  const trainer = new Trainer(config("shift-ps", {}, { optimizer: "sgd", lr: 1, weightDecay: wd }), train, testSet);
  const groups = trainer.optimizer.paramGroups as unknown as Array<{ name: string; weightDecay: number; params: unknown[] }>;
  assert.deepEqual(groups.map((g) => [g.name, g.weightDecay]), [["other", wd], ["sign", 0], ["shift", 0]]);
  const layers = shiftLayersOf(trainer.model).map(([, l]) => l);
  assert.equal(groups[1].params.length, layers.length);
  assert.ok(layers.every((l) => groups[2].params.includes(l.shift!) && groups[1].params.includes(l.sign!)));
  // with zero loss gradients, one SGD step (lr 1) moves P by exactly −wd·2^(2P)·ln 2
  const P = layers[0].shift!;
  const before = Float32Array.from(P.data);
  const signBefore = Float32Array.from(layers[0].sign!.data);
  for (const p of trainer.model.parameters()) p.grad = new Float32Array(p.size);
  trainer.optimizer.step();
  for (let i = 0; i < P.size; i++) {
    const expect = Math.fround(before[i] - Math.fround(wd * 2 ** (2 * before[i]) * Math.LN2));
    assert.ok(Math.abs(P.data[i] - expect) <= 1e-6 * Math.abs(expect), `P[${i}]: ${P.data[i]} vs ${expect}`);
  }
  assert.deepEqual(Float32Array.from(layers[0].sign!.data), signBefore, "S untouched: no decay, no penalty");
  // Q keeps plain weight decay in one group
  const q = new Trainer(config("shift-q", {}, { weightDecay: wd }), train, testSet);
  assert.equal(q.optimizer.paramGroups.length, 1);
});
