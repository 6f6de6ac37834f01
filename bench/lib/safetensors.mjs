// Minimal safetensors reader/writer (F32 only) for the benchmarks.
// Kept small and isolated on purpose: swap it for mulfree's src/io/safetensors.ts later.
// Format: u64 LE header length, JSON header {name: {dtype, shape, data_offsets:[b,e]}, __metadata__},
// then the raw little-endian data; offsets are relative to the end of the header.
import fs from 'node:fs';

/** Read a safetensors file. Returns { tensors: {name: {dtype, shape, data: Float32Array}}, metadata }. */
export function readSafetensors(path) {
  const buf = fs.readFileSync(path);
  const fail = (msg) => { throw new Error(`${path}: not a valid safetensors file: ${msg}`); };
  if (buf.length < 8) fail(`file is ${buf.length} bytes, shorter than the 8-byte header length`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen > buf.length - 8) fail(`header length ${headerLen} exceeds file size ${buf.length}`);
  let header;
  try { header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')); } catch (e) { fail(`header is not JSON (${e.message})`); }
  const base = 8 + headerLen;
  const dataLen = buf.length - base;
  const tensors = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: off } = info;
    if (dtype !== 'F32') fail(`tensor "${name}" has dtype ${dtype}; only F32 is supported here`);
    if (!Array.isArray(shape) || !Array.isArray(off) || off.length !== 2) fail(`tensor "${name}" has a malformed entry`);
    const [b, e] = off;
    const n = shape.reduce((a, d) => a * d, 1);
    if (!(b >= 0 && e >= b && e <= dataLen)) fail(`tensor "${name}" offsets [${b}, ${e}] are outside the data (${dataLen} bytes)`);
    if (e - b !== n * 4) fail(`tensor "${name}" has ${e - b} bytes but shape [${shape}] needs ${n * 4}`);
    // Copy: the data may not be 4-byte aligned inside the file buffer.
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(buf.subarray(base + b, base + e));
    tensors[name] = { dtype, shape: shape.slice(), data };
  }
  return { tensors, metadata: header.__metadata__ ?? {} };
}

/** Write F32 tensors {name: {shape, data}} atomically (temporary file, then rename). */
export function writeSafetensors(path, tensors, metadata = {}) {
  const header = {};
  const parts = [];
  let off = 0;
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    const n = shape.reduce((a, d) => a * d, 1);
    if (data.length !== n) throw new Error(`writeSafetensors: tensor "${name}" has ${data.length} values, shape [${shape}] needs ${n}`);
    const bytes = Buffer.from(Float32Array.from(data).buffer);
    header[name] = { dtype: 'F32', shape, data_offsets: [off, off + bytes.length] };
    parts.push(bytes);
    off += bytes.length;
  }
  const meta = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)]));
  if (Object.keys(meta).length) header.__metadata__ = meta;
  const raw = Buffer.from(JSON.stringify(header), 'utf8');
  // Pad with spaces so the data starts 8-byte aligned.
  const jsonBytes = Buffer.concat([raw, Buffer.alloc((8 - (raw.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(jsonBytes.length));
  const tmp = `${path}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat([len, jsonBytes, ...parts]));
  fs.renameSync(tmp, path);
}
