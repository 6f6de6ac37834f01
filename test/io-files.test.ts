import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IoError } from "../src/io/errors.js";
import { readFileChecked, readSafetensorsFile, writeFileAtomic, writeSafetensorsFile } from "../src/io/files.js";

const root = mkdtempSync(join(tmpdir(), "mulfree-io-"));
after(() => rmSync(root, { recursive: true, force: true }));

function expectIoError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof IoError, `expected IoError, got ${String(e)}`);
    assert.ok(!e.message.includes("\n"));
    assert.match(e.message, re);
    return true;
  });
}

test("writeFileAtomic writes, overwrites and leaves no temporary files", () => {
  const dir = join(root, "ok");
  mkdirSync(dir);
  const path = join(dir, "model.safetensors");
  writeFileAtomic(path, Uint8Array.from([1, 2, 3]));
  assert.deepEqual(new Uint8Array(readFileSync(path)), Uint8Array.from([1, 2, 3]));
  const big = Uint8Array.from({ length: 3_000_000 }, (_, i) => i & 255);
  writeFileAtomic(path, big);
  assert.deepEqual(readFileChecked(path, "checkpoint"), big);
  writeFileAtomic(path, new Uint8Array(0));
  assert.equal(readFileSync(path).length, 0);
  assert.deepEqual(readdirSync(dir), ["model.safetensors"]);
});

test("a failed write removes its temporary file and keeps the old file", () => {
  const dir = join(root, "fail");
  mkdirSync(dir);
  // The target is a non-empty directory: the final rename fails after the data was written.
  const target = join(dir, "checkpoint.safetensors");
  mkdirSync(target);
  writeFileSync(join(target, "keep"), "x");
  expectIoError(() => writeFileAtomic(target, Uint8Array.from([9, 9])), new RegExp(`^cannot write ${target}: `));
  assert.deepEqual(readdirSync(dir), ["checkpoint.safetensors"]);
  assert.deepEqual(readdirSync(target), ["keep"]);
  expectIoError(() => writeFileAtomic(join(dir, "missing", "x.bin"), new Uint8Array(1)), /cannot write .*x\.bin: the directory .*missing does not exist/);
  writeFileSync(join(dir, "plain"), "x");
  expectIoError(() => writeFileAtomic(join(dir, "plain", "x.bin"), new Uint8Array(1)), /plain is not a directory/);
});

test("readFileChecked: missing files and directories", () => {
  const missing = join(root, "nope.safetensors");
  expectIoError(() => readFileChecked(missing, "checkpoint"), new RegExp(`^checkpoint not found: ${missing}$`));
  expectIoError(() => readFileChecked(root, "checkpoint"), new RegExp(`^checkpoint ${root} is a directory, expected a file$`));
});

test("safetensors files: round trip and errors naming the path", () => {
  const path = join(root, "ckpt.safetensors");
  writeSafetensorsFile(path, { "fc.weight": { dtype: "F32", shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) } }, { step: "10" });
  const st = readSafetensorsFile(path);
  assert.deepEqual(st.metadata, { step: "10" });
  assert.deepEqual(st.tensors["fc.weight"]!.data, Float32Array.from([1, 2, 3, 4]));
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.length - 1));
  expectIoError(() => readSafetensorsFile(path), new RegExp(`^${path}: tensor "fc\\.weight": data_offsets \\[0, 16\\] are out of range`));
  expectIoError(() => readSafetensorsFile(join(root, "none.safetensors"), "checkpoint"), /^checkpoint not found: /);
});
