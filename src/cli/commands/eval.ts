import { initRuntime } from "../../kernels/runtime.js";
import { createModel } from "../../models/zoo.js";
import { manualSeed } from "../../tensor/random.js";
import { loadCheckpoint, loadWeights } from "../../train/checkpoint.js";
import { DATASETS, loadDatasets } from "../../train/datasets.js";
import { evaluate } from "../../train/metrics.js";
import type { CommandSpec, ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import { pct, printJson } from "../output.js";
import { availableThreads } from "../threads.js";

export const evalSpec: CommandSpec = {
  name: "eval",
  summary: "test accuracy of a checkpoint",
  usage: "mulfree eval CHECKPOINT [--dataset mnist] [--json]",
  positionals: ["checkpoint"],
  flags: {
    dataset: { type: "string", help: `dataset: ${DATASETS.join(", ")} (default: the checkpoint's)`, choices: DATASETS },
    data: { type: "string", help: "cifar10: directory or .bin file" },
    "test-images": { type: "string", help: "mnist: IDX images file" },
    "test-labels": { type: "string", help: "mnist: IDX labels file" },
    "test-limit": { type: "int", help: "use only the first N test images", min: 1 },
    batch: { type: "int", help: "batch size", default: 1000, min: 1 },
    threads: { type: "int", help: "threads (default: all cores)", min: 1, max: 17 },
  },
};

export function runEval(f: ParsedFlags, [path]: string[]): void {
  const ckpt = loadCheckpoint(path);
  initRuntime({ threads: Number(f.threads ?? availableThreads()) });
  manualSeed(0);
  const model = createModel(ckpt.spec);
  loadWeights(model, ckpt, path);
  const dataset = String(f.dataset ?? (ckpt.spec.inChannels === 3 ? "cifar10" : "mnist"));
  const { test } = loadDatasets(dataset, {
    data: f.data as string | undefined,
    testImages: f.testImages as string | undefined,
    testLabels: f.testLabels as string | undefined,
    testLimit: f.testLimit as number | undefined,
    trainLimit: 1,
  });
  if (test.shape[0] !== ckpt.spec.inChannels || test.shape[1] !== ckpt.spec.inputSize) {
    throw new CliError(`${path} expects ${ckpt.spec.inChannels}×${ckpt.spec.inputSize}×${ckpt.spec.inputSize} inputs, ${dataset} has ${test.shape.join("×")}`);
  }
  const r = evaluate(model, test, Number(f.batch));
  process.stdout.write(`${ckpt.spec.model} (${ckpt.spec.op}) on ${dataset} test: ${pct(r.accuracy)} (${r.correct}/${r.total}), ${Math.round(r.imagesPerSecond)} img/s\n`);
  if (f.json) {
    printJson({ command: "eval", checkpoint: path, model: ckpt.spec.model, op: ckpt.spec.op, dataset, testAccuracy: r.accuracy, correct: r.correct, total: r.total, epochs: ckpt.training?.epoch ?? null, imagesPerSecond: r.imagesPerSecond });
  }
}
