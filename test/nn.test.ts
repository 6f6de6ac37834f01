import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { createModel, resolveSpec, modelNames } from "../src/models/zoo.js";
import { manualSeed } from "../src/tensor/random.js";
import { backward, noGrad } from "../src/tensor/autograd.js";
import { scope } from "../src/tensor/storage.js";
import { Tensor } from "../src/tensor/tensor.js";
import { Conv2d, Linear, Sequential, BatchNorm2d, ReLU } from "../src/nn/index.js";
import { traceModules } from "../src/nn/trace.js";

initRuntime({ threads: 1 });

test("state dict keys follow PyTorch's dotted names", () => {
  const seq = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2), new ReLU(), new Linear(4, 3));
  assert.deepEqual([...seq.stateDict().keys()], ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "3.weight", "3.bias"]);
  const keys = [...createModel(resolveSpec({ model: "lenet5" })).stateDict().keys()];
  assert.ok(keys.includes("conv1.weight") && keys.includes("bn1.running_mean") && keys.includes("fc3.bias"));
  assert.ok(!keys.includes("conv1.bias"), "conv layers followed by BN have no bias");
  const r = [...createModel(resolveSpec({ model: "resnet20" })).stateDict().keys()];
  assert.ok(r.includes("layer2.0.downsample.0.weight") && r.includes("layer3.2.bn2.running_var") && r.includes("bn2.weight"));
});

test("lenet5 has the published parameter count and 416.5k MACs worth of weights", () => {
  const m = createModel(resolveSpec({ model: "lenet5" }));
  const weights = m.namedParameters().filter(([k]) => k.endsWith("weight") && !k.startsWith("bn")).reduce((s, [, p]) => s + p.size, 0);
  assert.equal(weights, 150 + 2400 + 48000 + 10080 + 840);
});

test("same seed gives the same initial weights", () => {
  manualSeed(7);
  const a = createModel(resolveSpec({ model: "lenet5" })).stateDict();
  manualSeed(7);
  const b = createModel(resolveSpec({ model: "lenet5" })).stateDict();
  for (const [k, t] of a) assert.deepEqual(t.data, b.get(k)!.data, k);
});

test("loadStateDict rejects missing keys and wrong shapes with a clear message", () => {
  const m = createModel(resolveSpec({ model: "lenet5" }));
  const sd = new Map([...m.stateDict()].map(([k, t]) => [k, { shape: t.shape, data: t.toArray() }]));
  sd.delete("fc3.bias");
  assert.throws(() => m.loadStateDict(sd), /missing fc3.bias/);
  sd.set("fc3.bias", { shape: [11], data: new Float32Array(11) });
  assert.throws(() => m.loadStateDict(sd), /fc3.bias has shape \[11\]/);
});

test("every zoo model builds and runs a forward pass; bad names are refused", () => {
  // each at its own default size, and at both dataset sizes (MNIST 1×28×28, CIFAR 3×32×32)
  const sizes = [undefined, { inChannels: 1, inputSize: 28 }, { inChannels: 3, inputSize: 32 }];
  for (const [name, size] of modelNames().flatMap((n) => sizes.map((s) => [n, s] as const))) {
    if (name === "vgg-small" && size) continue; // 4.6M parameters: its default size is enough here
    const spec = resolveSpec({ model: name, ...size });
    const model = createModel(spec).eval();
    const logits = noGrad(() => scope(() => {
      const x = Tensor.zeros([2, spec.inChannels, spec.inputSize, spec.inputSize]);
      const y = model.forward(x);
      return { shape: [...y.shape], finite: y.data.every(Number.isFinite) };
    }));
    assert.deepEqual(logits.shape, [2, spec.numClasses], `${name} at ${spec.inChannels}×${spec.inputSize}²`);
    assert.ok(logits.finite, `${name} gives finite logits`);
  }
  assert.throws(() => resolveSpec({ model: "nope" }), /unknown model 'nope'; valid: lenet5/);
  assert.throws(() => resolveSpec({ model: "lenet5", op: "nope" }), /unknown op 'nope'/);
});

test("a BatchNorm told that a ReLU follows applies it in training: the same tensor, values and gradients as BatchNorm then ReLU; eval leaves the ReLU to the ReLU", () => {
  initRuntime({ threads: 2 });
  manualSeed(11);
  const x = Tensor.empty([4, 3, 5, 5]);
  for (let i = 0; i < x.size; i++) x.data[i] = Math.sin(i * 0.7) * 2;
  const relu = new ReLU();
  const run = (fused: boolean) => {
    const bn = new BatchNorm2d(3);
    for (let c = 0; c < 3; c++) { bn.weight!.data[c] = 0.5 + c; bn.bias!.data[c] = 0.3 * (c - 1); }
    const input = Tensor.empty(x.shape, true);
    input.data.set(x.data);
    input.requiresGrad = true;
    return scope(() => {
      const y = bn.forward(input, { reluNext: fused });
      const z = relu.forward(y);
      const passedThrough = z === y;
      // a gradient that weights every element differently
      const dz = new Float32Array(z.size).map((_, i) => Math.cos(i * 1.3));
      backward(z, dz);
      return { z: Float32Array.from(z.data), dx: Float32Array.from(input.grad!), dg: Float32Array.from(bn.weight!.grad!), db: Float32Array.from(bn.bias!.grad!), passedThrough };
    });
  };
  const plain = run(false), fused = run(true);
  assert.equal(plain.passedThrough, false);
  assert.equal(fused.passedThrough, true, "relu returns the rectified tensor itself");
  assert.ok(plain.z.some((v) => v === 0) && plain.z.some((v) => v > 0), "the ReLU cuts");
  assert.deepEqual([fused.z, fused.dx, fused.dg, fused.db], [plain.z, plain.dx, plain.dg, plain.db]);
  // eval: reluNext is ignored, the ReLU module does the work
  const bn = new BatchNorm2d(3);
  bn.eval();
  noGrad(() => scope(() => {
    const y = bn.forward(x, { reluNext: true });
    assert.ok(y.data.some((v) => v < 0), "eval output is BatchNorm's alone");
    assert.notEqual(relu.forward(y), y);
  }));
});

test("a Sequential hands a BatchNorm's ReLU to the BatchNorm in training only, with the bits of running its layers one by one", () => {
  initRuntime({ threads: 1 });
  manualSeed(12);
  const seq = new Sequential(new Conv2d(2, 3, 3, { padding: 1 }), new BatchNorm2d(3), new ReLU());
  const x = Tensor.empty([2, 2, 4, 4]);
  for (let i = 0; i < x.size; i++) x.data[i] = Math.cos(i * 0.9);
  for (const training of [true, false]) {
    seq.train(training);
    scope(() => {
      const { output, calls } = traceModules(seq, x);
      const relu = calls.find((c) => c.module instanceof ReLU)!;
      assert.equal(relu.input === relu.output, training, `the ReLU passes the BatchNorm's output through only in training (training ${training})`);
      let y = x;
      for (const layer of seq.layers) y = layer.forward(y);
      assert.deepEqual(output.data, y.data);
    });
  }
});
