// What each package entry point pulls in: `mulfree` and `mulfree/deploy` load in a browser as plain
// ES modules, so their static import graphs may reach no bare specifier (no Node builtin, no
// dependency); `mulfree/onnx` may use protobufjs and nothing Node-only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The bare specifiers (with who imports them) reachable from `entry` through static imports. */
function bareImports(entry: string): Map<string, string[]> {
  const seen = new Set<string>();
  const bare = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, "utf8");
    for (const m of code.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|^import\s+["']([^"']+)["']/gm)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      else bare.set(spec, [...(bare.get(spec) ?? []), file]);
    }
  };
  visit(entry);
  return bare;
}

test("mulfree and mulfree/deploy import no Node builtin and no dependency statically", () => {
  for (const entry of ["../src/index.js", "../src/deploy/index.js"]) {
    const bare = bareImports(resolve(here, entry));
    assert.deepEqual([...bare.keys()], [], `${entry}: ${[...bare].map(([k, v]) => `${k} (from ${v[0]})`).join(", ")}`);
  }
});

test("mulfree/onnx needs protobufjs and nothing Node-only", () => {
  const bare = [...bareImports(resolve(here, "../src/onnx/index.js")).keys()];
  assert.deepEqual(bare, ["protobufjs"]);
});

test("the walk sees a bare import when there is one", () => {
  assert.ok(bareImports(resolve(here, "../src/cli/threads.js")).has("node:os"));
});
