// --op shift-q|shift-ps for every zoo model (the loop picks up models registered later), and mixed
// models: a converted spec names the layers kept multiplicative and rebuilds the same model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { Conv2d } from "../src/nn/conv.js";
import { Linear } from "../src/nn/linear.js";
import { ShiftLayer } from "../src/nn/shift.js";
import { convertToShift, multiplyLayersOf } from "../src/models/convert_shift.js";
import { shiftLayersOf } from "../src/models/shift_op.js";
import { createModel, modelNames, resolveSpec } from "../src/models/zoo.js";
import { backward } from "../src/tensor/autograd.js";
import { crossEntropy } from "../src/tensor/ops/loss.js";
import { manualSeed, Rng, uniform } from "../src/tensor/random.js";
import { allocI32, scope } from "../src/tensor/storage.js";
import { Tensor } from "../src/tensor/tensor.js";

initRuntime({ threads: 1 });

function weightLayerNames(model: ReturnType<typeof createModel>): string[] {
  return model.namedModules().filter(([, m]) => m instanceof ShiftLayer || m instanceof Conv2d || m instanceof Linear).map(([n]) => n);
}

for (const op of ["shift-q", "shift-ps"]) {
  test(`every zoo model trains a step with --op ${op}`, () => {
    const rng = Rng.fromSeed(1);
    for (const name of modelNames()) {
      manualSeed(1);
      const spec = resolveSpec({ model: name, op, opOptions: { weightBits: 4 } });
      const model = createModel(spec);
      const shift = shiftLayersOf(model);
      const all = weightLayerNames(model);
      assert.ok(shift.length >= all.length - 2, `${name}: only the first and last layers may stay multiplicative`);
      assert.ok(shift.every(([, l]) => l.mode === op.slice(6) && l.weightBits === 4));
      scope(() => {
        const x = Tensor.empty([2, spec.inChannels, spec.inputSize, spec.inputSize]);
        for (let i = 0; i < x.size; i++) x.data[i] = uniform(rng, -1, 1);
        const labels = allocI32(2);
        labels.set([3, 7]);
        const loss = crossEntropy(model.train().forward(x), labels);
        assert.ok(Number.isFinite(loss.item()), `${name}: finite loss`);
        backward(loss);
      });
      for (const [lname, l] of shift) {
        const grads = l.parameters().map((p) => p.grad);
        assert.ok(grads.every((g) => g && g.some((v) => v !== 0)), `${name}.${lname}: every latent parameter gets a gradient`);
      }
    }
  });
}

test("--all-layers makes the first and last layers of resnet20 and vgg-small shift layers too", () => {
  for (const model of ["resnet20", "vgg-small"]) {
    const m = createModel(resolveSpec({ model, op: "shift-ps", allLayers: true }));
    assert.equal(shiftLayersOf(m).length, weightLayerNames(m).length);
  }
});

test("conversion: depth from the input end, --keep-first-last, and a spec that rebuilds the mixed model", () => {
  manualSeed(2);
  const convSpec = resolveSpec({ model: "resnet20" });
  const conv = createModel(convSpec);
  const weights = new Map([...conv.stateDict()].map(([k, t]) => [k, { shape: t.shape, data: t.toArray() }]));
  const names = multiplyLayersOf(conv).map(([n]) => n);
  assert.deepEqual(names.slice(0, 4), ["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv1"]);
  assert.equal(names[names.length - 1], "fc");

  const r = convertToShift({ spec: convSpec, weights }, { to: "shift-ps", shiftDepth: 3, keepFirstLast: true, weightBits: 3 });
  assert.deepEqual(r.shifted, ["layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv1"]);
  assert.deepEqual(r.kept, names.filter((n) => !r.shifted.includes(n)));
  assert.deepEqual(r.spec.opOptions, { weightBits: 3, convLayers: r.kept });
  assert.equal(r.spec.allLayers, true);
  // the spec alone rebuilds the same mixed model: same layer kinds, same state-dict keys
  const rebuilt = createModel(r.spec);
  const kinds = (m: ReturnType<typeof createModel>) => m.namedModules().map(([n, x]) => `${n}:${x.constructor.name}`);
  assert.deepEqual(kinds(rebuilt), kinds(r.model));
  assert.deepEqual([...rebuilt.stateDict().keys()], [...r.model.stateDict().keys()]);
  assert.ok(rebuilt.stateDict().has("layer1.0.conv1.shift") && rebuilt.stateDict().has("conv1.weight"));
  // converted PS layers: P = round(log2|w|) clamped, S = sign(w); other tensors copied
  const l = shiftLayersOf(r.model).find(([n]) => n === "layer1.0.conv2")![1];
  const w = weights.get("layer1.0.conv2.weight")!.data;
  for (let i = 0; i < w.length; i++) assert.equal(l.sign!.data[i], Math.sign(w[i]));
  assert.ok(l.shift!.data.every((p) => Number.isInteger(p) && p >= -2 && p <= 0));
  assert.deepEqual(r.model.stateDict().get("layer3.2.bn2.running_var")!.data, weights.get("layer3.2.bn2.running_var")!.data);

  const all = convertToShift({ spec: convSpec, weights }, { to: "shift-q" });
  assert.deepEqual([all.shifted.length, all.kept], [names.length, []]);
  assert.deepEqual(all.spec.opOptions, { weightBits: 5 });
  assert.throws(() => convertToShift({ spec: r.spec, weights }, { to: "shift-q" }), /this model has op shift-ps; convert takes a conv model/);
});

test("bad shift op options are rejected when the spec is resolved", () => {
  assert.throws(() => resolveSpec({ model: "lenet5", op: "shift-ps", opOptions: { weightbits: 4 } }), /unknown option 'weightbits' for op shift-ps/);
  assert.throws(() => resolveSpec({ model: "lenet5", op: "shift-q", opOptions: { weightBits: 1 } }), /weight bits must be an integer from 2 to 8, got 1/);
  assert.throws(() => createModel(resolveSpec({ model: "lenet5", op: "shift-q", opOptions: { convLayers: ["conv9"] } })), /'conv9' is not a shift layer of this model/);
  assert.throws(() => resolveSpec({ model: "lenet5", op: "shift-q", opOptions: { convLayers: "conv1" } }), /convLayers of op shift-q must be a list of layer names/);
});
