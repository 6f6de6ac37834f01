// IDX format (MNIST, Fashion-MNIST, EMNIST): magic [0, 0, typeCode, nDims], nDims big-endian
// uint32 sizes, then the values, big-endian, row-major. Pure: works on bytes, no Node imports.
import { DataError } from "./errors.js";

export type IdxType = "u8" | "i8" | "i16" | "i32" | "f32" | "f64";
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  type: IdxType;
  shape: number[];
  data: IdxData;
}

interface TypeInfo {
  type: IdxType;
  code: number;
  bytes: number;
  label: string;
}

const TYPES: TypeInfo[] = [
  { type: "u8", code: 0x08, bytes: 1, label: "unsigned byte" },
  { type: "i8", code: 0x09, bytes: 1, label: "signed byte" },
  { type: "i16", code: 0x0b, bytes: 2, label: "short" },
  { type: "i32", code: 0x0c, bytes: 4, label: "int" },
  { type: "f32", code: 0x0d, bytes: 4, label: "float" },
  { type: "f64", code: 0x0e, bytes: 8, label: "double" },
];

const hex = (v: number) => "0x" + v.toString(16).padStart(2, "0");

/** A shape for messages: 60000×28×28, or the first dimensions of a long (corrupt) one. */
function shapeText(shape: readonly number[]): string {
  if (shape.length === 0) return "scalar";
  return shape.length <= 6 ? shape.join("×") : `${shape.slice(0, 4).join("×")}×… (${shape.length} dimensions)`;
}

/** True if the bytes start with the gzip magic number (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parse an (uncompressed) IDX file. `name` (usually the path) appears in every error message.
 * The result owns its data (a copy in native byte order).
 */
export function parseIdx(bytes: Uint8Array, name = "IDX data"): IdxArray {
  if (isGzip(bytes)) {
    throw new DataError(`${name}: is gzip-compressed; decompress it first (readIdxFile does this in Node)`);
  }
  if (bytes.length < 4) {
    throw new DataError(`${name}: truncated IDX file: ${bytes.length} bytes, too short for the 4-byte magic number`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), hex).join(" ");
    throw new DataError(`${name}: not an IDX file: wrong magic number ${magic} (expected 0x00 0x00 <type> <dims>)`);
  }
  const info = TYPES.find((t) => t.code === bytes[2]);
  if (!info) {
    throw new DataError(
      `${name}: unsupported IDX type code ${hex(bytes[2]!)} (supported: ${TYPES.map((t) => `${hex(t.code)} ${t.label}`).join(", ")})`,
    );
  }
  const ndim = bytes[3]!;
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new DataError(`${name}: truncated IDX file: ${bytes.length} bytes, the header of ${ndim} dimensions needs ${headerBytes}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const dataBytes = count * info.bytes;
  const available = bytes.length - headerBytes;
  const describe = () => `${shapeText(shape)} ${info.label} values (${dataBytes} bytes)`;
  if (available < dataBytes) {
    throw new DataError(`${name}: truncated IDX file: the header declares ${describe()} but only ${available} data bytes follow`);
  }
  if (available > dataBytes) {
    throw new DataError(`${name}: IDX file has ${available - dataBytes} unexpected bytes after the ${describe()} the header declares`);
  }
  return { type: info.type, shape, data: readValues(view, headerBytes, count, info.type) };
}

function readValues(view: DataView, offset: number, n: number, type: IdxType): IdxData {
  switch (type) {
    case "u8":
      return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + n));
    case "i8":
      return new Int8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + n));
    case "i16": {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case "i32": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case "f32": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case "f64": {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/** Encode an array as an IDX file (big-endian), e.g. for test fixtures or exporting data. */
export function encodeIdx(arr: IdxArray): Uint8Array {
  const info = TYPES.find((t) => t.type === arr.type);
  if (!info) throw new DataError(`encodeIdx: unknown IDX type "${String(arr.type)}"`);
  if (arr.shape.length > 255) throw new DataError(`encodeIdx: ${arr.shape.length} dimensions, IDX allows at most 255`);
  for (const s of arr.shape) {
    if (!Number.isInteger(s) || s < 0 || s > 0xffffffff) throw new DataError(`encodeIdx: invalid dimension ${s} in shape [${arr.shape}]`);
  }
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (arr.data.length !== count) {
    throw new DataError(`encodeIdx: shape [${arr.shape}] has ${count} values but data has ${arr.data.length}`);
  }
  const header = 4 + 4 * arr.shape.length;
  const out = new Uint8Array(header + count * info.bytes);
  const view = new DataView(out.buffer);
  out[2] = info.code;
  out[3] = arr.shape.length;
  arr.shape.forEach((s, d) => view.setUint32(4 + 4 * d, s, false));
  const d = arr.data;
  for (let i = 0; i < count; i++) {
    const o = header + i * info.bytes;
    switch (info.type) {
      case "u8": view.setUint8(o, d[i]!); break;
      case "i8": view.setInt8(o, d[i]!); break;
      case "i16": view.setInt16(o, d[i]!, false); break;
      case "i32": view.setInt32(o, d[i]!, false); break;
      case "f32": view.setFloat32(o, d[i]!, false); break;
      case "f64": view.setFloat64(o, d[i]!, false); break;
    }
  }
  return out;
}
