import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { createModel, resolveSpec } from "../src/models/zoo.js";
import { traceModules } from "../src/nn/trace.js";
import { noGrad } from "../src/tensor/autograd.js";
import { scope } from "../src/tensor/storage.js";
import { Tensor } from "../src/tensor/tensor.js";

initRuntime({ threads: 1 });

test("traceModules records LeNet-5's leaf calls in order, with shapes, and restores forward", () => {
  const model = createModel(resolveSpec({ model: "lenet5" }));
  model.eval();
  const forwards = model.namedModules().map(([, m]) => m.forward);
  scope(() => noGrad(() => {
    const x = Tensor.zeros([2, 1, 28, 28]);
    const { output, calls } = traceModules(model, x);
    const leaves = calls.filter((c) => c.leaf).map((c) => c.name);
    assert.deepEqual(leaves, ["conv1", "bn1", "relu", "pool", "conv2", "bn2", "relu", "pool", "fc1", "bn3", "relu", "fc2", "bn4", "relu", "fc3"]);
    assert.equal(calls[0].name, "");
    assert.equal(calls[0].depth, 0);
    const conv2 = calls.find((c) => c.name === "conv2")!;
    assert.deepEqual(conv2.input.shape, [2, 6, 14, 14]);
    assert.deepEqual(conv2.output.shape, [2, 16, 10, 10]);
    assert.equal(calls.find((c) => c.name === "fc1")!.input.shape[1], 400, "flatten shows as a shape change");
    assert.deepEqual(output.shape, [2, 10]);
  }));
  model.namedModules().forEach(([, m], i) => assert.equal(m.forward, forwards[i]));
  assert.ok(!Object.prototype.hasOwnProperty.call(model, "forward"), "instance patches are removed");
});

test("traceModules nests residual blocks", () => {
  const model = createModel(resolveSpec({ model: "resnet20", op: "conv" }));
  model.eval();
  scope(() => noGrad(() => {
    const { calls } = traceModules(model, Tensor.zeros([1, 3, 32, 32]));
    const block = calls.find((c) => c.name === "layer1.0")!;
    const inner = calls.filter((c) => c.name.startsWith("layer1.0."));
    assert.ok(inner.length > 0 && inner.every((c) => c.depth > block.depth));
    assert.equal(block.leaf, false);
  }));
});
