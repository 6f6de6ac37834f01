// Milliseconds per training step of LeNet-5-BN on MNIST from one build, for comparing two builds:
// run it for each in turn, several times. Steps run in blocks of 10 after 10 warm-up steps; the
// best and the median of 8 blocks are printed (the median resists this host's noisy minutes).
//
//   MULFREE_DIST=DIR node bench/train-steps.mjs [op=conv] [threads=1] [optimizer=sgd]
import path from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { trainerStep } from "./lib/trainer-step.mjs";

const dist = path.resolve(process.env.MULFREE_DIST ?? fileURLToPath(new URL("../dist/", import.meta.url)));
const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { initRuntime } = await load("src/kernels/runtime.js");
const { resolveSpec } = await load("src/models/zoo.js");
const { loadMnist } = await load("src/data/mnist.js");
const { Trainer } = await load("src/train/trainer.js");
const storage = await load("src/tensor/storage.js");

const op = process.argv[2] ?? "conv", threads = Number(process.argv[3] ?? 1), optimizer = process.argv[4] ?? "sgd";
const batch = 256;
const train = loadMnist("train");
initRuntime({ threads });
const step = trainerStep(new Trainer({
  spec: resolveSpec({ model: "lenet5", op }), epochs: 1, batchSize: batch, optimizer, lr: optimizer === "sgd" ? 0.01 : 0.002,
  momentum: 0.9, nesterov: false, weightDecay: 5e-4, schedule: "constant", milestones: [], gamma: 0.1, seed: 1, augment: null,
}, train, train), train, batch, storage);
for (let i = 0; i < 10; i++) step();
const blocks = [];
for (let b = 0; b < 8; b++) {
  const t = performance.now();
  for (let i = 0; i < 10; i++) step();
  blocks.push((performance.now() - t) / 10);
}
blocks.sort((a, b) => a - b);
console.log(JSON.stringify({ dist, op, threads, optimizer, msPerStep: { best: +blocks[0].toFixed(2), median: +blocks[4].toFixed(2) } }));
process.exit(0);
