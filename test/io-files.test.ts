import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IoError } from "../src/io/errors.js";
import { readFileChecked, readSafetensorsFile, writeFileAtomic, writeSafetensorsFile } from "../src/io/files.js";
import { expectOneLineError } from "./errors.js";

const root = mkdtempSync(join(tmpdir(), "mulfree-io-"));
after(() => rmSync(root, { recursive: true, force: true }));

const expectIoError = (fn: () => unknown, re: RegExp) => expectOneLineError(fn, IoError, re);

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

/**
 * Run `call` (an expression over `mod`, the module at `module`, and `path`) in a child process
 * with a timeout, so that a read that blocks fails the test instead of hanging it. Returns what
 * it threw, as "Name: message", or "returned".
 */
function outcomeInChild(module: string, call: string, path: string): string {
  const url = new URL(module, import.meta.url).href;
  const code = `const mod = await import(${JSON.stringify(url)}); const path = ${JSON.stringify(path)};
    try { ${call}; console.log("returned"); } catch (e) { console.log(e.name + ": " + e.message); }`;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8", timeout: 10_000 });
  assert.equal(child.signal, null, `the read of ${path} did not finish (it blocked)`);
  return child.stdout.trim();
}

test("readFileChecked and readDataFile refuse FIFOs, sockets and devices before opening them", async () => {
  const fifo = join(root, "pipe.safetensors");
  assert.equal(spawnSync("mkfifo", [fifo]).status, 0, "mkfifo");
  assert.equal(outcomeInChild("../src/io/files.js", 'mod.readFileChecked(path, "checkpoint")', fifo), `IoError: checkpoint ${fifo}: not a regular file (a FIFO)`);
  expectIoError(() => readSafetensorsFile(fifo), /pipe\.safetensors: not a regular file \(a FIFO\)$/);
  // the data layer's reader too (src/data/files.ts)
  assert.equal(outcomeInChild("../src/data/files.js", 'mod.readIdxFile(path, "images file")', fifo), `DataError: images file ${fifo}: not a regular file (a FIFO)`);
  expectIoError(() => readFileChecked("/dev/null", "checkpoint"), /^checkpoint \/dev\/null: not a regular file \(a character device\)$/);
  const socket = join(root, "s.sock");
  const server = createServer();
  await new Promise<void>((done) => server.listen(socket, done));
  try {
    expectIoError(() => readFileChecked(socket, "bundle"), /^bundle .*s\.sock: not a regular file \(a socket\)$/);
  } finally {
    await new Promise((done) => server.close(done));
  }
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
