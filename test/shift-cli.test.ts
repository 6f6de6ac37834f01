// `mulfree convert` and `mulfree inspect` as a user meets them: one-line refusals, depth counted
// from the input end, a converted file that `train --from` fine-tunes and `eval` scores with the
// rounded weights, and an inspection that finds every stored shift weight in range.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeSafetensors } from "../src/io/safetensors.js";
import { expectCleanError, lastJson, mulfree } from "./cli-helpers.js";

const run = mulfree;
const small = ["--train-limit", "128", "--test-limit", "100", "--epochs", "1", "--threads", "1", "--quiet"];

function tensors(path: string): Map<string, Float32Array> {
  const f = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  return new Map(Object.entries(f.tensors).map(([k, t]) => [k, t.data as Float32Array]));
}

const dir = mkdtempSync(join(tmpdir(), "mulfree-shift-cli-"));
const convRun = join(dir, "conv");
const conv = join(convRun, "model.safetensors");

test("a conv model converts, fine-tunes with train --from, and evaluates with rounded weights", () => {
  const t = run(["train", "--model", "deepshift-conv", "--op", "conv", "--out", convRun, ...small]);
  assert.equal(t.status, 0, t.stderr);

  // depth counts from the input end: --shift-depth 2 converts conv1 and conv2
  const ps = join(dir, "ps.safetensors");
  const c = run(["convert", conv, "--to", "shift-ps", "--shift-depth", "2", "-o", ps, "--json"]);
  assert.equal(c.status, 0, c.stderr);
  const cj = lastJson(c.stdout);
  assert.deepEqual([cj.shifted, cj.kept], [["conv1", "conv2"], ["fc1", "fc2"]]);
  assert.deepEqual((cj.spec as { opOptions: unknown }).opOptions, { weightBits: 5, convLayers: ["fc1", "fc2"] });

  // Q keeps the trained float weight as its latent; the stored weight is the rounded one
  const qPath = join(dir, "q.safetensors");
  const q = run(["convert", conv, "--to", "shift-q", "--keep-first-last", "--weight-bits", "4", "-o", qPath, "--json"]);
  assert.equal(q.status, 0, q.stderr);
  assert.deepEqual([lastJson(q.stdout).shifted, lastJson(q.stdout).kept], [["conv2", "fc1"], ["conv1", "fc2"]]);
  const src = tensors(conv), qt = tensors(qPath);
  assert.deepEqual(qt.get("latent.conv2.weight"), src.get("conv2.weight"));
  assert.deepEqual(qt.get("conv1.weight"), src.get("conv1.weight"), "kept layers are copied");
  assert.ok(qt.get("conv2.weight")!.every((v) => Number.isInteger(Math.log2(Math.abs(v))) && Math.log2(Math.abs(v)) >= -7 && v !== 0));

  // fine-tune the PS model; eval of the saved weights reproduces the last epoch's test accuracy
  const out = join(dir, "ft");
  const ft = run(["train", "--from", ps, "--out", out, "--lr", "0.01", "--json", ...small]);
  assert.equal(ft.status, 0, ft.stderr);
  const ftj = lastJson(ft.stdout);
  assert.equal(ftj.op, "shift-ps");
  const e = run(["eval", join(out, "model.safetensors"), "--test-limit", "100", "--json", "--threads", "1"]);
  assert.equal(e.status, 0, e.stderr);
  assert.equal(lastJson(e.stdout).testAccuracy, ftj.testAccuracy);

  // inspect: conv1/conv2 are shift layers with every weight in range, fc1/fc2 still multiply
  const i = run(["inspect", join(out, "checkpoint.safetensors"), "--json"]);
  assert.equal(i.status, 0, i.stderr);
  const layers = lastJson(i.stdout).layers as Array<Record<string, unknown>>;
  assert.deepEqual(layers.map((l) => [l.name, l.kind]), [["conv1", "shift-ps"], ["conv2", "shift-ps"], ["fc1", "Linear"], ["fc2", "Linear"]]);
  for (const l of layers.slice(0, 2)) {
    assert.equal(l.valid, true);
    assert.equal(l.storedRounded, true);
    const h = l.histogram as Array<{ shift: number; positive: number; negative: number }>;
    assert.equal(h.reduce((s, b) => s + b.positive + b.negative, 0) + (l.zeros as number), l.weights);
    assert.deepEqual([h[0].shift, h[h.length - 1].shift], [0, -14]);
  }
  assert.match(i.stdout, /conv2\s+shift-ps\s+25000/);
});

test("convert refuses what it cannot convert, with one clear line", () => {
  const ps = join(dir, "ps.safetensors");
  assert.ok(existsSync(conv) && existsSync(ps), "needs the files of the previous test");
  expectCleanError(["convert", ps, "--to", "shift-q"], /ps\.safetensors holds a model with op shift-ps; convert takes a conv model/);
  expectCleanError(["convert", conv, "--to", "shift-ps", "--weight-bits", "9"], /--weight-bits must be at most 8, got 9/);
  expectCleanError(["convert", conv, "--to", "shift-ps", "--weight-bits", "1"], /--weight-bits must be at least 2, got 1/);
  expectCleanError(["convert", conv, "--to", "shift-ps", "--weight-bits", "4.5"], /--weight-bits must be an integer/);
  expectCleanError(["convert", conv], /convert needs --to shift-ps or shift-q/);
  expectCleanError(["convert", conv, "--to", "adder"], /--to must be one of shift-ps, shift-q/);
  expectCleanError(["convert", conv, "--to", "shift-ps", "--shift-depth", "0"], /--shift-depth must be at least 1/);
  expectCleanError(["convert", conv, "--to", "shift-ps", "--activation-bits", "16"], /--activation-bits must be INT,FRAC/);
  expectCleanError(["convert", conv, "--to", "shift-ps", "-o", conv], /would overwrite the input/);
  expectCleanError(["convert", join(dir, "nope.safetensors"), "--to", "shift-ps"], /not found.*nope\.safetensors|nope\.safetensors.*not found/);
  expectCleanError(["train", "--op", "shift-ps", "--weight-bits", "12", "--out", join(dir, "never")], /--weight-bits must be at most 8/);
  assert.ok(!existsSync(join(dir, "never")));
  for (const cmd of ["convert", "inspect"]) {
    const r = run([cmd, "--help"]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, new RegExp(`usage: mulfree ${cmd}`));
  }
});
