// NumPy .npy arrays (format versions 1–3): the magic "\x93NUMPY", a version, a header length, a
// Python-dict header {'descr': '<f4', 'fortran_order': False, 'shape': (…)}, then the data.
// Only what a PyTorch user saves as a model input is read: little-endian float32, C order.
// Pure: bytes in, typed array out.
import { IoError } from "./errors.js";

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const MAX_DIMS = 8;

export function parseNpy(bytes: Uint8Array, name = "npy data"): NpyArray {
  const fail = (problem: string) => new IoError(`${name}: ${problem}`);
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw fail("not a .npy file (no \\x93NUMPY magic)");
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw fail(`unsupported .npy version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  const headerLen = major === 1 ? view.getUint16(8, true) : bytes.length >= 12 ? view.getUint32(8, true) : Infinity;
  const start = 8 + lenBytes;
  if (start + headerLen > bytes.length) throw fail("truncated header");
  const header = new TextDecoder("latin1").decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw fail("malformed header (needs descr, fortran_order and shape)");
  if (descr !== "<f4" && descr !== "=f4") throw fail(`holds ${descr} values; save a float32 array (x.astype(np.float32)) or a torch float tensor (.numpy())`);
  if (fortran !== "False") throw fail("is in Fortran order; save a C-ordered array (np.ascontiguousarray)");
  const dims = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (dims.length > MAX_DIMS || !dims.every((d) => /^\d{1,9}$/.test(d))) throw fail(`malformed shape (${shapeText.slice(0, 40)})`);
  const shape = dims.map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  if (bytes.length - dataStart !== count * 4) throw fail(`shape (${shape.join(", ")}) needs ${count * 4} data bytes, the file has ${bytes.length - dataStart}`);
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(bytes.subarray(dataStart));
  return { shape, data };
}

/** Encode a float32 array as .npy (version 1.0), e.g. for tests and fixtures. */
export function encodeNpy(shape: readonly number[], data: Float32Array): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  // the data starts 64-byte aligned, the header ends with a newline
  const unpadded = 10 + dict.length + 1;
  const header = dict + " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
