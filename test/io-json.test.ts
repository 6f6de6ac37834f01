import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { IoError } from "../src/io/errors.js";
import { JsonError, parseJson, parseJsonPart, preview, quoted } from "../src/io/json.js";

/** parseJson's error for `text`, checked for the properties every error has. */
function failure(text: string, options?: { maxDepth?: number }): JsonError {
  try {
    parseJson(text, "doc.json", options);
  } catch (e) {
    assert.ok(e instanceof JsonError && e instanceof IoError, `expected a JsonError, got ${String(e)}`);
    assert.ok(e.message.startsWith("doc.json: "), e.message);
    assert.ok(!/[\n\r\u2028\u2029]/.test(e.message), `one line: ${e.message}`);
    assert.ok(e.message.length < 160, `short: ${e.message}`);
    return e;
  }
  assert.fail(`parseJson accepted ${text.slice(0, 80)}`);
}

test("duplicate keys are refused at any depth, naming the key and where its object is", () => {
  assert.equal(failure('{"spec": 1, "spec": 2}').message, 'doc.json: duplicate key "spec" in the JSON');
  assert.equal(failure('{"nodes": [{"op": "layer"}, {"shift": {"base": 1, "base": 1}}]}').message, 'doc.json: duplicate key "base" at nodes[1].shift in the JSON');
  assert.match(failure('[[{"a b": {"x": 1, "x": 1}}]]').message, /duplicate key "x" at \[0\]\[0\]\["a b"\]/);
  assert.match(failure('{"__proto__": 1, "__proto__": 2}').message, /duplicate key "__proto__"/);
  // the same key in sibling objects is fine
  assert.deepEqual(parseJson('[{"a": 1}, {"a": 2}]', "doc.json"), [{ a: 1 }, { a: 2 }]);
});

test("nesting deeper than maxDepth is refused quickly, however deep, without a stack overflow", () => {
  for (const open of ["[", '{"a":', '[{"a":']) {
    const text = open.repeat(1_000_000);
    const start = performance.now();
    assert.match(failure(text).message, /nesting deeper than 64 levels at position \d+/);
    assert.ok(performance.now() - start < 500, `${open}: ${performance.now() - start} ms`);
  }
  const nested = (d: number) => "[".repeat(d) + "]".repeat(d);
  assert.equal(JSON.stringify(parseJson(nested(64), "doc.json")), nested(64));
  failure(nested(65));
  assert.deepEqual(parseJson(nested(3), "doc.json", { maxDepth: 3 }), [[[]]]);
  assert.match(failure(nested(4), { maxDepth: 3 }).message, /deeper than 3 levels/);
  assert.equal(parseJson("7", "doc.json", { maxDepth: 0 }), 7);
  assert.throws(() => parseJson("1", "doc.json", { maxDepth: -1 }), /maxDepth must be a non-negative integer/);
  // depth, not size: a long flat array is fine
  assert.equal((parseJson(`[${"1,".repeat(200_000)}1]`, "doc.json") as number[]).length, 200_001);
});

test("agrees with JSON.parse on 600 random JSON documents, compact and indented", () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, "\t", " \r\n"), (value, indent) => {
      const text = JSON.stringify(value, null, indent);
      assert.deepStrictEqual(parseJson(text, "doc.json"), JSON.parse(text));
    }),
    { numRuns: 600, seed: 20240611 },
  );
});

test("refuses exactly what JSON.parse refuses on 600 damaged documents, with a one-line message", () => {
  const damaged = fc.tuple(fc.json(), fc.nat(), fc.nat({ max: 3 }), fc.constantFrom("", ",", "]", "}", '"', ":", "\\", "-", "0", "e", "\n", "\u0001", "tru", "{", "["));
  fc.assert(
    fc.property(damaged, ([text, at, drop, insert]) => {
      const i = at % (text.length + 1);
      const bad = text.slice(0, i) + insert + text.slice(i + drop);
      let expected: unknown;
      try {
        expected = JSON.parse(bad);
      } catch {
        failure(bad);
        return;
      }
      // JSON.parse keeps the last of duplicate keys; parseJson refuses them
      if (hasDuplicateKey(bad)) return;
      assert.deepStrictEqual(parseJson(bad, "doc.json"), expected);
    }),
    { numRuns: 600, seed: 7 },
  );
});

/** Whether parseJson refuses `text` for a duplicate key (and for nothing else). */
function hasDuplicateKey(text: string): boolean {
  try {
    parseJson(text, "doc.json");
    return false;
  } catch (e) {
    if (e instanceof JsonError && e.problem.startsWith("duplicate key")) return true;
    throw e;
  }
}

test("syntax errors give the position and a short reason", () => {
  assert.equal(failure("").message, "doc.json: unexpected end of the text at position 0 in the JSON");
  assert.equal(failure('{"a": [1, 2}').message, "doc.json: expected ',' or ']' but found '}' at position 11 in the JSON");
  assert.equal(failure('{"a" 1}').message, "doc.json: expected ':' after a key but found '1' at position 5 in the JSON");
  assert.equal(failure("[1] x").message, "doc.json: unexpected 'x' after the value at position 4 in the JSON");
  assert.match(failure('"a\nb"').message, /control character U\+000A in a string at position 2/);
  assert.match(failure('"\\x"').message, /invalid escape \\'x' at position 1/);
  assert.match(failure('"\\u12g4"').message, /invalid \\u escape/);
  assert.match(failure('"abc').message, /unterminated string at position 0/);
  for (const bad of ["01", "-", "1.", ".5", "+1", "1e", "NaN", "Infinity", "[1,]", "{,}", "{'a':1}", "\u00a0 1", "tru", "nul"]) failure(bad);
});

test("messages quote at most a few dozen characters of the input", () => {
  const long = "k".repeat(10_000);
  const dup = failure(`{"${long}\\n": 1, "${long}\\n": 2}`).message;
  assert.ok(dup.length < 100 && !dup.includes("\n"), dup);
  const path = failure(`{"${long}": [{"${long}": {"a": 1, "a": 2}}]}`).message;
  assert.ok(path.length < 120, path);
  assert.ok(failure(`["${"x".repeat(100_000)}" ${"y".repeat(1000)}]`).message.length < 100);
});

test("__proto__ and constructor are ordinary own keys: no prototype changes, no pollution", () => {
  const text = '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "a": {"__proto__": [1]}}';
  const value = parseJson(text, "doc.json") as Record<string, unknown>;
  assert.deepStrictEqual(value, JSON.parse(text));
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.keys(value), ["__proto__", "constructor", "a"]);
  assert.deepEqual(Object.getOwnPropertyDescriptor(value, "__proto__")?.value, { polluted: true });
  assert.equal((value as { polluted?: boolean }).polluted, undefined);
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  assert.ok(Array.isArray(Object.getOwnPropertyDescriptor(value.a, "__proto__")?.value));
});

test("parseJsonPart names the part: '<file>: <part> is not valid JSON (<problem>)'", () => {
  assert.throws(() => parseJsonPart("[", "b.safetensors", "the graph metadata"), (e: Error) => {
    assert.ok(e instanceof IoError);
    assert.equal(e.message, "b.safetensors: the graph metadata is not valid JSON (unexpected end of the text at position 1)");
    return true;
  });
  assert.deepEqual(parseJsonPart('{"a": 1}', "b", "x"), { a: 1 });
});

test("preview and quoted are one bounded line for any value, even a huge or deeply nested one", () => {
  let deep: unknown = 0;
  for (let i = 0; i < 200_000; i++) deep = [deep];
  assert.equal(preview(deep).length, 61);
  assert.equal(preview({ a: [1, "x"], b: null }), '{"a":[1,"x"],"b":null}');
  assert.equal(preview(undefined), "undefined");
  assert.equal(preview(NaN), "NaN");
  assert.ok(preview(new Array(1e6).fill("abc")).length <= 61);
  assert.equal(quoted("a\nb\u2028c"), '"a\\nb\\u2028c"');
  assert.equal(quoted("x".repeat(50), 10), `"${"x".repeat(10)}…"`);
  assert.equal(quoted("😀😀", 3), '"😀…"', "never cuts a surrogate pair");
});
