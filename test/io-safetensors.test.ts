import { test } from "node:test";
import assert from "node:assert/strict";
import { IoError } from "../src/io/errors.js";
import {
  bf16ToF32, decodeSafetensors, decodeSafetensorsHeader, dtypeBytes, encodeSafetensors, f16ToF32, MAX_HEADER_BYTES, type TensorEntry,
} from "../src/io/safetensors.js";
import { expectOneLineError } from "./errors.js";

const enc = new TextEncoder();

/** A file from a header string (padded with spaces to 8 bytes unless `pad` is false) and data bytes. */
function build(header: string, data: ArrayLike<number> = [], pad = true): Uint8Array {
  let h = enc.encode(header);
  if (pad && h.length % 8) {
    const p = new Uint8Array(Math.ceil(h.length / 8) * 8).fill(0x20);
    p.set(h);
    h = p;
  }
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(Array.from(data), 8 + h.length);
  return out;
}

const expectIoError = (fn: () => unknown, ...patterns: RegExp[]) => expectOneLineError(fn, IoError, ...patterns);

const everyDtype: Record<string, TensorEntry> = {
  "u8": { dtype: "U8", shape: [3], data: Uint8Array.from([0, 128, 255]) },
  "layer.0.weight": { dtype: "F32", shape: [2, 3], data: Float32Array.from([1.5, -2, 0, -0, Infinity, 3.25e-20]) },
  "f64": { dtype: "F64", shape: [2], data: Float64Array.from([Math.PI, -1e300]) },
  "i32": { dtype: "I32", shape: [2, 1, 2], data: Int32Array.from([-2147483648, -1, 0, 2147483647]) },
  "i64": { dtype: "I64", shape: [2], data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]) },
  "i8": { dtype: "I8", shape: [3], data: Int8Array.from([-128, 0, 127]) },
  "f16": { dtype: "F16", shape: [3], data: Uint16Array.from([0x3c00, 0xc000, 0x7bff]) },
  "bf16": { dtype: "BF16", shape: [1], data: Uint16Array.from([0x3f80]) },
  "i16": { dtype: "I16", shape: [2], data: Int16Array.from([-32768, 32767]) },
  "u16": { dtype: "U16", shape: [1], data: Uint16Array.from([65535]) },
  "u32": { dtype: "U32", shape: [1], data: Uint32Array.from([4294967295]) },
  "u64": { dtype: "U64", shape: [1], data: BigUint64Array.from([2n ** 64n - 1n]) },
  "mask": { dtype: "BOOL", shape: [5], data: Uint8Array.from([1, 0, 0, 1, 1]) },
  "scalar": { dtype: "F32", shape: [], data: Float32Array.from([42]) },
  "empty": { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
};

test("round trip of every dtype, with metadata", () => {
  const metadata = { format: "pt", spec: JSON.stringify({ model: "lenet5", op: "adder" }), "ünïcode": "✓" };
  const bytes = encodeSafetensors(everyDtype, metadata);
  const back = decodeSafetensors(bytes, "every.safetensors");
  assert.deepEqual(back.metadata, metadata);
  assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(everyDtype).sort());
  for (const [name, t] of Object.entries(everyDtype)) {
    assert.equal(back.tensors[name]!.dtype, t.dtype, name);
    assert.deepEqual(back.tensors[name]!.shape, t.shape, name);
    assert.deepEqual(back.tensors[name]!.data, t.data, name);
  }
  // Decoded arrays own their memory.
  bytes.fill(0);
  assert.equal((back.tensors["f64"]!.data as Float64Array)[0], Math.PI);
});

test("layout: 8-byte aligned header and every tensor aligned to its element size", () => {
  const bytes = encodeSafetensors(everyDtype);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const header = decodeSafetensorsHeader(bytes);
  assert.equal(header.dataStart, 8 + n);
  for (const e of Object.values(header.tensors)) assert.equal(e.data_offsets[0] % dtypeBytes(e.dtype), 0);
  // Without metadata there is no "__metadata__" key.
  assert.ok(!new TextDecoder().decode(bytes.subarray(8, 8 + n)).includes("__metadata__"));
});

test("encoding matches a hand-written byte layout", () => {
  const bytes = encodeSafetensors(
    { a: { dtype: "F32", shape: [2], data: Float32Array.from([1, -2]) }, b: { dtype: "U8", shape: [1, 2], data: Uint8Array.from([7, 9]) } },
    { format: "pt" },
  );
  const header = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[1,2],"data_offsets":[8,10]}}';
  assert.equal(header.length, 140);
  const expected = [
    144, 0, 0, 0, 0, 0, 0, 0, // header length 140 + 4 spaces, little-endian u64
    ...enc.encode(header), 0x20, 0x20, 0x20, 0x20, // padded with spaces to a multiple of 8
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, // 1.0f, -2.0f little-endian
    7, 9,
  ];
  assert.deepEqual(Array.from(bytes), expected);
});

test("decodes a file written by another implementation (other key order, whitespace, no padding)", () => {
  // Python json.dumps style: spaces after separators, tensor keys before metadata.
  const header = '{"w": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}, "__metadata__": {"k": "v"}, "z": {"dtype": "BOOL", "shape": [2], "data_offsets": [8, 10]}}';
  const bytes = build(header, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0], false);
  const st = decodeSafetensors(bytes);
  assert.deepEqual(st.metadata, { k: "v" });
  assert.deepEqual(st.tensors["w"], { dtype: "I64", shape: [1], data: BigInt64Array.from([-2n]) });
  assert.deepEqual(st.tensors["z"], { dtype: "BOOL", shape: [2], data: Uint8Array.from([1, 0]) });
  // A view into a larger buffer at an odd offset decodes the same.
  const big = new Uint8Array(bytes.length + 3);
  big.set(bytes, 3);
  assert.deepEqual(decodeSafetensors(big.subarray(3)), st);
  // An empty file is valid.
  assert.deepEqual(decodeSafetensors(build("{}")), { tensors: {}, metadata: {} });
});

test("half-precision helpers", () => {
  const f16 = f16ToF32(Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555]));
  assert.deepEqual(Array.from(f16.subarray(0, 6)), [1, -2, 65504, 2 ** -24, Infinity, -Infinity]);
  assert.ok(Number.isNaN(f16[6]));
  assert.ok(Object.is(f16[7], -0));
  assert.equal(f16[8], Math.fround(0.333251953125));
  assert.deepEqual(Array.from(bf16ToF32(Uint16Array.from([0x3f80, 0xc040, 0x0000]))), [1, -3, 0]);
});

const F32_2 = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';

test("corrupt files are rejected with a one-line message naming the file", () => {
  const name = "runs/x/checkpoint.safetensors";
  const dec = (b: Uint8Array) => () => decodeSafetensors(b, name);
  const at = (re: string) => new RegExp(`^runs/x/checkpoint\\.safetensors: ${re}`);
  expectIoError(dec(new Uint8Array(5)), at("too short for a safetensors file \\(5 bytes"));
  const tooLong = build(F32_2, new Array(8).fill(0));
  new DataView(tooLong.buffer).setBigUint64(0, BigInt(tooLong.length), true);
  expectIoError(dec(tooLong), at(`header length ${tooLong.length} is larger than the file \\(${tooLong.length} bytes\\)`));
  const huge = build(F32_2, new Array(8).fill(0));
  new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
  expectIoError(dec(huge), at(`header length ${2 ** 40} exceeds the ${MAX_HEADER_BYTES}-byte limit`));
  const notUtf8 = build(F32_2, new Array(8).fill(0));
  notUtf8[12] = 0xff;
  expectIoError(dec(notUtf8), at("the header is not valid UTF-8"));
  expectIoError(dec(build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}', new Array(8).fill(0))), at("the header is not valid JSON"));
  expectIoError(dec(build("[1, 2]")), at("the header is not a JSON object"));
  expectIoError(dec(build('{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}', [0, 0])), at('tensor "a": unsupported dtype "F8_E4M3" \\(supported: F64, F32'));
  expectIoError(dec(build('{"a":{"dtype":"float32","shape":[2],"data_offsets":[0,8]}}', new Array(8).fill(0))), at('tensor "a": unsupported dtype "float32"'));
  expectIoError(dec(build('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', new Array(8).fill(0))), at('tensor "a": shape \\[3\\] of F32 needs 12 bytes but data_offsets \\[0, 8\\] span 8'));
  expectIoError(dec(build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', new Array(4).fill(0))), at('tensor "a": data_offsets \\[0, 8\\] are out of range \\(the data has 4 bytes\\)'));
  expectIoError(dec(build('{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}}', new Array(4).fill(0))), at('tensor "a": data_offsets \\[4, 2\\] are out of range'));
  expectIoError(dec(build('{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', new Array(8).fill(0))), at('tensor "a": invalid shape \\[-2\\]'));
  expectIoError(dec(build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}', new Array(8).fill(0))), at('tensor "a": invalid data_offsets \\[0\\]'));
  expectIoError(dec(build('{"a":[1]}')), at('tensor "a": the entry is not an object'));
  expectIoError(
    dec(build('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}', new Array(6).fill(0))),
    at('tensors "a" and "b" overlap'),
  );
  expectIoError(
    dec(build('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}', new Array(6).fill(0))),
    at('data bytes 2\\.\\.4 belong to no tensor \\(a hole before "b"\\)'),
  );
  expectIoError(dec(build('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', [1, 2, 3])), at("the data has 1 bytes after the last tensor that belong to no tensor"));
  expectIoError(dec(build('{"__metadata__":{"epoch":3}}')), at('metadata "epoch" must be a string, found 3'));
  expectIoError(dec(build('{"__metadata__":[]}')), at('"__metadata__" must be an object of strings'));
  expectIoError(dec(build('{"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}', [1, 2])), at('tensor "m": BOOL value 2 at index 1'));
  // sanity: the unmodified base file is fine
  assert.deepEqual(decodeSafetensors(build(F32_2, [0, 0, 0x80, 0x3f, 0, 0, 0, 0])).tensors["a"]!.data, Float32Array.from([1, 0]));
});

test("hostile headers: duplicate keys, deep nesting, long or multi-line names, huge values", () => {
  const name = "m.safetensors";
  const dec = (b: Uint8Array) => () => decodeSafetensors(b, name);
  const entry = '{"dtype":"U8","shape":[2],"data_offsets":[0,2]}';
  expectIoError(dec(build(`{"a":${entry},"a":${entry}}`, [1, 2])), /^m\.safetensors: the header is not valid JSON \(duplicate key "a"\)$/);
  expectIoError(dec(build('{"a":{"dtype":"U8","dtype":"F32","shape":[2],"data_offsets":[0,2]}}', [1, 2])), /duplicate key "dtype" at a\)/);
  expectIoError(dec(build('{"__metadata__":{"spec":"1","spec":"2"}}')), /duplicate key "spec" at __metadata__/);
  const deep = 100_000;
  expectIoError(dec(build(`{"a":${"[".repeat(deep)}${"]".repeat(deep)}}`)), /the header is not valid JSON \(nesting deeper than 64 levels/);
  expectIoError(dec(build(`{"a":{"dtype":"U8","shape":${"[".repeat(60)}${"]".repeat(60)},"data_offsets":[0,0]}}`)), /invalid shape \[\[\[/);
  const long = `x\n${"y".repeat(100_000)}`;
  for (const bad of [`{"${long}":[1]}`, `{"${long}":{"dtype":"${long}","shape":[1],"data_offsets":[0,1]}}`, `{"__metadata__":{"${long}":[${"1,".repeat(10_000)}1]}}`]) {
    assert.throws(dec(build(bad, [0])), (e: Error) => e instanceof IoError && e.message.length < 300 && !e.message.includes("\n"));
  }
  expectIoError(dec(build(`{"a":{"dtype":"U8","shape":[1e400],"data_offsets":[0,1]}}`, [0])), /invalid shape \[Infinity\]/);
  expectIoError(dec(build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,9007199254740993]}}`, [0])), /invalid data_offsets/);
});

test("__proto__ and constructor are ordinary tensor and metadata names", () => {
  const data = Uint8Array.from([7]);
  const bytes = encodeSafetensors(JSON.parse('{"__proto__":{"dtype":"U8","shape":[1],"data":0},"constructor":{"dtype":"U8","shape":[1],"data":0}}', (k, v) => (k === "data" ? data : v)), JSON.parse('{"__proto__":"p","toString":"t"}'));
  const back = decodeSafetensors(bytes);
  assert.deepEqual(Object.keys(back.tensors).sort(), ["__proto__", "constructor"]);
  assert.equal(Object.getPrototypeOf(back.tensors), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(back.tensors, "__proto__")?.value.data, data);
  assert.deepEqual(Object.entries(back.metadata), [["__proto__", "p"], ["toString", "t"]]);
});

test("encoding rejects inconsistent tensors", () => {
  const f = (tensors: Record<string, TensorEntry>, metadata?: Record<string, string>) => () => encodeSafetensors(tensors, metadata);
  expectIoError(f({ a: { dtype: "F32", shape: [3], data: new Float32Array(2) } }), /tensor "a": shape \[3\] has 3 elements but the data has 2/);
  expectIoError(f({ a: { dtype: "F32", shape: [2], data: new Float64Array(2) as unknown as Float32Array } }), /tensor "a": dtype F32 needs a Float32Array, got Float64Array/);
  expectIoError(f({ a: { dtype: "X" as "F32", shape: [1], data: new Float32Array(1) } }), /tensor "a": unsupported dtype "X"/);
  expectIoError(f({ a: { dtype: "F32", shape: [1.5], data: new Float32Array(1) } }), /tensor "a": invalid shape \[1\.5\]/);
  expectIoError(f({ __metadata__: { dtype: "U8", shape: [0], data: new Uint8Array(0) } }), /"__metadata__" is reserved/);
  expectIoError(f({ m: { dtype: "BOOL", shape: [1], data: Uint8Array.from([3]) } }), /tensor "m": BOOL value 3/);
  expectIoError(f({}, { epoch: 3 as unknown as string }), /metadata "epoch" must be a string/);
});

test("tensors that view shared or offset memory encode their own bytes only", () => {
  const backing = new Float32Array(new SharedArrayBuffer(64));
  backing.forEach((_, i) => (backing[i] = i));
  const view = backing.subarray(3, 7);
  const st = decodeSafetensors(encodeSafetensors({ v: { dtype: "F32", shape: [2, 2], data: view } }));
  assert.deepEqual(Array.from(st.tensors["v"]!.data as Float32Array), [3, 4, 5, 6]);
});
