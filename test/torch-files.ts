// PyTorch files for tests: the fixtures made with PyTorch (test/fixtures/torch/), and hand-assembled
// pickles and torch.save containers: the bytes Python's pickler and torch.save would write, or
// deliberately would not. Only what the tests need.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { crc32 } from "../src/io/zip.js";

export const FIXTURES = fileURLToPath(new URL("../../test/fixtures/torch/", import.meta.url));
export const fixture = (name: string) => new Uint8Array(readFileSync(FIXTURES + name));

const enc = new TextEncoder();

function le(n: number | bigint, bytes: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  for (let i = 0; i < bytes; i++, v >>= 8n) out.push(Number(v & 0xffn));
  return out;
}

/** A protocol-2 pickle, written opcode by opcode. */
export class Pickle {
  private out: number[];
  constructor(protocol = 2) {
    this.out = [0x80, protocol];
  }
  op(...bytes: number[]): this {
    return this.raw(bytes);
  }
  /** Many bytes at once (a spread of tens of thousands of arguments overflows the stack). */
  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.out.push(bytes[i]!);
    return this;
  }
  str(s: string): this {
    const b = enc.encode(s);
    return this.op(0x58, ...le(b.length, 4), ...b);
  }
  int(n: number): this {
    return this.op(0x4a, ...le(n < 0 ? n + 2 ** 32 : n, 4));
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...enc.encode(`${module}\n${name}\n`));
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  none(): this {
    return this.op(0x4e);
  }
  /** OrderedDict() (REDUCE with no arguments), then MARK for its SETITEMS. */
  orderedDict(): this {
    return this.global("collections", "OrderedDict").op(0x29, 0x52);
  }
  /** An int tuple. */
  ints(values: number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  /**
   * _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) with the storage's
   * persistent id: zip form (5 items) or legacy form (6 items, no view).
   */
  tensor(t: { key: string; type?: string; numel: number; offset?: number; size: number[]; stride?: number[] }, legacy = false): this {
    const stride = t.stride ?? t.size.map((_, d) => t.size.slice(d + 1).reduce((a, b) => a * b, 1));
    this.global("torch._utils", "_rebuild_tensor_v2").mark();
    this.mark().str("storage").global("torch", t.type ?? "FloatStorage").str(t.key).str("cpu").int(t.numel);
    if (legacy) this.none();
    this.tuple().op(0x51); // BINPERSID
    this.int(t.offset ?? 0).ints(t.size).ints(stride).op(0x89).orderedDict().tuple();
    return this.op(0x52);
  }
  done(): Uint8Array {
    return Uint8Array.from([...this.out, 0x2e]);
  }
}

/** An OrderedDict state dict of the given tensors, as torch.save's data.pkl (zip) or object pickle (legacy). */
export function stateDictPickle(tensors: Array<[string, Parameters<Pickle["tensor"]>[0]]>, legacy = false): Uint8Array {
  const p = new Pickle().orderedDict().mark();
  for (const [name, t] of tensors) p.str(name).tensor(t, legacy);
  return p.op(0x75).done(); // SETITEMS
}

export const floats = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

/** The legacy container: magic, protocol, system info, the object, the storage keys, then the storages. */
export function legacyFile(object: Uint8Array, storages: Array<{ key: string; data: Uint8Array; numel: number }>, options: { littleEndian?: boolean; protocol?: number } = {}): Uint8Array {
  const magic = new Pickle().op(0x8a, 10, ...le(0x1950a86a20f9469cfc6cn, 10)).done();
  const protocol = new Pickle().int(options.protocol ?? 1001).done();
  const sys = new Pickle().op(0x7d).mark().str("protocol_version").int(1001).str("little_endian").op(options.littleEndian === false ? 0x89 : 0x88).op(0x75).done();
  const keys = new Pickle().op(0x5d).mark();
  for (const s of storages) keys.str(s.key);
  const parts = [magic, protocol, sys, object, keys.op(0x65).done()];
  for (const s of storages) parts.push(Uint8Array.from(le(s.numel, 8)), s.data);
  return join(parts);
}

/** A zip archive of STORED entries, with data descriptors and sizes in the central directory (as torch writes). */
export function zipFile(entries: Array<[string, Uint8Array]>): Uint8Array {
  const locals: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = enc.encode(name);
    const crc = crc32(data);
    const local = Uint8Array.from([...le(0x04034b50, 4), 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...le(crc, 4), ...le(data.length, 4), ...le(data.length, 4), ...le(n.length, 2), 0, 0, ...n]);
    central.push(Uint8Array.from([...le(0x02014b50, 4), 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...le(crc, 4), ...le(data.length, 4), ...le(data.length, 4), ...le(n.length, 2), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...le(offset, 4), ...n]));
    locals.push(local, data);
    offset += local.length + data.length;
  }
  const cd = join(central);
  const eocd = Uint8Array.from([...le(0x06054b50, 4), 0, 0, 0, 0, ...le(entries.length, 2), ...le(entries.length, 2), ...le(cd.length, 4), ...le(offset, 4), 0, 0]);
  return join([...locals, cd, eocd]);
}

export function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}
