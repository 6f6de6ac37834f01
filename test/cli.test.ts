// The command line as a user meets it: clear one-line errors, no partial files, and resume after
// SIGKILL that ends in the same weights as an uninterrupted run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeSafetensors } from "../src/io/safetensors.js";
import { CLI, expectCleanError, MNIST_DIR, mulfree as run, tempDir } from "./cli-helpers.js";

const tmp = () => tempDir("cli");

test("bad flags, names and files give one clear line and leave nothing behind", () => {
  const dir = tmp();
  const out = join(dir, "run");
  const small = ["--train-limit", "64", "--test-limit", "64", "--out", out];
  expectCleanError(["train", "--model", "resnet99", ...small], /--model must be one of lenet5, .*; got 'resnet99'/);
  expectCleanError(["train", "--op", "divider", ...small], /--op must be one of conv, .*; got 'divider'/);
  expectCleanError(["train", "--optimizer", "adagrad", ...small], /adagrad/);
  expectCleanError(["train", "--epochs", "-1", ...small], /--epochs must be at least 1, got -1/);
  expectCleanError(["train", "--lr", "fast", ...small], /--lr must be a number, got 'fast'/);
  expectCleanError(["train", "--batch", "2.5", ...small], /--batch must be an integer/);
  expectCleanError(["train", "--threads", "0", ...small], /--threads must be at least 1/);
  expectCleanError(["train", "--train-images", join(dir, "nope.idx"), "--train-labels", join(dir, "nope2.idx"), ...small], /not found: .*nope\.idx/);
  // a truncated IDX file
  const good = readFileSync(join(MNIST_DIR, "t10k-labels-idx1-ubyte"));
  writeFileSync(join(dir, "trunc.idx"), good.subarray(0, 100));
  expectCleanError(["train", "--train-images", join(dir, "trunc.idx"), "--train-labels", join(dir, "trunc.idx"), ...small], /trunc\.idx/);
  // wrong magic number
  const bad = Buffer.from(good);
  bad[2] = 0x42;
  writeFileSync(join(dir, "magic.idx"), bad);
  expectCleanError(["train", "--test-images", join(dir, "magic.idx"), "--test-labels", join(dir, "magic.idx"), ...small], /magic\.idx/);
  // image and label counts that differ
  const imgs = join(MNIST_DIR, "t10k-images-idx3-ubyte");
  const trainLabels = join(MNIST_DIR, "train-labels-idx1-ubyte");
  expectCleanError(["train", "--train-images", imgs, "--train-labels", trainLabels, ...small], /10000.*60000|60000.*10000/);
  expectCleanError(["eval", join(dir, "missing.safetensors")], /not found.*missing\.safetensors|missing\.safetensors.*not found/);
  expectCleanError(["eval", join(dir, "trunc.idx")], /trunc\.idx/);
  assert.equal(existsSync(out), false, "no run directory was created");
  assert.deepEqual(readdirSync(dir).sort(), ["magic.idx", "trunc.idx"]);
});

test("the built command is executable: `npx mulfree` runs it as a file, also after a rebuild", () => {
  // npm makes a package's bin executable only when it links it, and tsc writes new files 0644,
  // so the build sets the mode itself (package.json, build:ts)
  assert.ok((statSync(CLI).mode & 0o111) !== 0, `${CLI} is not executable`);
  const r = spawnSync(CLI, ["--help"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^mulfree: multiplication-free neural networks/);
});

test("--help works for every command, and --json ends stdout with one JSON object", () => {
  for (const cmd of ["train", "eval"]) {
    const r = run([cmd, "--help"]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, new RegExp(`usage: mulfree ${cmd}`));
  }
  const dir = tmp();
  const r = run(["train", "--epochs", "1", "--train-limit", "256", "--test-limit", "100", "--out", join(dir, "r"), "--json", "--threads", "1"]);
  assert.equal(r.status, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(last.epochs, 1);
  assert.ok(last.testAccuracy >= 0 && last.testAccuracy <= 1);
  assert.ok(last.imagesPerSecond > 0);
  const e = run(["eval", join(dir, "r", "model.safetensors"), "--test-limit", "100", "--json"]);
  assert.equal(e.status, 0, e.stderr);
  assert.equal(JSON.parse(e.stdout.trim().split("\n").pop()!).testAccuracy, last.testAccuracy);
  // resuming with other flags names each of them
  expectCleanError(["train", "--model", "deepshift-conv", "--resume", "--out", join(dir, "r"), "--train-limit", "64"], /these differ: --model deepshift-conv \(the run has lenet5\); --train-limit 64 \(the run has 256\)/);
});

function weights(path: string): Map<string, Float32Array> {
  const f = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  return new Map(Object.entries(f.tensors).map(([k, t]) => [k, t.data as Float32Array]));
}

test("a run killed with SIGKILL mid-epoch resumes to the same final weights", async () => {
  const dir = tmp();
  const args = (out: string) => ["train", "--epochs", "3", "--train-limit", "3000", "--test-limit", "200", "--batch", "32", "--seed", "5", "--out", out, "--threads", "2"];
  const ref = run(args(join(dir, "a")));
  assert.equal(ref.status, 0, ref.stderr);

  const out = join(dir, "b");
  const child = spawn(process.execPath, [CLI, ...args(out)], { stdio: "ignore" });
  const ckpt = join(out, "checkpoint.safetensors");
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (existsSync(ckpt)) {
        clearInterval(timer);
        // the first epoch is on disk; kill during the second
        setTimeout(() => { child.kill("SIGKILL"); resolve(); }, 150);
      }
    }, 5);
    child.on("exit", () => { clearInterval(timer); reject(new Error("training finished before it could be killed")); });
  });
  await new Promise((r) => child.on("exit", r));
  const log = readFileSync(join(out, "log.jsonl"), "utf8").trim().split("\n");
  assert.equal(log.length, 1, "killed during epoch 2");
  const resumed = run([...args(out), "--resume"]);
  assert.equal(resumed.status, 0, resumed.stderr);
  const a = weights(join(dir, "a", "model.safetensors"));
  const b = weights(join(out, "model.safetensors"));
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, v] of a) assert.deepEqual(b.get(k), v, `tensor ${k} differs after resume`);
  assert.equal(readFileSync(join(out, "log.jsonl"), "utf8").trim().split("\n").length, 3);
});
