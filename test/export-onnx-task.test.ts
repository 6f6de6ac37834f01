// The task behind `mulfree export CHECKPOINT --format onnx -o MODEL.onnx`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeOnnxModel } from "../src/io/onnx/codec.js";
import { IoError } from "../src/io/errors.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { createModel, resolveSpec } from "../src/models/zoo.js";
import { exportOnnx } from "../src/tasks/export_onnx.js";
import { encodeCheckpoint } from "../src/train/checkpoint.js";
import { loadModel } from "../src/train/load_model.js";
import { manualSeed, Rng } from "../src/tensor/random.js";
import { tempDir } from "./cli-helpers.js";
import { mulfreeLogits, onnxLogits, randomInput, relativeError } from "./onnx-runtime.js";

initRuntime({ threads: 1 });

test("exportOnnx writes the checkpoint's model as ONNX, with its spec in the metadata", async () => {
  manualSeed(1);
  const dir = tempDir("onnx");
  const spec = resolveSpec({ model: "lenet5", op: "adder" });
  const path = join(dir, "model.safetensors");
  writeFileSync(path, encodeCheckpoint(spec, createModel(spec), null));
  const out = join(dir, "lenet5.onnx");
  const r = exportOnnx(path, { out, producerVersion: "9.9.9" });
  const bytes = new Uint8Array(readFileSync(out));
  assert.equal(r.bytes, bytes.length);
  assert.equal(r.functions, 5, "one function per adder layer");
  const proto = decodeOnnxModel(bytes, out);
  assert.equal(r.nodes, proto.graph.node.length);
  assert.equal(proto.producer_version, "9.9.9");
  assert.deepEqual(JSON.parse(proto.metadata_props!.find((p) => p.key === "mulfree.spec")!.value), spec);
  const shape = [2, 1, 28, 28];
  const x = randomInput(shape, Rng.fromSeed(1));
  const err = relativeError(await onnxLogits(bytes, x, shape), mulfreeLogits(loadModel(path).model, x, shape));
  assert.ok(err <= 1e-4, `relative error ${err}`);
});

test("exportOnnx into a missing directory fails with one line naming it, writing nothing", () => {
  const dir = tempDir("onnx");
  const spec = resolveSpec({ model: "deepshift-fc", op: "shift-q" });
  const path = join(dir, "model.safetensors");
  writeFileSync(path, encodeCheckpoint(spec, createModel(spec), null));
  const out = join(dir, "nowhere", "m.onnx");
  assert.throws(() => exportOnnx(path, { out }), (e) => e instanceof IoError && /nowhere does not exist/.test(e.message));
  assert.ok(!existsSync(out));
});
