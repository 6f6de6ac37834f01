// ONNX export layer by layer, on small hand-built models: adder geometries the zoo lacks
// (dilation, rectangular kernels, groups, bias), the shift layers' fixed-point input quantisation
// bit for bit, modules outside the zoo (AvgPool2d, Flatten, Residual), and clear refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { Adder2d, AdderLinear } from "../src/nn/adder.js";
import { BatchNorm2d } from "../src/nn/batchnorm.js";
import { Residual, Sequential } from "../src/nn/container.js";
import { Conv2d } from "../src/nn/conv.js";
import { AvgPool2d, Dropout, Flatten, MaxPool2d, ReLU } from "../src/nn/layers.js";
import { Linear } from "../src/nn/linear.js";
import { Module } from "../src/nn/module.js";
import { Conv2dShift, LinearShift } from "../src/nn/shift.js";
import { OnnxExportError } from "../src/onnx/errors.js";
import { modelToOnnx } from "../src/onnx/export.js";
import { relu } from "../src/tensor/ops/activation.js";
import { flatten } from "../src/tensor/ops/shape.js";
import { manualSeed, Rng, uniform } from "../src/tensor/random.js";
import type { Tensor } from "../src/tensor/tensor.js";
import { mulfreeLogits, onnxLogits, randomInput, relativeError } from "./onnx-runtime.js";

initRuntime({ threads: 1 });

async function compare(model: Module, image: [number, number, number], x?: Float32Array): Promise<{ got: Float32Array; want: Float32Array }> {
  const shape = [2, ...image];
  const input = x ?? randomInput(shape, Rng.fromSeed(3));
  const want = mulfreeLogits(model, input, shape);
  return { got: await onnxLogits(modelToOnnx(model, image), input, shape), want };
}

test("Adder2d functions honour stride, padding, dilation, rectangular kernels, groups and bias", async () => {
  manualSeed(2);
  const cases: Array<[string, () => Module, [number, number, number]]> = [
    ["3×3 s2 p1 d2, groups 2, bias, odd 9×11 input", () => new Adder2d(4, 6, 3, { stride: 2, padding: 1, dilation: 2, groups: 2, bias: true }), [4, 9, 11]],
    ["2×3 kernel, stride (1, 2), padding (0, 1)", () => new Adder2d(3, 5, [2, 3], { stride: [1, 2], padding: [0, 1] }), [3, 7, 8]],
    ["depthwise 3×3 s2 p1", () => new Adder2d(6, 6, 3, { stride: 2, padding: 1, groups: 6 }), [6, 8, 8]],
    ["1×1 strided (a downsample shortcut)", () => new Adder2d(4, 8, 1, { stride: 2 }), [4, 7, 7]],
    ["padding larger than the kernel reach", () => new Adder2d(2, 3, 2, { padding: 3 }), [2, 4, 5]],
  ];
  for (const [what, make, image] of cases) {
    const layer = make();
    const { got, want } = await compare(new Sequential(layer), image);
    assert.ok(relativeError(got, want) <= 1e-6, `${what}: relative error ${relativeError(got, want)}`);
  }
  const linear = new Sequential(new Flatten(), new AdderLinear(12, 5, { bias: true }));
  const { got, want } = await compare(linear, [3, 2, 2]);
  assert.ok(relativeError(got, want) <= 1e-6, "AdderLinear with bias");
});

test("shift layers quantise their input to fixed point exactly as mulfree does (bit for bit)", async () => {
  // identity weights (2^0 and 0): the layer's output is its quantised input, with no rounding after
  const identity = (n: number) => Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  const n = 12;
  const grid = 2 ** -4;
  // on, just below and just above grid points, negative values, beyond both ends of the range
  const tricky = [0, grid, grid - 1e-7, grid + 1e-7, -grid, -grid + 1e-7, -grid - 1e-7, 7.96, 7.9999, 8.5, -8, -9.25];
  const formats: Array<[string, { activationBits?: [number, number] | null; activationUnsigned?: boolean }, number[]]> = [
    ["signed 4.4", { activationBits: [4, 4] }, tricky],
    ["unsigned 4.4 on a non-negative batch", { activationBits: [4, 4], activationUnsigned: true }, tricky.map(Math.abs).concat([15.97, 16.5])],
    ["unsigned 4.4 on a batch with a negative value", { activationBits: [4, 4], activationUnsigned: true }, tricky.map(Math.abs).concat([15.97, -0.01])],
    ["default 16.16", {}, [1 / 3, -1 / 3, 2 ** -17, -(2 ** -17), 40000, -40000, 32767.99, 12345.678]],
  ];
  for (const [what, options, values] of formats) {
    const x = Float32Array.from({ length: 2 * n }, (_, i) => values[i % values.length]! * (i < n ? 1 : 0.5));
    for (const mode of ["q", "ps"] as const) {
      const layer = new LinearShift(n, n, { mode, bias: false, ...options });
      layer.initFromFloat(identity(n));
      const { got, want } = await compare(new Sequential(new Flatten(), layer), [n, 1, 1], x);
      assert.deepEqual([...got], [...want], `${what}, mode ${mode}`);
      assert.ok(options.activationBits === null || want.some((v, i) => v !== x[i]), `${what}: the quantisation changes some values`);
    }
  }
  const conv = new Conv2dShift(3, 3, 1, { mode: "q", bias: true, activationBits: [4, 4] });
  conv.initFromFloat(identity(3), [0.3, -0.2, 0.123]);
  const x = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => tricky[i % tricky.length]!);
  const { got, want } = await compare(conv, [3, 2, 2], x);
  assert.deepEqual([...got], [...want], "Conv2dShift with a quantised bias");
});

test("modules outside the zoo: AvgPool2d, padded MaxPool2d, Flatten, Dropout, Residual, BatchNorm, Linear", async () => {
  manualSeed(4);
  const bn = new BatchNorm2d(4);
  const rng = Rng.fromSeed(9);
  for (const t of [bn.runningMean, bn.weight!, bn.bias!]) t.data.forEach((_, i, a) => (a[i] = uniform(rng, -1, 1)));
  bn.runningVar.data.forEach((_, i, a) => (a[i] = uniform(rng, 0.2, 2)));
  const model = new Sequential(
    new Conv2d(2, 4, 3, { padding: 1 }), bn, new ReLU(),
    new Residual(new Sequential(new Conv2d(4, 4, 3, { padding: 1 }), new ReLU())),
    new Residual(new Adder2d(4, 4, 1), new Conv2d(4, 4, 1)),
    new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
    new MaxPool2d(2, { stride: 1, padding: 1 }),
    new AvgPool2d(2),
    new Flatten(), new Dropout(0.3), new Linear(4 * 3 * 3, 5),
  );
  const { got, want } = await compare(model, [2, 9, 9]);
  assert.ok(relativeError(got, want) <= 1e-5, `relative error ${relativeError(got, want)}`);
});

class Square extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
class FunctionalRelu extends Module {
  fc = new Linear(12, 3);
  forward(x: Tensor): Tensor {
    return this.fc.forward(relu(flatten(x))); // relu outside any module
  }
}
class ChangesInPlace extends Module {
  a = new Conv2d(3, 3, 1);
  b = new Flatten();
  forward(x: Tensor): Tensor {
    const y = this.a.forward(x);
    y.data[0] = y.data[0]! + 1; // invisible to the trace: the value b reads differs from a's output
    return this.b.forward(y);
  }
}
class MyConv extends Conv2d {}

test("models that cannot be exported are refused with the module's name and the reason", () => {
  const cases: Array<[Module, [number, number, number], RegExp]> = [
    [new Sequential(new Conv2d(1, 2, 3), new Square()), [1, 5, 5], /^1 \(Square\): no ONNX mapping for this module$/],
    [new FunctionalRelu(), [3, 2, 2], /^fc \(Linear\): cannot export its input: it is computed outside the modules/],
    [new ChangesInPlace(), [3, 2, 2], /^a \(Conv2d\): running the recovered graph again does not reproduce the traced value/],
    [new Sequential(new MyConv(1, 1, 1)), [1, 2, 2], /^0 \(MyConv\): no ONNX mapping/],
    [new Sequential(new MaxPool2d(2, { ceilMode: true })), [1, 5, 5], /^0: pooling in ceil mode is not supported/],
  ];
  for (const [model, image, message] of cases) {
    assert.throws(() => modelToOnnx(model, image), (e) => e instanceof OnnxExportError && message.test(e.message), `${model.constructor.name}`);
  }
});
