// The experiment pipeline (experiments/run.mjs, experiments/report.mjs) on its smoke budget: every
// step of a cell runs and lands in the results file, a second run redoes nothing, and the report
// fills a template from the results and draws its figures.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { tempDir } from "./cli-helpers.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const node = (script: string, args: string[]) => spawnSync(process.execPath, [join(ROOT, script), ...args], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
const PNG = [0x89, 0x50, 0x4e, 0x47];

test("experiments: the smoke grid runs every step, resumes without redoing any, and the report fills its template", () => {
  const dir = tempDir("grid");
  const results = join(dir, "results.json");
  const grid = ["--budget", "smoke", "--only", "^mnist-lenet5-(adder|shift-ps)$", "--results", results, "--runs", join(dir, "runs")];
  const first = node("experiments/run.mjs", grid);
  assert.equal(first.status, 0, first.stderr + first.stdout);
  const r = JSON.parse(readFileSync(results, "utf8"));
  assert.deepEqual(Object.keys(r.cells), ["mnist-lenet5-adder", "mnist-lenet5-shift-ps"]);
  for (const [id, c] of Object.entries<any>(r.cells)) {
    assert.equal(c.train.epochs, 1, id);
    assert.equal(c.train.options.data.trainLimit, 512, id);
    for (const step of ["ptq8", "ptq6", "ptq4", "qat4"]) {
      assert.ok(c[step].testAccuracy >= 0 && c[step].testAccuracy <= 1, `${id} ${step}: accuracy ${c[step].testAccuracy}`);
      assert.ok(existsSync(join(ROOT, c[step].commands[0].split(" -o ")[1].split(" ")[0])), `${id} ${step}: its bundle exists`);
    }
    assert.equal(c.qat4.train.options.qat, 4, `${id}: the QAT run stores its width`);
    assert.equal(c.floatOps.graph, "float");
    assert.equal(c.intOps.graph, "integer");
  }
  const adder = r.cells["mnist-lenet5-adder"];
  assert.equal(adder.floatOps.mults < 10_000 && adder.intOps.mults < 10_000, true, "adder LeNet-5: only BatchNorm, input and logit multiplications left");
  assert.ok(adder.ptq4.bundleBytes < 0.6 * adder.ptq8.bundleBytes, `4-bit ${adder.ptq4.bundleBytes} B vs int8 ${adder.ptq8.bundleBytes} B`);

  const again = node("experiments/run.mjs", grid);
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /\$ mulfree/, "a finished grid runs no command again");
  assert.deepEqual(JSON.parse(readFileSync(results, "utf8")), r);
  const other = node("experiments/run.mjs", ["--budget", "quick", "--results", results]);
  assert.notEqual(other.status, 0);
  assert.match(other.stderr, /holds a 'smoke' grid/);

  const template = join(dir, "template.md");
  writeFileSync(template, "adder {{acc mnist-lenet5-adder float}}, gap {{gap mnist-lenet5-adder mnist-lenet5-shift-ps int8}}\n\n{{tables}}\n");
  const out = join(dir, "docs");
  const report = node("experiments/report.mjs", ["--results", results, "--template", template, "--out", out]);
  assert.equal(report.status, 0, report.stderr);
  const md = readFileSync(join(out, "results.md"), "utf8");
  const gap = 100 * (adder.ptq8.testAccuracy - r.cells["mnist-lenet5-shift-ps"].ptq8.testAccuracy);
  assert.match(md, new RegExp(`^adder ${(100 * adder.train.testAccuracy).toFixed(2)}, gap ${gap >= 0 ? "\\+" : "−"}${Math.abs(gap).toFixed(2)}$`, "m"));
  assert.match(md, /\| lenet5 \| adder \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|/);
  assert.match(md, /on the first 200 test images/);
  for (const f of ["results-pareto", "results-bits", "results-curves-mnist-lenet5"]) assert.deepEqual([...readFileSync(join(out, "img", `${f}.png`)).subarray(0, 4)], PNG, f);
  writeFileSync(template, "{{acc mnist-mobile-adder float}}");
  const missing = node("experiments/report.mjs", ["--results", results, "--template", template, "--out", out]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /no cell mnist-mobile-adder/);
});
