// B-bit export (`mulfree export --bits B`, ExportOptions.bits): activations inside the network
// take codes 0 .. 2^B − 1 and multiply weights ±(2^(B−1) − 1), stored in bytes; the input stays
// 8-bit, so a first adder layer's weights do too. The bundles are ordinary bundles: every
// requantization clamps at 2^B − 1, the wasm engine equals the reference engine, and a lower
// width costs accuracy gradually, not all at once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ExportError } from "../src/deploy/export/errors.js";
import { exportModel } from "../src/deploy/export/export_model.js";
import { readBundle } from "../src/deploy/run/decode.js";
import { encodeBundle } from "../src/deploy/run/encode.js";
import type { LayerNode } from "../src/deploy/run/format.js";
import { load } from "../src/deploy/run/runner.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { noGrad } from "../src/tensor/autograd.js";
import { scope } from "../src/tensor/storage.js";
import { Tensor } from "../src/tensor/tensor.js";
import { MEAN, SHAPE, settle, STD, tinyChain, tinyDepthwise, tinyImages } from "./deploy-tiny-models.js";
import { mulfree } from "./cli-helpers.js";
import { createModel, resolveSpec } from "../src/models/zoo.js";
import { manualSeed } from "../src/tensor/random.js";
import { fp32Bytes } from "../src/tasks/export.js";
import { randomBundle, randomPixels } from "./deploy-random-bundles.js";
import { rng } from "./random.js";

const KINDS = ["mul", "adder", "shift"] as const;

function argmax(v: ArrayLike<number>, n: number, c: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let k = 1; k < c; k++) if (v[i * c + k]! > v[i * c + best]!) best = k;
    return best;
  });
}

test("B-bit bundles: every code fits B bits, wasm = reference engine, and agreement with the float model falls gradually", () => {
  initRuntime({ threads: 1 });
  const calib = tinyImages(64, 40), held = tinyImages(64, 41);
  for (const kind of KINDS) {
    for (const [what, model] of [[`${kind} chain`, tinyChain(kind, 7)], [`${kind} depthwise`, tinyDepthwise(kind, 8)]] as const) {
      settle(model, calib.normalized, 64, 9);
      const floatClasses = argmax(noGrad(() => scope(() => model.forward(Tensor.from(held.normalized, [64, ...SHAPE])).toArray())), 64, 10);
      const agreement: number[] = [];
      for (const bits of [8, 6, 4]) {
        const levels = 2 ** bits - 1;
        const ex = exportModel(model, calib.normalized, 64, SHAPE, { mean: MEAN, std: STD, bits });
        const bytes = encodeBundle(ex.graph, ex.tensors, { test: what, bits });
        const b = readBundle(bytes, what);
        for (const node of b.graph.nodes) {
          if (node.op === "add" || (node.op === "layer" && node.requant)) {
            assert.equal(node.requant!.hi, levels, `${what}, ${bits} bits: requantization clamps at ${levels}`);
            assert.ok(node.out!.zeroPoint <= levels, `${what}, ${bits} bits: zero point in range`);
          }
        }
        b.layers.forEach((layer, i) => {
          const w = layer.weights, node = layer.node as LayerNode;
          // weights below 8 bits are packed B to the bit, except a first adder layer (8-bit input grid)
          const packed = bits < 8 && w.kind !== "shift" && !(w.kind === "adder" && i === 0);
          assert.equal(node.weightBits, packed ? bits : undefined, `${what}, ${bits} bits: ${node.name} weightBits`);
          if (packed) assert.equal(ex.tensors[`${node.name}.weight`]!.data.length, Math.ceil(w.w.length * bits / 8), `${what}, ${bits} bits: ${node.name} packed bytes`);
          if (w.kind === "mul") assert.ok(w.w.every((v) => Math.abs(v) <= 2 ** (bits - 1) - 1), `${what}, ${bits} bits: multiply weights within ±${2 ** (bits - 1) - 1}`);
          // the first layer reads the 8-bit input, and its adder weights share that grid
          if (w.kind === "adder" && i > 0) assert.ok(w.w.every((v) => v <= levels), `${what}, ${bits} bits: adder weights of ${(layer.node as LayerNode).name} within 0..${levels}`);
        });
        const ref = load(bytes, { backend: "reference", name: what }).predict(held.pixels);
        const wasm = load(bytes, { threads: 1, name: what }).predict(held.pixels);
        assert.deepEqual(Array.from(wasm.logits), Array.from(ref.logits), `${what}, ${bits} bits: wasm engine = reference engine`);
        agreement.push(Array.from(wasm.classes).filter((c, i) => c === floatClasses[i]).length / 64);
      }
      assert.ok(agreement[0]! >= 0.9, `${what}: 8 bits agree with the float model on ${agreement[0]} of the images`);
      assert.ok(agreement[1]! >= 0.8, `${what}: 6 bits agree on ${agreement[1]}`);
      assert.ok(agreement[2]! >= 0.4, `${what}: 4 bits agree on ${agreement[2]}`);
    }
  }
});

test("bits outside 4–8 are refused, by the exporter and by the CLI", () => {
  const model = tinyChain("mul", 3);
  const calib = tinyImages(8, 42);
  settle(model, calib.normalized, 8, 10);
  for (const bits of [3, 9, 4.5]) {
    assert.throws(() => exportModel(model, calib.normalized, 8, SHAPE, { mean: MEAN, std: STD, bits }), (e: unknown) => e instanceof ExportError && /bits must be an integer from 4 to 8/.test((e as Error).message));
  }
  const r = mulfree(["export", "missing.safetensors", "-o", "x.mulfree.safetensors", "--bits", "3"]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--bits/);
  const onnx = mulfree(["export", "missing.safetensors", "-o", "x.onnx", "--format", "onnx", "--bits", "4"]);
  assert.notEqual(onnx.status, 0);
});

test("a 4-bit adder LeNet-5 bundle is at most 0.14× its fp32 model (weights packed two to a byte)", () => {
  initRuntime({ threads: 1 });
  manualSeed(5);
  const model = createModel(resolveSpec({ model: "lenet5", op: "adder" }));
  const calib = tinyImages(32, 43, [1, 28, 28]);
  settle(model, calib.normalized, 32, 11, [1, 28, 28]);
  const sizes = [8, 4].map((bits) => {
    const ex = exportModel(model, calib.normalized, 32, [1, 28, 28], { mean: MEAN, std: STD, bits });
    return encodeBundle(ex.graph, ex.tensors, { model: "lenet5", op: "adder", bits }).length / fp32Bytes(model);
  });
  assert.ok(sizes[0]! > 0.25, `8 bits: ${sizes[0]!.toFixed(4)}× fp32`);
  assert.ok(sizes[1]! <= 0.14, `4 bits: ${sizes[1]!.toFixed(4)}× fp32`);
});

test("sub-byte kernels: 240 random B-bit bundles (4–7 bits, every layer kind), packed weights and B-bit activations: wasm engine = reference engine, exactly", () => {
  const r = rng(71);
  let packedLayers = 0;
  for (let trial = 0; trial < 240; trial++) {
    const bits = 4 + (trial % 4);
    const mix = (["mul", "adder", "shift", "mixed"] as const)[Math.floor(trial / 4) % 4]!;
    const b = randomBundle(r, mix, { bits });
    const nodes = readBundle(b.bytes).graph.nodes;
    for (const n of nodes) {
      if (n.op === "layer" && n.weightBits !== undefined) packedLayers++;
      if (n.op === "layer" && n.requant) assert.ok(n.requant.hi <= 2 ** bits - 1, `${bits}-bit bundle #${trial}: ${n.name} clamps at ${n.requant.hi}`);
    }
    const pixels = randomPixels(r, 1 + (trial % 3), b.shape);
    const ref = load(b.bytes, { backend: "reference", name: `${bits}-bit ${mix}#${trial}` });
    const fast = load(b.bytes, { backend: "wasm", threads: 1, name: `${bits}-bit ${mix}#${trial}` });
    assert.deepEqual(Array.from(fast.predict(pixels).logits), Array.from(ref.predict(pixels).logits), `${bits}-bit ${mix} bundle #${trial}: logits`);
    ref.dispose();
    fast.dispose();
  }
  assert.ok(packedLayers >= 240, `only ${packedLayers} packed layers were drawn`);
});
