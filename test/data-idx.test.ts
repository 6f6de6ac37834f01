import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { DataError } from "../src/data/errors.js";
import { encodeIdx, parseIdx, type IdxArray } from "../src/data/idx.js";
import { MAX_DATA_FILE_BYTES, readDataFile, readIdxFile } from "../src/data/files.js";
import { expectOneLineError } from "./errors.js";

const dir = mkdtempSync(join(tmpdir(), "mulfree-idx-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const samples: IdxArray[] = [
  { type: "u8", shape: [3, 2, 4], data: Uint8Array.from({ length: 24 }, (_, i) => (i * 37) & 255) },
  { type: "i8", shape: [5], data: Int8Array.from([-128, -1, 0, 1, 127]) },
  { type: "i16", shape: [2, 3], data: Int16Array.from([-32768, -2, 0, 256, 1000, 32767]) },
  { type: "i32", shape: [1, 2, 1, 2], data: Int32Array.from([-2147483648, -7, 65536, 2147483647]) },
  { type: "f32", shape: [4], data: Float32Array.from([1.5, -3.25, 1e-30, Math.fround(Math.PI)]) },
  { type: "f64", shape: [2, 1], data: Float64Array.from([Math.PI, -1e300]) },
  { type: "u8", shape: [0, 28], data: new Uint8Array(0) },
];

const expectDataError = (fn: () => unknown, ...patterns: RegExp[]) => expectOneLineError(fn, DataError, ...patterns);

test("IDX encode/parse round trip for every type", () => {
  for (const arr of samples) {
    const back = parseIdx(encodeIdx(arr));
    assert.equal(back.type, arr.type);
    assert.deepEqual(back.shape, arr.shape);
    assert.deepEqual(back.data, arr.data);
  }
});

test("IDX matches the hand-written big-endian layout", () => {
  const u8 = parseIdx(Uint8Array.from([0, 0, 0x08, 1, 0, 0, 0, 3, 1, 2, 3]));
  assert.deepEqual(u8, { type: "u8", shape: [3], data: Uint8Array.from([1, 2, 3]) });
  const i16 = parseIdx(Uint8Array.from([0, 0, 0x0b, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xfe, 0x01, 0x00]));
  assert.deepEqual(i16, { type: "i16", shape: [1, 2], data: Int16Array.from([-2, 256]) });
  const f32 = parseIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0]));
  assert.deepEqual(f32.data, Float32Array.from([1.5]));
  assert.deepEqual(Array.from(encodeIdx(i16)), [0, 0, 0x0b, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xfe, 0x01, 0x00]);
});

test("IDX files round trip, plain and gzipped", () => {
  samples.forEach((arr, i) => {
    const bytes = encodeIdx(arr);
    const plain = join(dir, `plain-${i}.idx`);
    const gz = join(dir, `packed-${i}.idx.gz`);
    writeFileSync(plain, bytes);
    writeFileSync(gz, gzipSync(bytes));
    for (const path of [plain, gz]) {
      const back = readIdxFile(path);
      assert.deepEqual(back.shape, arr.shape);
      assert.deepEqual(back.data, arr.data);
    }
  });
});

test("IDX parse accepts a view into a larger buffer", () => {
  const bytes = encodeIdx(samples[2]!);
  const big = new Uint8Array(bytes.length + 3);
  big.set(bytes, 3);
  assert.deepEqual(parseIdx(big.subarray(3)).data, samples[2]!.data);
});

test("IDX errors: missing file, directory, corrupt gzip", () => {
  const missing = join(dir, "nope-images-idx3-ubyte");
  expectDataError(() => readIdxFile(missing, "MNIST images file"), /^MNIST images file not found: /, new RegExp(missing));
  const sub = join(dir, "a-directory");
  mkdirSync(sub);
  expectDataError(() => readIdxFile(sub), /is a directory/, new RegExp(sub));
  const badGz = join(dir, "bad.gz");
  writeFileSync(badGz, Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5]));
  expectDataError(() => readIdxFile(badGz), /corrupt gzip/, new RegExp(badGz));
});

// FIFOs: test/io-files.test.ts, which reads them in a child process that cannot hang the suite
test("data files: devices are refused unopened; gzip bombs are capped", () => {
  expectDataError(() => readDataFile("/dev/null", "labels file"), /^labels file \/dev\/null: not a regular file \(a character device\)$/);
  const bomb = join(dir, "bomb.gz");
  writeFileSync(bomb, gzipSync(new Uint8Array(50_000_000)));
  expectDataError(() => readDataFile(bomb, "images file", 1_000_000), /bomb\.gz: decompresses to more than the 1000000-byte limit/);
  assert.equal(readDataFile(bomb, "images file", 50_000_000).length, 50_000_000, "exactly at the limit is fine");
  expectDataError(() => readDataFile(bomb, "images file", 1000), /bomb\.gz: \d+ bytes, more than the 1000-byte limit/);
  assert.ok(MAX_DATA_FILE_BYTES >= 2 ** 30);
});

test("IDX errors: truncated data and header", () => {
  const bytes = encodeIdx({ type: "u8", shape: [2, 3, 3], data: new Uint8Array(18) });
  const path = join(dir, "truncated.idx");
  writeFileSync(path, bytes.subarray(0, bytes.length - 1));
  expectDataError(() => readIdxFile(path), new RegExp(`^${path}: truncated IDX file`), /2×3×3 unsigned byte values \(18 bytes\)/, /only 17 data bytes/);
  // the same, gzipped: the error still names the file
  writeFileSync(path + ".gz", gzipSync(bytes.subarray(0, 10)));
  expectDataError(() => readIdxFile(path + ".gz"), new RegExp(`${path}.gz: truncated`));
  expectDataError(() => parseIdx(bytes.subarray(0, 9), "hdr"), /^hdr: truncated IDX file: 9 bytes, the header of 3 dimensions needs 16/);
  expectDataError(() => parseIdx(Uint8Array.from([0, 0]), "tiny"), /^tiny: truncated/);
  expectDataError(() => parseIdx(new Uint8Array(0), "empty"), /^empty: truncated/);
  // a corrupt header of 255 huge dimensions: the message shows only the first few
  const header = new Uint8Array(4 + 4 * 255).fill(0xff);
  header.set([0, 0, 0x08, 255]);
  const first4 = "4294967295×".repeat(4);
  expectDataError(() => parseIdx(header, "wide"), new RegExp(`^wide: truncated IDX file: the header declares ${first4}… \\(255 dimensions\\) unsigned byte values \\(Infinity bytes\\) but only 0 data bytes follow$`));
});

test("IDX errors: wrong magic, unsupported type, trailing bytes, gzip passed to the parser", () => {
  expectDataError(() => parseIdx(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]), "x.png"), /^x\.png: not an IDX file: wrong magic number 0x89 0x50 0x4e 0x47/);
  expectDataError(() => parseIdx(Uint8Array.from([0, 0, 0x0a, 1, 0, 0, 0, 0]), "f"), /^f: unsupported IDX type code 0x0a/, /0x08 unsigned byte/);
  const bytes = encodeIdx(samples[0]!);
  const longer = new Uint8Array(bytes.length + 5);
  longer.set(bytes);
  expectDataError(() => parseIdx(longer, "long"), /^long: IDX file has 5 unexpected bytes after/);
  expectDataError(() => parseIdx(gzipSync(bytes), "z.gz"), /^z\.gz: is gzip-compressed/);
});

test("encodeIdx rejects inconsistent input", () => {
  expectDataError(() => encodeIdx({ type: "u8", shape: [2, 2], data: new Uint8Array(3) }), /has 4 values but data has 3/);
  expectDataError(() => encodeIdx({ type: "u8", shape: [-1], data: new Uint8Array(0) }), /invalid dimension -1/);
});
