// A restricted pickle interpreter: the binary opcodes of protocols 1–5 that torch.save writes,
// and nothing that can run code. A pickle names callables with GLOBAL / STACK_GLOBAL; here every
// such name goes through the caller's allowlist, which returns a re-implemented constructor
// (PyCallable) or nothing, and anything else is refused before a single further byte is read.
// REDUCE, NEWOBJ and BUILD only ever apply those constructors, so a hostile file can make data,
// never behaviour. The stack, the marks and the memo are bounded, every length is checked against
// the bytes left, and all errors are one-line IoErrors that start with the file name.
// Pure: no Node imports.
import { IoError } from "./errors.js";
import { printable } from "./json.js";

/** A Python tuple (kept apart from lists: torch's persistent ids and call arguments are tuples). */
export class PyTuple {
  constructor(readonly items: readonly unknown[]) {}
}

/** A dict or OrderedDict, in insertion order. Keys are compared as JS values (strings, numbers). */
export class PyDict {
  readonly entries = new Map<unknown, unknown>();
  /** What BUILD set on it: a state dict's `_metadata` (per-module versions), read by no one here. */
  attributes: unknown = undefined;
}

/** A set or frozenset, as the list of its items. */
export class PySet {
  constructor(readonly items: unknown[]) {}
}

/** A constructor the allowlist lets the pickle call, re-implemented in TypeScript. */
export class PyCallable {
  constructor(
    /** "module.name", for messages. */
    readonly qualname: string,
    readonly call: (args: readonly unknown[]) => unknown,
  ) {}
}

/** What a GLOBAL may resolve to: a callable, or an inert value (e.g. a storage type). */
export type GlobalResolver = (module: string, name: string) => unknown;

export interface UnpickleOptions {
  /** The file, first in every error message. */
  name: string;
  /** The allowlist: undefined refuses the global. */
  resolveGlobal: GlobalResolver;
  /** Advice added to the refusal of a global (e.g. "save the state dict instead"). */
  refusalHint?: (module: string, name: string) => string | undefined;
  /** BINPERSID's handler (torch: storages); without one, persistent ids are refused. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Where the pickle starts (several pickles may follow each other). */
  offset?: number;
}

export interface Unpickled {
  value: unknown;
  /** The byte after STOP. */
  end: number;
}

/** Objects on the stack at once (all marks together), memo entries and mark depth: far above any state dict. */
const MAX_STACK = 1 << 22;
const MAX_MEMO = 1 << 22;
const MAX_MARKS = 1 << 16;
/** LONG1/LONG4 integers longer than this are no tensor size, offset or magic number. */
const MAX_LONG_BYTES = 16;
const MAX_GLOBAL_LINE = 512;

/** Opcode names for messages (only those this reader knows; the rest are shown in hex). */
const OPCODE_NAMES: Record<number, string> = {
  0x69: "INST", 0x6f: "OBJ", 0x50: "PERSID", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
  0x49: "INT", 0x4c: "LONG", 0x46: "FLOAT", 0x53: "STRING", 0x56: "UNICODE", 0x70: "PUT", 0x67: "GET",
};

export function unpickle(bytes: Uint8Array, options: UnpickleOptions): Unpickled {
  return new Machine(bytes, options).run();
}

class Machine {
  private pos: number;
  private stack: unknown[] = [];
  private readonly marks: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly view: DataView;
  /** Objects on the stack and under every mark. */
  private objects = 0;

  constructor(private readonly bytes: Uint8Array, private readonly o: UnpickleOptions) {
    this.pos = o.offset ?? 0;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(problem: string): IoError {
    return new IoError(`${this.o.name}: ${problem}`);
  }

  run(): Unpickled {
    if (this.pos >= this.bytes.length) throw this.fail("ends where a pickle should start (truncated?)");
    for (;;) {
      const at = this.pos;
      const op = this.u8();
      if (op === 0x2e) {
        // STOP
        const value = this.pop();
        if (this.stack.length || this.marks.length) throw this.fail(`malformed pickle: objects left on the stack at STOP (byte ${at})`);
        return { value, end: this.pos };
      }
      this.step(op, at);
    }
  }

  // ---- reading bytes ----

  private need(n: number): void {
    if (n > this.bytes.length - this.pos) throw this.fail(`truncated: the pickle needs ${n} more bytes at byte ${this.pos}, the file has ${this.bytes.length - this.pos}`);
  }
  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }
  /** `n` bytes read by `get` at the cursor, which then moves past them. */
  private fixed<T>(n: number, get: (at: number) => T): T {
    this.need(n);
    const v = get(this.pos);
    this.pos += n;
    return v;
  }
  private u16 = () => this.fixed(2, (at) => this.view.getUint16(at, true));
  private u32 = () => this.fixed(4, (at) => this.view.getUint32(at, true));
  private i32 = () => this.fixed(4, (at) => this.view.getInt32(at, true));
  /** An 8-byte length (capped just past the file's size, which take() then refuses). */
  private u64 = () => this.fixed(8, (at) => Math.min(this.bytes.length + 1, Number(this.view.getBigUint64(at, true))));
  private take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** A newline-terminated ASCII line (GLOBAL's module and name). */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > MAX_GLOBAL_LINE) throw this.fail(`malformed GLOBAL at byte ${this.pos}: no name line`);
    const text = latin1(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }

  // ---- the stack ----

  private push(v: unknown): void {
    if (++this.objects > MAX_STACK) throw this.fail(`the pickle holds more than ${MAX_STACK} objects on its stack`);
    this.stack.push(v);
  }
  private pop(): unknown {
    if (this.stack.length === 0) throw this.fail(`malformed pickle: stack underflow at byte ${this.pos - 1}`);
    this.objects--;
    return this.stack.pop();
  }
  private top(): unknown {
    const v = this.stack[this.stack.length - 1];
    if (this.stack.length === 0) throw this.fail(`malformed pickle: stack underflow at byte ${this.pos - 1}`);
    return v;
  }
  private mark(): void {
    if (this.marks.length >= MAX_MARKS) throw this.fail(`the pickle nests more than ${MAX_MARKS} marks`);
    this.marks.push(this.stack);
    this.stack = [];
  }
  /** The objects pushed since the last MARK, which is removed. */
  private popMark(): unknown[] {
    const items = this.stack;
    const previous = this.marks.pop();
    if (!previous) throw this.fail(`malformed pickle: no MARK before byte ${this.pos - 1}`);
    this.stack = previous;
    this.objects -= items.length;
    return items;
  }

  private memoPut(index: number): void {
    if (this.memo.size >= MAX_MEMO && !this.memo.has(index)) throw this.fail(`the pickle memoizes more than ${MAX_MEMO} objects`);
    this.memo.set(index, this.top());
  }
  private memoGet(index: number): void {
    if (!this.memo.has(index)) throw this.fail(`malformed pickle: memo entry ${index} read before it was written (byte ${this.pos})`);
    this.push(this.memo.get(index));
  }

  // ---- the opcodes ----

  private step(op: number, at: number): void {
    switch (op) {
      case 0x80: { // PROTO
        const v = this.u8();
        if (v < 2 || v > 5) throw this.fail(`pickle protocol ${v} is not supported (torch.save writes 2; 2–5 are read)`);
        return;
      }
      case 0x95: { // FRAME: a length hint only
        const n = this.u64();
        if (n > this.bytes.length - this.pos) throw this.fail(`truncated: a pickle frame of ${n} bytes at byte ${at} runs past the end`);
        return;
      }
      case 0x28: return this.mark(); // MARK
      case 0x30: return void this.pop(); // POP
      case 0x31: return void this.popMark(); // POP_MARK
      case 0x32: return this.push(this.top()); // DUP

      // scalars
      case 0x4e: return this.push(null); // NONE
      case 0x88: return this.push(true); // NEWTRUE
      case 0x89: return this.push(false); // NEWFALSE
      case 0x4a: return this.push(this.i32()); // BININT
      case 0x4b: return this.push(this.u8()); // BININT1
      case 0x4d: return this.push(this.u16()); // BININT2
      case 0x8a: return this.push(this.long(this.u8(), at)); // LONG1
      case 0x8b: return this.push(this.long(this.u32(), at)); // LONG4
      case 0x47: return this.push(this.fixed(8, (at) => this.view.getFloat64(at, false))); // BINFLOAT: big-endian double

      // strings and bytes
      case 0x58: return this.push(utf8(this.take(this.u32()))); // BINUNICODE
      case 0x8c: return this.push(utf8(this.take(this.u8()))); // SHORT_BINUNICODE
      case 0x8d: return this.push(utf8(this.take(this.u64()))); // BINUNICODE8
      case 0x54: return this.push(latin1(this.take(this.u32()))); // BINSTRING (Python 2 str)
      case 0x55: return this.push(latin1(this.take(this.u8()))); // SHORT_BINSTRING
      case 0x42: return this.push(this.take(this.u32()).slice()); // BINBYTES
      case 0x43: return this.push(this.take(this.u8()).slice()); // SHORT_BINBYTES
      case 0x8e: case 0x96: return this.push(this.take(this.u64()).slice()); // BINBYTES8, BYTEARRAY8

      // containers
      case 0x5d: return this.push([]); // EMPTY_LIST
      case 0x6c: return this.push(this.popMark()); // LIST
      case 0x61: { // APPEND
        const v = this.pop();
        this.list(this.top(), at).push(v);
        return;
      }
      case 0x65: { // APPENDS
        const items = this.popMark();
        const list = this.list(this.top(), at);
        for (const v of items) list.push(v);
        return;
      }
      case 0x29: return this.push(new PyTuple([])); // EMPTY_TUPLE
      case 0x74: { // TUPLE
        const items = this.popMark();
        return this.push(new PyTuple(items));
      }
      case 0x85: return this.push(new PyTuple([this.pop()])); // TUPLE1
      case 0x86: { // TUPLE2
        const b = this.pop();
        return this.push(new PyTuple([this.pop(), b]));
      }
      case 0x87: { // TUPLE3
        const c = this.pop();
        const b = this.pop();
        return this.push(new PyTuple([this.pop(), b, c]));
      }
      case 0x7d: return this.push(new PyDict()); // EMPTY_DICT
      case 0x64: { // DICT
        const items = this.popMark();
        const d = new PyDict();
        this.setItems(d, items, at);
        return this.push(d);
      }
      case 0x73: { // SETITEM
        const v = this.pop();
        const k = this.pop();
        this.setItems(this.dict(this.top(), at), [k, v], at);
        return;
      }
      case 0x75: { // SETITEMS
        const items = this.popMark();
        this.setItems(this.dict(this.top(), at), items, at);
        return;
      }
      case 0x8f: return this.push(new PySet([])); // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = this.popMark();
        const set = this.top();
        if (!(set instanceof PySet)) throw this.fail(`malformed pickle: ADDITEMS on ${kind(set)} at byte ${at}`);
        set.items.push(...items);
        return;
      }
      case 0x91: { // FROZENSET
        const items = this.popMark();
        return this.push(new PySet(items));
      }

      // memo
      case 0x71: return this.memoPut(this.u8()); // BINPUT
      case 0x72: return this.memoPut(this.u32()); // LONG_BINPUT
      case 0x94: return this.memoPut(this.memo.size); // MEMOIZE
      case 0x68: return this.memoGet(this.u8()); // BINGET
      case 0x6a: return this.memoGet(this.u32()); // LONG_BINGET

      // names and calls: only through the allowlist
      case 0x63: { // GLOBAL
        const module = this.line();
        return this.push(this.global(module, this.line()));
      }
      case 0x93: { // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== "string" || typeof name !== "string") throw this.fail(`malformed pickle: STACK_GLOBAL needs two strings (byte ${at})`);
        return this.push(this.global(module, name));
      }
      case 0x52: { // REDUCE
        const args = this.pop();
        const f = this.pop();
        return this.push(this.call(f, args, "REDUCE", at));
      }
      case 0x81: { // NEWOBJ
        const args = this.pop();
        const cls = this.pop();
        return this.push(this.call(cls, args, "NEWOBJ", at));
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = this.pop();
        const args = this.pop();
        const cls = this.pop();
        if (!(kwargs instanceof PyDict) || kwargs.entries.size) throw this.fail(`NEWOBJ_EX with keyword arguments is not supported (byte ${at})`);
        return this.push(this.call(cls, args, "NEWOBJ_EX", at));
      }
      case 0x62: { // BUILD: only a dict's attributes (a state dict's _metadata)
        const state = this.pop();
        const obj = this.top();
        if (!(obj instanceof PyDict)) throw this.fail(`cannot set the state of ${kind(obj)} (BUILD at byte ${at}); only state dicts are read`);
        obj.attributes = state;
        return;
      }
      case 0x51: { // BINPERSID
        const pid = this.pop();
        if (!this.o.persistentLoad) throw this.fail(`unexpected persistent id at byte ${at}`);
        return this.push(this.o.persistentLoad(pid));
      }
      default:
        throw this.fail(`unsupported pickle opcode ${OPCODE_NAMES[op] ?? `0x${op.toString(16).padStart(2, "0")}`} at byte ${at}${OPCODE_NAMES[op] ? "" : " (corrupt or not a pickle?)"}`);
    }
  }

  /** Little-endian two's-complement integer; a number when it is safe, else a bigint. */
  private long(n: number, at: number): number | bigint {
    if (n > MAX_LONG_BYTES) throw this.fail(`a ${n}-byte integer at byte ${at} is larger than any checkpoint holds`);
    const b = this.take(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private global(module: string, name: string): unknown {
    const resolved = this.o.resolveGlobal(module, name);
    if (resolved === undefined) {
      const hint = this.o.refusalHint?.(module, name);
      // a damaged or hostile name: shown as short printable ASCII, whatever it holds
      const shown = printable(`${module}.${name}`.replace(/[^\x20-\x7e]/g, "?"), 60);
      throw this.fail(`refused: the pickle asks for the Python global ${shown}, and only state-dict globals (OrderedDict, tensors, storages) are allowed; nothing was run${hint ? ` (${hint})` : ""}`);
    }
    return resolved;
  }

  private call(f: unknown, args: unknown, how: string, at: number): unknown {
    if (!(f instanceof PyCallable)) throw this.fail(`malformed pickle: ${how} on ${kind(f)} at byte ${at}`);
    if (!(args instanceof PyTuple)) throw this.fail(`malformed pickle: ${how} of ${f.qualname} with ${kind(args)} as arguments at byte ${at}`);
    try {
      return f.call(args.items);
    } catch (e) {
      if (e instanceof IoError) throw e;
      throw this.fail(`${f.qualname} at byte ${at}: ${(e as Error).message}`);
    }
  }

  private list(v: unknown, at: number): unknown[] {
    if (!Array.isArray(v)) throw this.fail(`malformed pickle: appending to ${kind(v)} at byte ${at}`);
    return v;
  }

  private dict(v: unknown, at: number): PyDict {
    if (!(v instanceof PyDict)) throw this.fail(`malformed pickle: setting an item of ${kind(v)} at byte ${at}`);
    return v;
  }

  private setItems(d: PyDict, items: unknown[], at: number): void {
    if (items.length % 2) throw this.fail(`malformed pickle: an odd number of dict items at byte ${at}`);
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i];
      if (typeof k === "object" && k !== null && !(k instanceof PyTuple)) throw this.fail(`malformed pickle: an unhashable ${kind(k)} as a dict key at byte ${at}`);
      d.entries.set(k, items[i + 1]);
    }
  }
}

/** A short name for the kind of a value, for messages (never its content). */
export function kind(v: unknown): string {
  if (v === null) return "None";
  if (Array.isArray(v)) return "a list";
  if (v instanceof PyTuple) return "a tuple";
  if (v instanceof PyDict) return "a dict";
  if (v instanceof PySet) return "a set";
  if (v instanceof PyCallable) return v.qualname;
  if (v instanceof Uint8Array) return "bytes";
  if (typeof v === "object") return (v as object).constructor?.name ?? "an object";
  return `a ${typeof v === "bigint" ? "number" : typeof v}`;
}

function utf8(b: Uint8Array): string {
  return new TextDecoder("utf-8").decode(b);
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}
