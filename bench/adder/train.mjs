// Training throughput, adder against conv, in one process: LeNet-5-BN on MNIST, or ResNet-20 on
// the library's synthetic CIFAR-10 records (as memory.mjs; the speed does not depend on the pixels).
//
//   node bench/adder/train.mjs [distDir] [batches=64,256] [repeats=7] [steps=20] [threads=2] [model=lenet5|resnet20]
//
// One step = forward, backward and SGD update (momentum 0.9, wd 5e-4; the adder model with its
// adaptive learning rate). After 5 warm-up steps per model, conv and adder timings alternate
// (repeats × `steps` steps each) so background load hits both alike; medians are reported, and
// the median of the rounds' own adder ÷ conv ratios, over all rounds and over the rounds whose core
// probe found both cores quiet (≥ 10 GMAC/s each).
import path from "node:path";
import { pathToFileURL } from "node:url";
import { median } from "../lib/stats.mjs";

const dist = path.resolve(process.argv[2] ?? "dist");
const batches = (process.argv[3] ?? "64,256").split(",").map(Number);
const repeats = Number(process.argv[4] ?? 7);
const steps = Number(process.argv[5] ?? 20);
const threads = Number(process.argv[6] ?? 2);
const model = process.argv[7] ?? "lenet5";
const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { initRuntime } = await load("src/kernels/runtime.js");
const { resolveSpec } = await load("src/models/zoo.js");
const { loadMnist } = await load("src/data/mnist.js");
const { cifarFromBytes, syntheticCifar } = await load("src/data/cifar.js");
const { Trainer } = await load("src/train/trainer.js");
const { allocF32, allocI32 } = await load("src/tensor/storage.js");
const { probeCores } = await import("../lib/core-probe.mjs");

const rt = initRuntime({ threads });
const train = model === "lenet5" ? loadMnist("train") : cifarFromBytes([{ bytes: syntheticCifar(2048, 1), name: "synthetic" }]);
const sample = train.images.length / train.n, shape = train.shape;
const QUIET_PROBE = 10; // GMAC/s on both cores

for (const batch of batches) {
  const runs = ["conv", "adder"].map((op) => {
    const config = {
      spec: resolveSpec({ model, op }), epochs: 1, batchSize: batch, optimizer: "sgd", lr: 0.01, momentum: 0.9,
      nesterov: false, weightDecay: 5e-4, schedule: "constant", milestones: [], gamma: 0.1, seed: 1, augment: null,
    };
    const trainer = new Trainer(config, train, train);
    const images = allocF32(batch * sample, true), labels = allocI32(batch, true);
    let offset = 0;
    const step = () => {
      if (offset + batch > train.n) offset = 0;
      images.set(train.images.subarray(offset * sample, (offset + batch) * sample));
      labels.set(train.labels.subarray(offset, offset + batch));
      offset += batch;
      return trainer.trainStep(images, labels, [batch, ...shape]);
    };
    for (let i = 0; i < 5; i++) step();
    return { op, step, rates: [] };
  });
  const probes = [];
  for (let r = 0; r < repeats; r++) {
    probes.push(probeCores(rt, threads));
    for (const run of runs) {
      const t = performance.now();
      for (let i = 0; i < steps; i++) run.step();
      run.rates.push((steps * batch) / ((performance.now() - t) / 1000));
    }
  }
  const [c, a] = runs.map((run) => median(run.rates));
  const range = (run) => `${Math.round(Math.min(...run.rates))}–${Math.round(Math.max(...run.rates))}`;
  // each round's adder ÷ conv, from steps taken back to back: steadier than the ratio of
  // medians when the host's load drifts between rounds
  const ratios = runs[1].rates.map((rate, r) => rate / runs[0].rates[r]);
  const sameRound = median(ratios);
  // rounds that began with both cores quiet (the probe's threshold in bench/train.mjs)
  const quiet = ratios.filter((_, r) => probes[r] >= QUIET_PROBE);
  const quietText = quiet.length ? `${median(quiet).toFixed(2)}× over the ${quiet.length} rounds with a probe ≥ ${QUIET_PROBE}` : `no round with a probe ≥ ${QUIET_PROBE}`;
  console.log(`${model} batch ${batch}: conv ${Math.round(c)} img/s (${range(runs[0])}), adder ${Math.round(a)} img/s (${range(runs[1])}), adder/conv ${(a / c).toFixed(2)}× (medians of ${repeats} × ${steps} steps, ${threads} threads); same-round median ${sameRound.toFixed(2)}× (${quietText}); rounds ${ratios.map((x) => x.toFixed(2)).join(" / ")}; core probe per round ${probes.map((g) => g.toFixed(1)).join(" / ")} GMAC/s (bench/lib/core-probe.mjs)`);
}
