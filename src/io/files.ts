// Node-only file helpers for the io layer: atomic writes and checked reads. Node builtins come
// from nodeBuiltin() at call time, so importing this module elsewhere is harmless.
import { nodeBuiltin } from "../kernels/runtime.js";
import { IoError } from "./errors.js";
import { decodeSafetensors, encodeSafetensors, type Safetensors, type TensorEntry } from "./safetensors.js";

type Fs = typeof import("node:fs");
type Path = typeof import("node:path");

function node(): { fs: Fs; path: Path } {
  const fs = nodeBuiltin<Fs>("node:fs");
  const path = nodeBuiltin<Path>("node:path");
  if (!fs || !path) throw new IoError("file access needs Node (node:fs)");
  return { fs, path };
}

const reason = (e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case "ENOENT": return "no such file or directory";
    case "EACCES": case "EPERM": return "permission denied";
    case "EISDIR": return "it is a directory";
    case "ENOTDIR": return "a parent path is not a directory";
    case "ENOSPC": return "no space left on the device";
    default: return err.message ?? String(e);
  }
};

let tempCounter = 0;

/**
 * Write `bytes` to `path` so that readers see either the old file or the complete new one: write
 * a temporary file in the same directory, fsync it, rename it over `path`. On failure the
 * temporary file is removed and `path` is untouched.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const { fs, path: p } = node();
  const dir = p.dirname(path);
  const dirStat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!dirStat) throw new IoError(`cannot write ${path}: the directory ${dir} does not exist`);
  if (!dirStat.isDirectory()) throw new IoError(`cannot write ${path}: ${dir} is not a directory`);
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
  const temp = p.join(dir, `.${p.basename(path)}.${pid}.${Date.now().toString(36)}.${tempCounter++}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, "wx", 0o644);
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, path);
  } catch (e) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    try { fs.unlinkSync(temp); } catch { /* never created */ }
    throw new IoError(`cannot write ${path}: ${reason(e)}`);
  }
  // Make the rename itself durable; not every platform can fsync a directory.
  try {
    const dfd = fs.openSync(dir, "r");
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
  } catch { /* best effort */ }
}

/**
 * What a non-regular file is ("a FIFO", "a character device", ...), or undefined for a regular
 * file. Readers refuse these before opening them: opening a FIFO blocks until a writer comes,
 * and a device like /dev/zero never ends.
 */
export function specialFileKind(stat: import("node:fs").Stats): string | undefined {
  if (stat.isFile()) return undefined;
  if (stat.isDirectory()) return "a directory";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  return "not a file";
}

/** True when two paths name the same file (after resolving them against the working directory). */
export function sameFile(a: string, b: string): boolean {
  const { path } = node();
  return path.resolve(a) === path.resolve(b);
}

/** True when `path` exists (any kind of file). */
export function fileExists(path: string): boolean {
  return node().fs.existsSync(path);
}

/** Read a whole file; `what` names it in errors ("checkpoint", "optimizer state", ...). */
export function readFileChecked(path: string, what = "file"): Uint8Array {
  const { fs } = node();
  let stat: import("node:fs").Stats | undefined;
  try {
    stat = fs.statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    throw new IoError(`cannot read ${what} ${path}: ${reason(e)}`);
  }
  if (!stat) throw new IoError(`${what} not found: ${path}`);
  if (stat.isDirectory()) throw new IoError(`${what} ${path} is a directory, expected a file`);
  const special = specialFileKind(stat);
  if (special) throw new IoError(`${what} ${path}: not a regular file (${special})`);
  try {
    const buf = fs.readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new IoError(`cannot read ${what} ${path}: ${reason(e)}`);
  }
}

/** Read and validate a safetensors file. */
export function readSafetensorsFile(path: string, what = "safetensors file"): Safetensors {
  return decodeSafetensors(readFileChecked(path, what), path);
}

/** Write a safetensors file atomically. */
export function writeSafetensorsFile(path: string, tensors: Record<string, TensorEntry>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
