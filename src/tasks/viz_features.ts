// The AdderNet paper's Figure 1: train the 2-D-feature LeNet on MNIST once with conv layers and
// once with adder layers, then plot the test-set features of both side by side (SVG through
// vega-lite, PNG through resvg) and keep the data as JSON. BatchNorm statistics are recomputed
// for the final weights (PreciseBN), which adder networks need (train/precise_bn.ts).
import { extractFeatures, FEATURE_MODEL, featureScatterSpec, type FeatureLeNet, type FeaturePanel } from "../analysis/features.js";
import { renderPng, renderSvg } from "../analysis/render.js";
import { openData } from "../data/registry.js";
import { makeDirectory } from "../io/directory.js";
import { writeFileAtomic } from "../io/files.js";
import { initRuntime } from "../kernels/runtime.js";
import { resolveSpec } from "../models/zoo.js";
import { defaultPreciseBnBatches } from "../train/precise_bn.js";
import { Trainer, type EpochRecord, type TrainEvents } from "../train/trainer.js";

export interface FeaturesRequest {
  out: string;
  epochs: number;
  batch: number;
  lr: number;
  eta: number;
  seed: number;
  /** PreciseBN before evaluating and plotting (default true). */
  recalibrate?: boolean;
  trainLimit?: number;
  testLimit?: number;
  threads?: number;
}

export interface FeaturesEvents {
  onNetwork?(op: string, epochs: number): void;
  onStep?: TrainEvents["onStep"];
  onEpoch?(op: string, r: EpochRecord): void;
}

export const FEATURE_NETWORKS = [
  { op: "conv", label: "CNN (conv layers)" },
  { op: "adder", label: "AdderNet (adder layers)" },
];

export async function featuresFigure(req: FeaturesRequest, events: FeaturesEvents = {}): Promise<{ accuracy: Record<string, number>; files: { svg: string; png: string; data: string } }> {
  initRuntime({ threads: req.threads });
  const { train, test } = openData({ name: "mnist", trainLimit: req.trainLimit, testLimit: req.testLimit });
  const panels: FeaturePanel[] = [];
  const accuracy: Record<string, number> = {};
  for (const { op, label } of FEATURE_NETWORKS) {
    const trainer = new Trainer({
      spec: resolveSpec({ model: FEATURE_MODEL, op, ...(op === "adder" ? { opOptions: { eta: req.eta } } : {}) }),
      epochs: req.epochs, batchSize: req.batch, optimizer: "sgd", lr: req.lr, momentum: 0.9, nesterov: false, weightDecay: 5e-4,
      schedule: "cosine", milestones: [], gamma: 0.1, seed: req.seed, augment: null,
      preciseBn: req.recalibrate === false ? 0 : defaultPreciseBnBatches(req.batch),
    }, train!, test!);
    events.onNetwork?.(op, req.epochs);
    trainer.run({ onStep: events.onStep, onEpoch: (r) => events.onEpoch?.(op, r) });
    accuracy[op] = trainer.history[trainer.history.length - 1]!.testAccuracy;
    const features = extractFeatures(trainer.model as FeatureLeNet, test!.images, test!.shape);
    panels.push({ title: `${label}, test accuracy ${(100 * accuracy[op]!).toFixed(2)}%`, features, labels: test!.labels });
  }
  const svg = await renderSvg(featureScatterSpec(panels, { title: `2-D features of MNIST test images (${test!.n}), LeNet-5-BN with a 2-unit last hidden layer` }));
  // twice the SVG's size, so 10k small points stay distinct
  const png = await renderPng(svg, { scale: 2 });
  makeDirectory(req.out);
  const files = { svg: `${req.out}/features.svg`, png: `${req.out}/features.png`, data: `${req.out}/features.json` };
  writeFileAtomic(files.svg, new TextEncoder().encode(svg));
  writeFileAtomic(files.png, png);
  const data = Object.fromEntries(panels.map((p, i) => [FEATURE_NETWORKS[i]!.op, { accuracy: accuracy[FEATURE_NETWORKS[i]!.op], features: Array.from(p.features) }]));
  writeFileAtomic(files.data, new TextEncoder().encode(JSON.stringify({ labels: Array.from(test!.labels), ...data })));
  return { accuracy, files };
}
