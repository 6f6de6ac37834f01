// The safetensors format (https://github.com/huggingface/safetensors):
//   8 bytes   N, the header length, unsigned 64-bit little-endian
//   N bytes   a UTF-8 JSON object {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
//             padded with spaces so the data starts 8-byte aligned
//   the rest  the tensor data, little-endian, row-major; offsets are relative to its start and
//             must cover it exactly (no holes, no overlaps), as the reference implementation requires.
// Pure: works on bytes, no Node imports.
import { IoError } from "./errors.js";
import { defineEntry, parseJsonPart, preview, quoted } from "./json.js";

export type Dtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U64" | "U32" | "U16" | "U8" | "BOOL";

/** The typed array that holds each dtype. F16 and BF16 are kept as raw bits (see f16ToF32, bf16ToF32). */
export interface DtypeArrays {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  I32: Int32Array;
  I16: Int16Array;
  I8: Int8Array;
  U64: BigUint64Array;
  U32: Uint32Array;
  U16: Uint16Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}

export type TypedArray = DtypeArrays[Dtype];

export interface TensorEntry<D extends Dtype = Dtype> {
  dtype: D;
  shape: number[];
  data: DtypeArrays[D];
}

export interface HeaderEntry {
  dtype: Dtype;
  shape: number[];
  data_offsets: [number, number];
}

export interface SafetensorsHeader {
  /** Tensor entries in the order of their data. */
  tensors: Record<string, HeaderEntry>;
  metadata: Record<string, string>;
  /** Byte offset in the file where the data buffer starts (8 + N). */
  dataStart: number;
}

export interface Safetensors {
  tensors: Record<string, TensorEntry>;
  metadata: Record<string, string>;
}

type ArrayCtor = { new (n: number): TypedArray; readonly BYTES_PER_ELEMENT: number; readonly name: string };

const DTYPES: Record<Dtype, ArrayCtor> = {
  F64: Float64Array, F32: Float32Array, F16: Uint16Array, BF16: Uint16Array,
  I64: BigInt64Array, I32: Int32Array, I16: Int16Array, I8: Int8Array,
  U64: BigUint64Array, U32: Uint32Array, U16: Uint16Array, U8: Uint8Array, BOOL: Uint8Array,
};

/** Headers larger than this are rejected as corrupt (the reference implementation uses the same cap). */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = "__metadata__";
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isDtype(s: unknown): s is Dtype {
  return typeof s === "string" && Object.prototype.hasOwnProperty.call(DTYPES, s);
}

export function dtypeBytes(dtype: Dtype): number {
  return DTYPES[dtype].BYTES_PER_ELEMENT;
}

function checkPlatform(): void {
  if (!LITTLE_ENDIAN) throw new IoError("safetensors I/O needs a little-endian platform");
}

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Serialise tensors (and optional string metadata) to safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, TensorEntry>, metadata?: Record<string, string>): Uint8Array {
  checkPlatform();
  const entries = Object.entries(tensors).map(([name, t], index) => {
    const where = `tensor "${name}"`;
    if (name === METADATA_KEY) throw new IoError(`"${METADATA_KEY}" is reserved and cannot name a tensor`);
    if (name === "") throw new IoError("a tensor name is empty");
    if (!isDtype(t.dtype)) throw new IoError(`${where}: unsupported dtype ${preview(t.dtype, 40)} (supported: ${Object.keys(DTYPES).join(", ")})`);
    const ctor = DTYPES[t.dtype];
    if (!(t.data instanceof ctor)) {
      throw new IoError(`${where}: dtype ${t.dtype} needs a ${ctor.name}, got ${(t.data as object)?.constructor?.name ?? typeof t.data}`);
    }
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new IoError(`${where}: invalid shape ${preview(t.shape)}`);
    }
    if (product(t.shape) !== t.data.length) {
      throw new IoError(`${where}: shape [${t.shape}] has ${product(t.shape)} elements but the data has ${t.data.length}`);
    }
    if (t.dtype === "BOOL") checkBool(t.data as Uint8Array, where);
    return { name, t, index, size: ctor.BYTES_PER_ELEMENT };
  });
  // Wider dtypes first, as the reference implementation does: every tensor then starts aligned
  // to its element size, so readers can view the data in place.
  entries.sort((a, b) => b.size - a.size || a.index - b.index);

  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new IoError(`metadata "${k}" must be a string, got ${typeof v}`);
    }
    parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const { name, t } of entries) {
    const end = offset + t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] })}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 0x100000000, true);
  view.setUint32(4, Math.floor(headerLength / 0x100000000), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const { t } of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Parse and validate the header; `name` (usually the path) appears in every error message. */
export function decodeSafetensorsHeader(bytes: Uint8Array, name = "safetensors data"): SafetensorsHeader {
  const fail = (problem: string) => new IoError(`${name}: ${problem}`);
  if (bytes.length < 8) throw fail(`too short for a safetensors file (${bytes.length} bytes; the header length alone takes 8)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0, true) + view.getUint32(4, true) * 0x100000000;
  if (n > MAX_HEADER_BYTES) throw fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit; not a safetensors file, or corrupt`);
  if (n > bytes.length - 8) throw fail(`header length ${n} is larger than the file (${bytes.length} bytes); truncated or not a safetensors file`);
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    throw fail("the header is not valid UTF-8");
  }
  if (!text.startsWith("{")) throw fail(`the header is not a JSON object (it starts with ${quoted(text, 16)})`);
  const raw = parseJsonPart(text, name, "the header");
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw fail("the header is not a JSON object");

  const metadata: Record<string, string> = {};
  const list: Array<[string, HeaderEntry]> = [];
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === METADATA_KEY) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw fail(`"${METADATA_KEY}" must be an object of strings`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== "string") throw fail(`metadata ${quoted(k)} must be a string, found ${preview(v, 40)}`);
        defineEntry(metadata, k, v);
      }
      continue;
    }
    list.push([key, checkEntry(key, value, dataLength, fail)]);
  }

  // The offsets must tile the data buffer exactly.
  list.sort(([, a], [, b]) => a.data_offsets[0] - b.data_offsets[0] || a.data_offsets[1] - b.data_offsets[1]);
  let expected = 0;
  let previous = "";
  for (const [key, e] of list) {
    const [begin, end] = e.data_offsets;
    if (begin < expected) throw fail(`tensors ${quoted(previous)} and ${quoted(key)} overlap (data_offsets ${begin} < ${expected})`);
    if (begin > expected) throw fail(`data bytes ${expected}..${begin} belong to no tensor (a hole before ${quoted(key)})`);
    expected = end;
    if (end > begin) previous = key;
  }
  if (expected !== dataLength) {
    throw fail(`the data has ${dataLength - expected} bytes after the last tensor that belong to no tensor (${dataLength} bytes, tensors cover ${expected})`);
  }
  const tensors: Record<string, HeaderEntry> = {};
  for (const [key, e] of list) defineEntry(tensors, key, e);
  return { tensors, metadata, dataStart };
}

function checkEntry(key: string, value: unknown, dataLength: number, fail: (p: string) => IoError): HeaderEntry {
  const where = `tensor ${quoted(key)}`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw fail(`${where}: the entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isDtype(dtype)) throw fail(`${where}: unsupported dtype ${preview(dtype, 40)} (supported: ${Object.keys(DTYPES).join(", ")})`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw fail(`${where}: invalid shape ${preview(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw fail(`${where}: invalid data_offsets ${preview(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    throw fail(`${where}: data_offsets [${begin}, ${end}] are out of range (the data has ${dataLength} bytes)`);
  }
  const need = product(shape) * dtypeBytes(dtype);
  if (need !== end - begin) {
    throw fail(`${where}: shape ${preview(shape)} of ${dtype} needs ${need} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { dtype, shape: [...shape] as number[], data_offsets: [begin, end] };
}

/** Parse safetensors bytes. Every tensor's data is copied into its own typed array. */
export function decodeSafetensors(bytes: Uint8Array, name = "safetensors data"): Safetensors {
  checkPlatform();
  const header = decodeSafetensorsHeader(bytes, name);
  const tensors: Record<string, TensorEntry> = {};
  for (const [key, e] of Object.entries(header.tensors)) {
    const ctor = DTYPES[e.dtype];
    const data = new ctor(product(e.shape));
    const [begin, end] = e.data_offsets;
    new Uint8Array(data.buffer).set(bytes.subarray(header.dataStart + begin, header.dataStart + end));
    if (e.dtype === "BOOL") checkBool(data as Uint8Array, `${name}: tensor ${quoted(key)}`);
    defineEntry(tensors, key, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata: header.metadata };
}

function checkBool(data: Uint8Array, where: string): void {
  for (let i = 0; i < data.length; i++) {
    if (data[i]! > 1) throw new IoError(`${where}: BOOL value ${data[i]} at index ${i} (must be 0 or 1)`);
  }
}

/** IEEE half-precision bits to float32 values. */
export function f16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24;
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/** bfloat16 bits (the top half of a float32) to float32 values. */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const words = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) words[i] = bits[i]! << 16;
  return new Float32Array(words.buffer);
}
