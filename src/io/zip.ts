// A zip reader for what torch.save writes (PyTorch ≥ 1.6): the end-of-central-directory record
// (and its zip64 form, which PyTorch always adds), the central directory, and entries that are
// STORED, as torch writes them, or DEFLATEd, as a user's re-zipped copy may be. Local headers
// carry zero sizes (torch uses data descriptors), so sizes come from the central directory.
// Every offset and size is checked against the file and every entry's CRC-32 is verified, so a
// damaged file is refused instead of read wrong. This one page of zip reading does not justify a
// dependency. Pure, except that DEFLATE needs node:zlib, found at call time (browsers: refused).
import { nodeBuiltin } from "../kernels/runtime.js";
import { IoError } from "./errors.js";
import { printable } from "./json.js";

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  /** Offset of the entry's local header. */
  localOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

/** True when the bytes start like a zip archive (a local file header). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

export function readZipDirectory(bytes: Uint8Array, name: string): ZipEntry[] {
  const fail = (problem: string) => new IoError(`${name}: ${problem}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  /** A 64-bit size or offset; anything past the file is as bad as any other wrong value. */
  const u64 = (at: number) => Math.min(Number(view.getBigUint64(at, true)), Number.MAX_SAFE_INTEGER);

  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - MAX_COMMENT); at--) {
    if (u32(at) === EOCD && at + 22 + u16(at + 20) === bytes.length) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw fail("a zip archive without its end-of-central-directory record (truncated?)");
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0) throw fail("multi-disk zip archives are not supported");
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || u32(locator) !== EOCD64_LOCATOR) throw fail("a zip64 archive without its zip64 locator (corrupt)");
    const at = u64(locator + 8);
    if (at > locator - 56 || u32(at) !== EOCD64) throw fail("a zip64 archive whose zip64 directory record is missing (corrupt)");
    count = u64(at + 32);
    cdSize = u64(at + 40);
    cdOffset = u64(at + 48);
  }
  if (cdOffset + cdSize > eocd || count * 46 > cdSize) throw fail(`its zip central directory (${count} entries at byte ${cdOffset}) does not fit the file (corrupt or truncated)`);

  const entries: ZipEntry[] = [];
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cdOffset + cdSize || u32(at) !== CENTRAL) throw fail(`zip central directory entry ${i} is corrupt`);
    const flags = u16(at + 8);
    const nameLen = u16(at + 28);
    const extraLen = u16(at + 30);
    const commentLen = u16(at + 32);
    const end = at + 46 + nameLen + extraLen + commentLen;
    if (end > cdOffset + cdSize) throw fail(`zip central directory entry ${i} runs past the directory (corrupt)`);
    const entryName = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLen));
    if (flags & 1) throw fail(`zip entry ${printable(entryName)} is encrypted`);
    const entry: ZipEntry = { name: entryName, method: u16(at + 10), crc32: u32(at + 16), compressedSize: u32(at + 20), size: u32(at + 24), localOffset: u32(at + 42) };
    readZip64Extra(view, at + 46 + nameLen, extraLen, entry, () => fail(`zip entry ${printable(entryName)} has a corrupt zip64 field`));
    entries.push(entry);
    at = end;
  }
  return entries;
}

/** Replace the 0xFFFFFFFF placeholders of `e` by the values of its zip64 extra field (id 1). */
function readZip64Extra(view: DataView, start: number, length: number, e: ZipEntry, corrupt: () => IoError): void {
  const wanted = (["size", "compressedSize", "localOffset"] as const).filter((k) => e[k] === 0xffffffff);
  if (!wanted.length) return;
  for (let at = start; at + 4 <= start + length; ) {
    const id = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    if (at + 4 + size > start + length) break;
    if (id === 1) {
      if (size < 8 * wanted.length) throw corrupt();
      wanted.forEach((k, i) => (e[k] = Math.min(Number(view.getBigUint64(at + 4 + 8 * i, true)), Number.MAX_SAFE_INTEGER)));
      return;
    }
    at += 4 + size;
  }
  throw corrupt();
}

/** The entry's bytes, inflated if needed, after checking its CRC-32. */
export function zipEntryData(bytes: Uint8Array, e: ZipEntry, name: string): Uint8Array {
  const fail = (problem: string) => new IoError(`${name}: zip entry ${printable(e.name)} ${problem}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (e.localOffset + 30 > bytes.length || view.getUint32(e.localOffset, true) !== LOCAL) throw fail("has no local header where the directory says (corrupt)");
  const start = e.localOffset + 30 + view.getUint16(e.localOffset + 26, true) + view.getUint16(e.localOffset + 28, true);
  if (start + e.compressedSize > bytes.length) throw fail(`runs past the end of the file (truncated?)`);
  const stored = bytes.subarray(start, start + e.compressedSize);
  let data: Uint8Array;
  if (e.method === 0) {
    if (e.compressedSize !== e.size) throw fail("is stored with two different sizes (corrupt)");
    data = stored;
  } else if (e.method === 8) {
    data = inflate(stored, e.size, fail);
  } else {
    throw fail(`uses compression method ${e.method}; only stored and deflate entries are read`);
  }
  if (crc32(data) !== e.crc32) throw fail("fails its CRC-32 check (corrupt)");
  return data;
}

function inflate(data: Uint8Array, size: number, fail: (p: string) => IoError): Uint8Array {
  const zlib = nodeBuiltin<typeof import("node:zlib")>("node:zlib");
  if (!zlib) throw fail("is deflate-compressed, which needs Node's zlib; store the entries uncompressed (as torch.save does)");
  let out: Uint8Array;
  try {
    // the bound stops a zip bomb: never more than the size the directory declares
    out = zlib.inflateRawSync(data, { maxOutputLength: Math.max(1, size) });
  } catch {
    throw fail("holds corrupt deflate data");
  }
  if (out.length !== size) throw fail(`inflates to ${out.length} bytes, not the ${size} its directory says (corrupt)`);
  return out;
}

let table: Uint32Array | undefined;

export function crc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
