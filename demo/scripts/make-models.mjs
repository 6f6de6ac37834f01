#!/usr/bin/env node
// Trains, exports and measures the three LeNet-5 bundles the demo ships in demo/assets/, and
// writes demo/assets/models.json (accuracies and `mulfree ops` counts the page shows).
//
// Run from the repository root after `npm run build` (about 4 minutes on 2 cores):
//   node demo/scripts/make-models.mjs
// It runs these commands (CLI = node dist/src/cli/main.js), on the full bundled MNIST:
//   CLI train --op conv  --epochs 3 --out runs/demo-conv  --force            # AdderNet's recipe: SGD 0.1, momentum 0.9, batch 256, cosine
//   CLI train --op adder --epochs 3 --out runs/demo-adder --force            # the same recipe, adaptive lr η = 0.2
//   CLI convert runs/demo-conv/model.safetensors --to shift-ps --weight-bits 5 -o runs/demo-conv/model.shift-ps.safetensors
//   CLI train --from runs/demo-conv/model.shift-ps.safetensors --epochs 1 --schedule cosine --out runs/demo-shift-ps --force   # DeepShift's PS recipe: RAdam 0.01, batch 64
//   CLI export runs/demo-<op>/model.safetensors -o demo/assets/lenet5-<op>.mulfree.safetensors
//   CLI run    demo/assets/lenet5-<op>.mulfree.safetensors --json         # int8 accuracy on the 10,000 test images
//   CLI ops    demo/assets/lenet5-<op>.mulfree.safetensors --json         # operation counts and energy of the integer graph
//
// The committed bundles (2026-12-02, 2 cores; 10,000 test images; training time per epoch):
//   CNN              3 epochs (19–29 s each)    float 99.25 %  int8 99.26 %  64,794 bytes
//   AdderNet         3 epochs (23–34 s each)    float 98.55 %  int8 98.55 %  64,802 bytes
//   DeepShift-PS 5b  CNN + 1 epoch (13 s)       float 99.17 %  int8 99.17 %  41,959 bytes
// Training is seeded (seed 1) and gives the same weights for any thread count.
// `--reuse`: keep runs/demo-* when they exist and only export, run and count again (after a
// bundle format change, say).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ASSETS = "demo/assets";
const CLI = ["dist/src/cli/main.js"];

/** Run one CLI command with --json; its last stdout line is the result. */
function cli(...args) {
  console.log(`$ mulfree ${args.join(" ")}`);
  const out = execFileSync(process.execPath, [...CLI, ...args, "--json"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 });
  const lines = out.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

const MODELS = [
  { id: "conv", label: "CNN", op: "conv", run: "runs/demo-conv" },
  { id: "adder", label: "AdderNet", op: "adder", run: "runs/demo-adder" },
  { id: "shift-ps", label: "DeepShift-PS", op: "shift-ps", run: "runs/demo-shift-ps" },
];

const reuse = process.argv.includes("--reuse");
/** The last epoch of an existing run, as train --json reports it. */
function lastEpoch(run) {
  const lines = readFileSync(`${ROOT}${run}/log.jsonl`, "utf8").trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}
const have = (run) => reuse && existsSync(`${ROOT}${run}/model.safetensors`);
const trained = {};
trained.conv = have("runs/demo-conv") ? lastEpoch("runs/demo-conv") : cli("train", "--op", "conv", "--epochs", "3", "--out", "runs/demo-conv", "--force", "--quiet");
trained.adder = have("runs/demo-adder") ? lastEpoch("runs/demo-adder") : cli("train", "--op", "adder", "--epochs", "3", "--out", "runs/demo-adder", "--force", "--quiet");
if (have("runs/demo-shift-ps")) trained["shift-ps"] = lastEpoch("runs/demo-shift-ps");
else {
  cli("convert", "runs/demo-conv/model.safetensors", "--to", "shift-ps", "--weight-bits", "5", "--out", "runs/demo-conv/model.shift-ps.safetensors");
  trained["shift-ps"] = cli("train", "--from", "runs/demo-conv/model.shift-ps.safetensors", "--epochs", "1", "--schedule", "cosine", "--out", "runs/demo-shift-ps", "--force", "--quiet");
}

mkdirSync(`${ROOT}${ASSETS}`, { recursive: true });
const manifest = { made: new Date().toISOString().slice(0, 10), command: "node demo/scripts/make-models.mjs", models: [] };
for (const m of MODELS) {
  const file = `lenet5-${m.id}.mulfree.safetensors`;
  cli("export", `${m.run}/model.safetensors`, "--out", `${ASSETS}/${file}`);
  const run = cli("run", `${ASSETS}/${file}`);
  const ops = cli("ops", `${ASSETS}/${file}`);
  manifest.models.push({
    id: m.id, label: m.label, op: m.op, file, bytes: statSync(`${ROOT}${ASSETS}/${file}`).size,
    floatAccuracy: trained[m.id].testAccuracy,
    int8Accuracy: run.testAccuracy, testImages: run.total, ops,
  });
}
writeFileSync(`${ROOT}${ASSETS}/models.json`, JSON.stringify(manifest, null, 1) + "\n");
for (const m of manifest.models) console.log(`${m.label.padEnd(13)} float ${m.floatAccuracy} int8 ${m.int8Accuracy} (${m.bytes} bytes)`);
