// A strict JSON reader for files we did not write. JSON.parse keeps the last of two duplicate keys
// without a word and nests as deep as the text does; here both are errors. Containers live on an
// explicit stack rather than the call stack, so no input can overflow it, and every error is one
// line quoting at most a few dozen characters of the input. Objects are plain objects whose keys
// are defined as own data properties, as JSON.parse does, so "__proto__" is an ordinary key.
// Also here: bounded one-line renderings of untrusted values for error messages.
// Pure: no Node imports.
import { IoError } from "./errors.js";

export interface JsonOptions {
  /** Containers may nest this deep (default 64; `[[1]]` nests 2 deep). */
  maxDepth?: number;
}

export const DEFAULT_JSON_DEPTH = 64;

/** A parseJson failure; `problem` is the message without the leading "what: " and trailing " in the JSON". */
export class JsonError extends IoError {
  constructor(what: string, readonly problem: string) {
    super(`${what}: ${problem} in the JSON`);
  }
}

/** Parse `text` strictly; `what` (a file, or a part of one) starts every error message. */
export function parseJson(text: string, what: string, options: JsonOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? DEFAULT_JSON_DEPTH;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 0) throw new IoError(`${what}: maxDepth must be a non-negative integer, got ${preview(maxDepth)}`);
  return new Reader(text, what, maxDepth).document();
}

/** parseJson for a part of a file: errors read "<file>: <part> is not valid JSON (<problem>)". */
export function parseJsonPart(text: string, file: string, part: string, options?: JsonOptions): unknown {
  try {
    return parseJson(text, `${file}: ${part}`, options);
  } catch (e) {
    if (e instanceof JsonError) throw new IoError(`${file}: ${part} is not valid JSON (${e.problem})`);
    throw e;
  }
}

/** Set `key` as an own, enumerable data property, as JSON.parse does ("__proto__" stays a key). */
export function defineEntry(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

interface Frame {
  container: Record<string, unknown> | unknown[];
  /** The key whose value is being read (objects only). */
  key: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
const LITERALS: Array<[string, unknown]> = [["true", true], ["false", false], ["null", null]];

class Reader {
  private pos = 0;
  private readonly stack: Frame[] = [];

  constructor(private readonly text: string, private readonly what: string, private readonly maxDepth: number) {}

  /** The whole text as one value. */
  document(): unknown {
    let value = this.value();
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top) break;
      this.attach(top, value);
      const close = Array.isArray(top.container) ? "]" : "}";
      const c = this.nextToken();
      if (c === close) {
        this.stack.pop();
        value = top.container;
      } else if (c === ",") {
        if (!Array.isArray(top.container)) top.key = this.key();
        value = this.value();
      } else {
        throw this.syntax(`expected ',' or '${close}' but found ${this.describe(this.pos - 1)}`, this.pos - 1);
      }
    }
    this.skipSpace();
    if (this.pos < this.text.length) throw this.syntax(`${this.unexpected(this.pos)} after the value`, this.pos);
    return value;
  }

  /**
   * A scalar, an empty container, or (for a non-empty one) the first value inside it after
   * opening the container on the stack; document() attaches values and closes containers.
   */
  private value(): unknown {
    for (;;) {
      this.skipSpace();
      const c = this.text[this.pos];
      if (c !== "[" && c !== "{") return this.scalar();
      if (this.stack.length >= this.maxDepth) throw this.fail(`nesting deeper than ${this.maxDepth} levels at position ${this.pos}`);
      this.pos++;
      const close = c === "[" ? "]" : "}";
      const container = c === "[" ? [] : {};
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        return container;
      }
      const frame: Frame = { container, key: "" };
      this.stack.push(frame);
      if (c === "{") frame.key = this.key();
    }
  }

  /** An object key and its colon; a key the object already has is an error. */
  private key(): string {
    this.skipSpace();
    if (this.text[this.pos] !== '"') throw this.syntax(`expected a string key but found ${this.describe(this.pos)}`, this.pos);
    const key = this.string();
    const top = this.stack[this.stack.length - 1];
    if (top && Object.prototype.hasOwnProperty.call(top.container, key)) {
      const at = this.path(this.stack.length - 1);
      throw this.fail(`duplicate key ${quoted(key, 24)}${at ? ` at ${at}` : ""}`);
    }
    if (this.nextToken() !== ":") throw this.syntax(`expected ':' after a key but found ${this.describe(this.pos - 1)}`, this.pos - 1);
    return key;
  }

  private attach(frame: Frame, value: unknown): void {
    if (Array.isArray(frame.container)) frame.container.push(value);
    else defineEntry(frame.container, frame.key, value);
  }

  private scalar(): unknown {
    const c = this.text[this.pos];
    if (c === '"') return this.string();
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
    for (const [word, value] of LITERALS) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    throw this.syntax(this.unexpected(this.pos), this.pos);
  }

  private number(): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) throw this.syntax("invalid number", this.pos);
    this.pos += match[0].length;
    return Number(match[0]);
  }

  /** A string literal; the cursor is on its opening quote. */
  private string(): string {
    const open = this.pos;
    const text = this.text;
    let out = "";
    let run = open + 1;
    for (let i = run; ; ) {
      if (i >= text.length) throw this.syntax("unterminated string", open);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return out + text.slice(run, i);
      }
      if (c < 0x20) throw this.syntax(`control character ${this.describe(i)} in a string`, i);
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(run, i) + this.escape(i);
      i += text[i + 1] === "u" ? 6 : 2;
      run = i;
    }
  }

  /** The character an escape sequence at `at` (its backslash) stands for. */
  private escape(at: number): string {
    const c = this.text[at + 1];
    if (c === "u") {
      const hex = this.text.slice(at + 2, at + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw this.syntax("invalid \\u escape", at);
      return String.fromCharCode(parseInt(hex, 16));
    }
    if (c !== undefined && Object.prototype.hasOwnProperty.call(ESCAPES, c)) return ESCAPES[c]!;
    throw this.syntax(c === undefined ? "unterminated string" : `invalid escape \\${this.describe(at + 1)}`, at);
  }

  private skipSpace(): void {
    const text = this.text;
    let i = this.pos;
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++i));
    this.pos = i;
  }

  /** The next character after white space, consumed ("" at the end). */
  private nextToken(): string {
    this.skipSpace();
    return this.text[this.pos++] ?? "";
  }

  /** Where the value being read sits, from the first `depth` frames: nodes[1].shift, ["a b"][0]. */
  private path(depth: number): string {
    let path = "";
    for (let d = 0; d < depth; d++) {
      const f = this.stack[d]!;
      if (Array.isArray(f.container)) path += `[${f.container.length}]`;
      else path += /^[A-Za-z_$][\w$]*$/.test(f.key) && f.key.length <= 16 ? `${path ? "." : ""}${f.key}` : `[${quoted(f.key, 12)}]`;
    }
    return path.length > 40 ? `…${path.slice(-39)}` : path;
  }

  private unexpected(at: number): string {
    return at >= this.text.length ? "unexpected end of the text" : `unexpected ${this.describe(at)}`;
  }

  /** One character of the input, for a message: 'x', U+000A, or "the end of the text". */
  private describe(at: number): string {
    if (at >= this.text.length) return "the end of the text";
    const code = this.text.charCodeAt(at);
    return code > 0x20 && code < 0x7f ? `'${this.text[at]}'` : `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  }

  private syntax(problem: string, at: number): JsonError {
    return this.fail(`${problem} at position ${at}`);
  }

  private fail(problem: string): JsonError {
    return new JsonError(this.what, problem);
  }
}

// ---- bounded renderings for error messages ----------------------------------------------------

/** `text` cut to `max` characters, never inside a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text[max - 1] ?? "") ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}

/** A string as a one-line quoted literal of at most about `max` characters of it. */
export function quoted(text: string, max = 40): string {
  return JSON.stringify(cut(text, max)).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** A name for a message: as it is when short printable ASCII, else quoted(). */
export function printable(text: string, max = 40): string {
  return text.length <= max && /^[\x20-\x7e]*$/.test(text) ? text : quoted(text, max);
}

/**
 * Any value as one line of at most `max` characters, JSON-like: what an error message may show
 * of an untrusted value. Unlike JSON.stringify it stops once the line is full, so a huge or
 * deeply nested value costs no more than a short one (each level writes a bracket first, so
 * the recursion is no deeper than `max`).
 */
export function preview(value: unknown, max = 60): string {
  let line = "";
  const full = () => line.length > max;
  const write = (v: unknown): void => {
    if (full()) return;
    if (Array.isArray(v)) {
      line += "[";
      for (let i = 0; i < v.length && !full(); i++) {
        if (i > 0) line += ",";
        write(v[i]);
      }
      line += "]";
    } else if (typeof v === "object" && v !== null) {
      line += "{";
      let first = true;
      for (const k in v) {
        if (full()) break;
        if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
        line += `${first ? "" : ","}${quoted(k, max)}:`;
        first = false;
        write((v as Record<string, unknown>)[k]);
      }
      line += "}";
    } else {
      line += typeof v === "string" ? quoted(v, max) : String(v);
    }
  };
  write(value);
  return cut(line, max);
}
