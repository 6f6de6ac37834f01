// Tensors, attributes and value infos of the ONNX model, built from plain numbers. Tensor bytes are
// written little-endian explicitly (ONNX's raw_data byte order), whatever the host's order.
import { AttributeType, DataType, type AttributeProto, type TensorProto, type ValueInfoProto } from "./types.js";

const LITTLE_ENDIAN = new Uint8Array(Float32Array.of(1).buffer)[3] === 0x3f;

export function floatTensor(dims: readonly number[], values: ArrayLike<number>, name?: string): TensorProto {
  checkCount(dims, values.length);
  let bytes: Uint8Array;
  if (LITTLE_ENDIAN) bytes = new Uint8Array(Float32Array.from(values).buffer); // a copy, off wasm memory: weights can be megabytes
  else {
    bytes = new Uint8Array(4 * values.length);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i]!, true);
  }
  return { ...(name === undefined ? {} : { name }), dims: [...dims], data_type: DataType.FLOAT, raw_data: bytes };
}

export function int64Tensor(dims: readonly number[], values: readonly number[], name?: string): TensorProto {
  checkCount(dims, values.length);
  const bytes = new Uint8Array(8 * values.length);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return { ...(name === undefined ? {} : { name }), dims: [...dims], data_type: DataType.INT64, raw_data: bytes };
}

function checkCount(dims: readonly number[], n: number): void {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== n) throw new Error(`ONNX tensor: ${n} values for dims [${dims.join(", ")}]`);
}

/** The float values of a FLOAT tensor stored as raw_data (what floatTensor writes). */
export function readFloatTensor(t: TensorProto): Float32Array {
  if (t.data_type !== DataType.FLOAT || !t.raw_data) throw new Error(`ONNX tensor ${t.name ?? ""}: not a raw FLOAT tensor`);
  const raw = t.raw_data;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Float32Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true));
}

export const attr = {
  int: (name: string, i: number): AttributeProto => ({ name, type: AttributeType.INT, i }),
  ints: (name: string, ints: readonly number[]): AttributeProto => ({ name, type: AttributeType.INTS, ints: [...ints] }),
  float: (name: string, f: number): AttributeProto => ({ name, type: AttributeType.FLOAT, f }),
  tensor: (name: string, t: TensorProto): AttributeProto => ({ name, type: AttributeType.TENSOR, t }),
};

/** A float tensor's name, element type and shape; a string dimension is symbolic (e.g. the batch "N"). */
export function floatValueInfo(name: string, dims: ReadonlyArray<number | string>): ValueInfoProto {
  const dim = dims.map((d) => (typeof d === "string" ? { dim_param: d } : { dim_value: d }));
  return { name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim } } } };
}
