// `mulfree viz features`: the AdderNet paper's Figure 1. Trains the 2-D-feature LeNet on MNIST
// once with conv layers and once with adder layers, then plots the test-set features of both
// side by side (SVG through vega-lite, PNG through resvg).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { extractFeatures, FEATURE_MODEL, featureScatterSpec, recalibrateBatchNorm, type FeatureLeNet, type FeaturePanel } from "../../analysis/features.js";
import { renderPng, renderSvg } from "../../analysis/render.js";
import { writeFileAtomic } from "../../io/files.js";
import { initRuntime } from "../../kernels/runtime.js";
import { resolveSpec } from "../../models/zoo.js";
import { loadDatasets } from "../../train/datasets.js";
import { evaluate } from "../../train/metrics.js";
import { Progress } from "../../train/progress.js";
import { Trainer, type TrainConfig } from "../../train/trainer.js";
import type { CommandSpec, ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import { pct, printJson } from "../output.js";
import { availableThreads } from "../threads.js";

const VISUALISATIONS = ["features"];

export const vizSpec: CommandSpec = {
  name: "viz",
  summary: "visualisations; 'features' reproduces AdderNet's Figure 1 (2-D features, conv vs adder)",
  usage: "mulfree viz features [--out DIR] [--epochs 3]",
  positionals: ["visualisation"],
  flags: {
    out: { type: "string", help: "output directory for features.svg, features.png and features.json", default: "viz" },
    epochs: { type: "int", help: "training epochs of each network", default: 3, min: 1 },
    batch: { type: "int", help: "batch size", default: 128, min: 1 },
    lr: { type: "number", help: "initial learning rate (cosine schedule)", default: 0.1, above: 0 },
    eta: { type: "number", help: "adder: η of the adaptive learning rate", default: 0.2, above: 0 },
    seed: { type: "int", help: "random seed", default: 1 },
    "no-recalibrate": { type: "bool", help: "plot with the running BatchNorm statistics from training as they are" },
    "train-limit": { type: "int", help: "use only the first N training images", min: 1 },
    "test-limit": { type: "int", help: "plot only the first N test images", min: 1 },
    threads: { type: "int", help: "threads (default: all cores)", min: 1, max: 17 },
    quiet: { type: "bool", help: "no progress bar" },
  },
};

const NETWORKS = [
  { op: "conv", label: "CNN (conv layers)" },
  { op: "adder", label: "AdderNet (adder layers)" },
];

export async function runViz(f: ParsedFlags, [what]: string[]): Promise<void> {
  if (!VISUALISATIONS.includes(what)) throw new CliError(`viz: unknown visualisation '${what}'; valid: ${VISUALISATIONS.join(", ")}`);
  const out = String(f.out);
  initRuntime({ threads: Number(f.threads ?? availableThreads()) });
  const { train, test } = loadDatasets("mnist", { trainLimit: f.trainLimit as number | undefined, testLimit: f.testLimit as number | undefined });
  const json = f.json === true;
  const progress = Progress.forStderr(!f.quiet);
  const panels: FeaturePanel[] = [];
  const accuracies: Record<string, number> = {};
  for (const { op, label } of NETWORKS) {
    const config: TrainConfig = {
      spec: resolveSpec({ model: FEATURE_MODEL, op, ...(op === "adder" ? { opOptions: { eta: Number(f.eta) } } : {}) }),
      epochs: Number(f.epochs),
      batchSize: Number(f.batch),
      optimizer: "sgd",
      lr: Number(f.lr),
      momentum: 0.9,
      nesterov: false,
      weightDecay: 5e-4,
      schedule: "cosine",
      milestones: [],
      gamma: 0.1,
      seed: Number(f.seed),
      augment: null,
    };
    const trainer = new Trainer(config, train, test);
    if (!json || process.stderr.isTTY) process.stderr.write(`training the 2-D-feature LeNet with ${op} layers for ${config.epochs} epochs\n`);
    trainer.run({
      onStep: (s) => progress.update({ ...s, epochs: config.epochs }),
      onEpoch: (r) => {
        progress.done();
        process.stdout.write(`${op}: epoch ${r.epoch}/${config.epochs}  loss ${r.trainLoss.toFixed(4)}  test ${pct(r.testAccuracy)}  ${Math.round(r.imagesPerSecond)} img/s\n`);
      },
    });
    // running statistics for the final weights (matters for adder nets, see recalibrateBatchNorm)
    if (!f.noRecalibrate) recalibrateBatchNorm(trainer.model, train.images, train.shape);
    const accuracy = evaluate(trainer.model, test).accuracy;
    accuracies[op] = accuracy;
    const features = extractFeatures(trainer.model as FeatureLeNet, test.images, test.shape);
    panels.push({ title: `${label}, test accuracy ${pct(accuracy)}`, features, labels: test.labels });
  }
  const svg = await renderSvg(featureScatterSpec(panels, { title: `2-D features of MNIST test images (${test.n}), LeNet-5-BN with a 2-unit last hidden layer` }));
  // twice the SVG's size, so 10k small points stay distinct
  const png = await renderPng(svg, { scale: 2 });
  mkdirSync(out, { recursive: true });
  const files = { svg: join(out, "features.svg"), png: join(out, "features.png"), data: join(out, "features.json") };
  writeFileAtomic(files.svg, new TextEncoder().encode(svg));
  writeFileAtomic(files.png, png);
  const data = Object.fromEntries(panels.map((p, i) => [NETWORKS[i].op, { accuracy: accuracies[NETWORKS[i].op], features: Array.from(p.features) }]));
  writeFileAtomic(files.data, new TextEncoder().encode(JSON.stringify({ labels: Array.from(test.labels), ...data })));
  process.stdout.write(`wrote ${files.svg}, ${files.png} and ${files.data}\n`);
  if (json) printJson({ command: "viz", visualisation: what, accuracy: accuracies, files });
}
