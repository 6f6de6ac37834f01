// The documentation runs: every ts/js code block in README.md and docs/ is transpiled and executed
// as a program that imports the package ("mulfree"), every `mulfree …` line of a shell block
// parses with the real flag parser, `runs/…` paths are ones `train` writes, and no document
// points outside the repository.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { parseArgs } from "../src/cli/args.js";
import { COMMANDS } from "../src/cli/commands/index.js";
import { tempDir } from "./cli-helpers.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

interface Block {
  file: string;
  line: number;
  lang: string;
  code: string;
}

function blocks(file: string): Block[] {
  const out: Block[] = [];
  const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    out.push({ file, line: start + 1, lang: open[1]!, code: body.join("\n") });
  }
  return out;
}

const all = DOCS.flatMap(blocks);
const programs = all.filter((b) => ["ts", "typescript", "js", "javascript", "mjs"].includes(b.lang));
const shells = all.filter((b) => ["sh", "bash", "shell"].includes(b.lang));

test("the documentation has runnable examples (README's library example among them)", () => {
  assert.ok(programs.filter((b) => b.file === "README.md").length >= 2, "README has library examples");
});

// each example is a test of its own, so a failure names its file and line
const examplesDir = join(ROOT, "dist", "docs-examples");
mkdirSync(examplesDir, { recursive: true });
const workDir = tempDir("docs");
for (const b of programs) {
  test(`example ${b.file}:${b.line} runs as written`, () => {
    const js = ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    // inside the package, so `import "mulfree"` resolves to this package (self-reference through "exports")
    const path = join(examplesDir, `${b.file.replace(/[/.]/g, "_")}_${b.line}.mjs`);
    writeFileSync(path, js);
    const r = spawnSync(process.execPath, [path], { cwd: workDir, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, `${b.file}:${b.line} failed:\n${r.stderr}\n${r.stdout}`);
  });
}

/** `mulfree …` invocations in a shell block, split into words (comments and line continuations handled). */
function invocations(code: string): string[][] {
  const joined = code.replace(/\\\n/g, " ");
  const out: string[][] = [];
  for (const raw of joined.split("\n")) {
    for (const part of raw.replace(/\s#.*$/, "").split(/&&|;|\|/)) {
      const words = part.trim().split(/\s+/);
      const at = words.findIndex((w) => w === "mulfree");
      if (at >= 0 && (at === 0 || words[at - 1] === "npx")) out.push(words.slice(at + 1));
    }
  }
  return out;
}

test("every mulfree command in the docs' shell blocks parses with today's flags", () => {
  let checked = 0;
  for (const b of shells) {
    for (const words of invocations(b.code)) {
      const [name, ...rest] = words;
      if (!name || name.startsWith("-")) continue; // mulfree --help / --version
      const cmd = COMMANDS.find((c) => c.spec.name === name);
      assert.ok(cmd, `${b.file}:${b.line}: unknown command 'mulfree ${name}'`);
      assert.doesNotThrow(() => parseArgs(cmd.spec, rest), `${b.file}:${b.line}: mulfree ${words.join(" ")}`);
      checked++;
    }
  }
  assert.ok(checked >= 20, `checked ${checked} command lines`);
});

test("paths under runs/ in the docs are ones `train` writes", () => {
  for (const b of shells) {
    // experiments/runs/… is the grid runner's folder (experiments/run.mjs), with bundles beside the runs
    for (const m of b.code.matchAll(/(?<![\w/])runs\/[\w.-]+(\/[\w.-]+)?\.safetensors/g)) {
      assert.match(m[0], /^runs\/[\w.-]+\/(checkpoint|model|best)[\w.-]*\.safetensors$/, `${b.file}:${b.line}: ${m[0]} is not a file train writes (runs/<dir>/checkpoint|model|best.safetensors)`);
    }
  }
});

test("no document points outside the repository, and every relative link resolves", () => {
  for (const file of DOCS) {
    const text = readFileSync(join(ROOT, file), "utf8");
    assert.doesNotMatch(text, /\.\.\/shared|shared\/reference|reference\/(addernet|deepshift)\.md|DESIGN\.md/, `${file} refers to a file outside the repository`);
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      assert.ok(existsSync(resolve(dirname(join(ROOT, file)), target)), `${file}: link to ${target} does not resolve`);
    }
  }
});
