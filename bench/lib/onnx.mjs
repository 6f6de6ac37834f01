#!/usr/bin/env node
// Write LeNet-5-BN as a plain ONNX model (opset 13, IR version 7) from the safetensors weights.
// The few protobuf messages needed are encoded by hand (no protobufjs dependency).
// Graph: Conv → BatchNormalization → Relu → MaxPool (×2) → Flatten → Gemm → BN → Relu → Gemm → BN → Relu → Gemm.
// Usage: node lib/onnx.mjs weights.safetensors out.onnx
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BN_EPS, loadLenetWeights } from './lenet.mjs';

// ---- minimal protobuf writer ----
class PB {
  constructor() { this.chunks = []; this.len = 0; }
  _push(bytes) { this.chunks.push(bytes); this.len += bytes.length; return this; }
  _varint(v) {
    let x = BigInt.asUintN(64, BigInt(v)); // negatives as 64-bit two's complement
    const out = [];
    do { let b = Number(x & 0x7fn); x >>= 7n; if (x) b |= 0x80; out.push(b); } while (x);
    return this._push(Uint8Array.from(out));
  }
  _key(field, wire) { return this._varint((field << 3) | wire); }
  int(field, v) { return this._key(field, 0)._varint(v); }
  float(field, v) { const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true); return this._key(field, 5)._push(b); }
  bytes(field, b) { return this._key(field, 2)._varint(b.length)._push(b); }
  str(field, s) { return this.bytes(field, new TextEncoder().encode(s)); }
  msg(field, m) { return this.bytes(field, m.finish()); }
  finish() { const out = new Uint8Array(this.len); let o = 0; for (const c of this.chunks) { out.set(c, o); o += c.length; } return out; }
}

// ONNX enums
const FLOAT = 1;
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 };

// AttributeProto: name=1, f=2, i=3, ints=8, type=20
function attr(name, v) {
  const a = new PB().str(1, name);
  if (Array.isArray(v)) { for (const x of v) a.int(8, x); return a.int(20, ATTR.INTS); }
  if (Number.isInteger(v)) return a.int(3, v).int(20, ATTR.INT);
  throw new Error(`attr ${name}: unsupported value ${v}`);
}
function attrFloat(name, v) { return new PB().str(1, name).float(2, v).int(20, ATTR.FLOAT); }

// NodeProto: input=1, output=2, name=3, op_type=4, attribute=5
function node(op, inputs, outputs, attrs = [], name = outputs[0]) {
  const n = new PB();
  for (const i of inputs) n.str(1, i);
  for (const o of outputs) n.str(2, o);
  n.str(3, name).str(4, op);
  for (const a of attrs) n.msg(5, a);
  return n;
}

// TensorProto: dims=1, data_type=2, name=8, raw_data=9
function initializer(name, shape, data) {
  const t = new PB();
  for (const d of shape) t.int(1, d);
  const f = Float32Array.from(data);
  return t.int(2, FLOAT).str(8, name).bytes(9, new Uint8Array(f.buffer));
}

// ValueInfoProto{name=1, type=2: TypeProto{tensor_type=1: {elem_type=1, shape=2: {dim=1: {dim_value=1 | dim_param=2}}}}}
function valueInfo(name, dims) {
  const shape = new PB();
  for (const d of dims) shape.msg(1, typeof d === 'string' ? new PB().str(2, d) : new PB().int(1, d));
  const tensorType = new PB().int(1, FLOAT).msg(2, shape);
  return new PB().str(1, name).msg(2, new PB().msg(1, tensorType));
}

/** ONNX bytes for LeNet-5-BN; input "input" [N,1,28,28] (NCHW), output "logits" [N,10]. */
export function buildLenetOnnx(W) {
  const nodes = [];
  const bn = (x, i, out) => nodes.push(node('BatchNormalization',
    [x, `bn${i}.weight`, `bn${i}.bias`, `bn${i}.running_mean`, `bn${i}.running_var`], [out], [attrFloat('epsilon', BN_EPS)]));
  nodes.push(node('Conv', ['input', 'conv1.weight'], ['conv1'], [attr('kernel_shape', [5, 5]), attr('pads', [2, 2, 2, 2]), attr('strides', [1, 1])]));
  bn('conv1', 1, 'bn1');
  nodes.push(node('Relu', ['bn1'], ['relu1']));
  nodes.push(node('MaxPool', ['relu1'], ['pool1'], [attr('kernel_shape', [2, 2]), attr('strides', [2, 2])]));
  nodes.push(node('Conv', ['pool1', 'conv2.weight'], ['conv2'], [attr('kernel_shape', [5, 5]), attr('strides', [1, 1])]));
  bn('conv2', 2, 'bn2');
  nodes.push(node('Relu', ['bn2'], ['relu2']));
  nodes.push(node('MaxPool', ['relu2'], ['pool2'], [attr('kernel_shape', [2, 2]), attr('strides', [2, 2])]));
  nodes.push(node('Flatten', ['pool2'], ['flat'], [attr('axis', 1)])); // NCHW flatten = PyTorch order
  nodes.push(node('Gemm', ['flat', 'fc1.weight'], ['fc1'], [attr('transB', 1)]));
  bn('fc1', 3, 'bn3');
  nodes.push(node('Relu', ['bn3'], ['relu3']));
  nodes.push(node('Gemm', ['relu3', 'fc2.weight'], ['fc2'], [attr('transB', 1)]));
  bn('fc2', 4, 'bn4');
  nodes.push(node('Relu', ['bn4'], ['relu4']));
  nodes.push(node('Gemm', ['relu4', 'fc3.weight', 'fc3.bias'], ['logits'], [attr('transB', 1)]));

  // GraphProto: node=1, name=2, initializer=5, input=11, output=12
  const g = new PB();
  for (const n of nodes) g.msg(1, n);
  g.str(2, 'lenet5_bn');
  for (const [k, t] of Object.entries(W)) g.msg(5, initializer(k, t.shape, t.data));
  g.msg(11, valueInfo('input', ['N', 1, 28, 28]));
  g.msg(12, valueInfo('logits', ['N', 10]));
  // ModelProto: ir_version=1, producer_name=2, producer_version=3, graph=7, opset_import=8 {domain=1, version=2}
  return new PB().int(1, 7).str(2, 'mulfree-bench').str(3, '0.0.0').msg(7, g).msg(8, new PB().str(1, '').int(2, 13)).finish();
}

/** Read weights, write the ONNX file atomically; returns the bytes. */
export function writeLenetOnnx(weightsPath, onnxPath) {
  const bytes = buildLenetOnnx(loadLenetWeights(weightsPath));
  const tmp = `${onnxPath}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, onnxPath);
  return bytes;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  const [inp, out] = process.argv.slice(2);
  if (!inp || !out || inp === '--help') {
    console.log('Usage: node lib/onnx.mjs weights.safetensors out.onnx');
    process.exit(inp === '--help' ? 0 : 2);
  }
  const b = writeLenetOnnx(inp, out);
  console.log(`wrote ${out} (${b.length} bytes, opset 13)`);
}
