// The ONNX file layer: protobuf encoding through the schema subset, tensor bytes, unique names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { NodeBuilder } from "../src/io/onnx/builder.js";
import { decodeOnnxModel, encodeOnnxModel } from "../src/io/onnx/codec.js";
import { DataType, type ModelProto } from "../src/io/onnx/types.js";
import { attr, floatTensor, floatValueInfo, int64Tensor, readFloatTensor } from "../src/io/onnx/values.js";
import { IoError } from "../src/io/errors.js";

function tinyModel(): ModelProto {
  const g = new NodeBuilder(false, ["x", "y"]);
  const w = g.constant("w", floatTensor([2, 3], [1, -2, 0.5, 3, 1e-8, -0]));
  const h = g.op("Gemm", ["x", w], { name: "fc", attributes: [attr.int("transB", 1), attr.float("alpha", 1.5)] });
  g.rename(g.op("Relu", [h], { name: "fc" }), "y");
  return {
    ir_version: 10,
    opset_import: [{ domain: "", version: 17 }],
    producer_name: "mulfree",
    graph: { name: "g", node: g.nodes, initializer: g.initializers, input: [floatValueInfo("x", ["N", 3])], output: [floatValueInfo("y", ["N", 2])] },
    functions: [{ name: "F", domain: "ai.mulfree", overload: "a.b", input: ["X"], output: ["Y"], node: [{ op_type: "Neg", input: ["X"], output: ["Y"] }], opset_import: [{ domain: "", version: 17 }] }],
  };
}

test("an ONNX model survives encode → decode with its fields, names and tensor values", () => {
  const bytes = encodeOnnxModel(tinyModel());
  const back = decodeOnnxModel(bytes);
  assert.equal(back.ir_version, 10);
  assert.deepEqual(back.graph.node.map((n) => n.name), ["fc", "fc_2"], "a taken name gets a suffix");
  assert.deepEqual(back.graph.node[1]!.output, ["y"], "rename reaches the output");
  assert.deepEqual(back.graph.node[1]!.input, ["fc"]);
  assert.equal(back.graph.node[0]!.attribute![1]!.f, 1.5);
  assert.deepEqual(back.graph.input[0]!.type.tensor_type.shape.dim, [{ dim_param: "N" }, { dim_value: 3 }]);
  const w = back.graph.initializer[0]!;
  assert.equal(w.data_type, DataType.FLOAT);
  assert.deepEqual([...readFloatTensor(w)], [1, -2, 0.5, 3, Math.fround(1e-8), -0]);
  assert.equal(back.functions![0]!.overload, "a.b");
  assert.equal(back.functions![0]!.domain, "ai.mulfree");
});

test("tensor bytes are little-endian, int64 included", () => {
  assert.deepEqual([...floatTensor([1], [1]).raw_data!], [0, 0, 0x80, 0x3f]);
  assert.deepEqual([...int64Tensor([2], [-1, 258]).raw_data!], [255, 255, 255, 255, 255, 255, 255, 255, 2, 1, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => floatTensor([2, 2], [1, 2, 3]), /3 values for dims \[2, 2\]/);
});

test("malformed input: a wrongly typed field is refused before writing, garbage bytes on reading", () => {
  const bad = tinyModel() as unknown as { ir_version: unknown };
  bad.ir_version = "ten";
  assert.throws(() => encodeOnnxModel(bad as ModelProto), (e) => e instanceof IoError && /ir_version/.test(e.message));
  assert.throws(() => decodeOnnxModel(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]), "x.onnx"), (e) => e instanceof IoError && /^x\.onnx: not a valid ONNX protobuf/.test(e.message));
  assert.throws(() => decodeOnnxModel(new Uint8Array(0), "empty.onnx"), /empty\.onnx: the ONNX model has no graph/);
});
