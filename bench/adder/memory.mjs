// Peak memory of ResNet-20 training (batch 128, 32×32 inputs, synthetic CIFAR data), adder
// against conv. Each op kind runs in a fresh child process so the peaks do not mix.
//
//   node bench/adder/memory.mjs [distDir] [batch=128] [steps=3] [threads=2]
//
// Reported: the wasm heap's peak bytes in use (parameters, gradients, optimizer state, arena
// chunks, kernel scratch), the arena's high-water mark (the per-step activations and temporaries),
// the wasm memory size, and the process's peak RSS (VmHWM).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = path.resolve(process.argv[2] ?? "dist");
const batch = Number(process.argv[3] ?? 128);
const steps = Number(process.argv[4] ?? 3);
const threads = Number(process.argv[5] ?? 2);
const op = process.argv[6];
const MiB = (b) => (b / 2 ** 20).toFixed(1);

if (!op) {
  const self = fileURLToPath(import.meta.url);
  const results = ["conv", "adder"].map((o) => JSON.parse(execFileSync(process.execPath, [self, dist, batch, steps, threads, o], { encoding: "utf8" })));
  console.log(`ResNet-20 training, batch ${batch}, 32×32, ${steps} steps, ${threads} threads; MiB`);
  console.log("| op | heap peak | arena high-water | wasm memory | peak RSS | ms/step |");
  console.log("|---|---|---|---|---|---|");
  for (const r of results) console.log(`| ${r.op} | ${MiB(r.heapPeak)} | ${MiB(r.arenaHighWater)} | ${MiB(r.wasmMemory)} | ${MiB(r.peakRss)} | ${r.msPerStep.toFixed(0)} |`);
  const [c, a] = results;
  console.log(`adder/conv: heap peak ${(a.heapPeak / c.heapPeak).toFixed(2)}×, arena ${(a.arenaHighWater / c.arenaHighWater).toFixed(2)}×, peak RSS ${(a.peakRss / c.peakRss).toFixed(2)}×`);
} else {
  const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
  const { initRuntime } = await load("src/kernels/runtime.js");
  const { resolveSpec } = await load("src/models/zoo.js");
  const { cifarFromBytes, syntheticCifar } = await load("src/data/cifar.js");
  const { Trainer } = await load("src/train/trainer.js");
  const { allocF32, allocI32 } = await load("src/tensor/storage.js");
  const rt = initRuntime({ threads });
  const ds = cifarFromBytes([{ bytes: syntheticCifar(batch, 1), name: "synthetic" }]);
  const config = {
    spec: resolveSpec({ model: "resnet20", op }), epochs: 1, batchSize: batch, optimizer: "sgd", lr: 0.01, momentum: 0.9,
    nesterov: false, weightDecay: 5e-4, schedule: "constant", milestones: [], gamma: 0.1, seed: 1, augment: null,
  };
  const trainer = new Trainer(config, ds, ds);
  const images = allocF32(batch * 3072, true), labels = allocI32(batch, true);
  images.set(ds.images);
  labels.set(ds.labels);
  const t = performance.now();
  for (let i = 0; i < steps; i++) trainer.trainStep(images, labels, [batch, 3, 32, 32]);
  const msPerStep = (performance.now() - t) / steps;
  const peakRss = 1024 * Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]);
  process.stdout.write(JSON.stringify({ op, heapPeak: rt.heap.peakBytes, arenaHighWater: rt.arena.highWater, wasmMemory: rt.memory.buffer.byteLength, peakRss, msPerStep }));
  rt.close();
}
