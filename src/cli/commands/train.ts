import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { CIFAR_AUGMENT } from "../../data/augment.js";
import { initRuntime } from "../../kernels/runtime.js";
import { modelNames, resolveSpec } from "../../models/zoo.js";
import { opKinds } from "../../models/layer_factory.js";
import { encodeCheckpoint, loadCheckpoint, type Checkpoint } from "../../train/checkpoint.js";
import { DATASETS, loadDatasets } from "../../train/datasets.js";
import { appendLog, truncateLog } from "../../train/log.js";
import { Progress } from "../../train/progress.js";
import { Trainer, type TrainConfig } from "../../train/trainer.js";
import { writeFileAtomic } from "../../io/files.js";
import type { CommandSpec, ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import { pct, printJson } from "../output.js";
import { shiftFlags, shiftOptionsFrom } from "../shift_flags.js";
import { availableThreads } from "../threads.js";

export const trainSpec: CommandSpec = {
  name: "train",
  summary: "train a model and write checkpoints after every epoch",
  usage: "mulfree train [--model lenet5] [--op conv] [--dataset mnist] [--epochs 3] [--out runs/NAME] [--resume]",
  flags: {
    model: { type: "string", help: `architecture: ${modelNames().join(", ")}`, default: "lenet5" },
    op: { type: "string", help: "op kind of the weight layers", default: "conv" },
    dataset: { type: "string", help: `dataset: ${DATASETS.join(", ")}`, default: "mnist", choices: DATASETS },
    data: { type: "string", help: "cifar10: directory with data_batch_*.bin/test_batch.bin, or one .bin file" },
    "train-images": { type: "string", help: "mnist: IDX images file for training (default: bundled MNIST)" },
    "train-labels": { type: "string", help: "mnist: IDX labels file for training" },
    "test-images": { type: "string", help: "mnist: IDX images file for testing" },
    "test-labels": { type: "string", help: "mnist: IDX labels file for testing" },
    "train-limit": { type: "int", help: "use only the first N training images", min: 1 },
    "test-limit": { type: "int", help: "use only the first N test images", min: 1 },
    epochs: { type: "int", help: "number of epochs", default: 3, min: 1 },
    batch: { type: "int", help: "batch size", default: 64, min: 1 },
    optimizer: { type: "string", help: "sgd, adam, adamw or radam (default: radam for shift-ps, sgd otherwise)" },
    lr: { type: "number", help: "initial learning rate", default: 0.05, above: 0 },
    momentum: { type: "number", help: "SGD momentum", default: 0.9, max: 0.999999 },
    nesterov: { type: "bool", help: "Nesterov momentum (SGD)" },
    "weight-decay": { type: "number", help: "L2 weight decay", default: 5e-4 },
    schedule: { type: "string", help: "cosine, multistep, step or constant", default: "cosine" },
    milestones: { type: "string", help: "multistep: comma-separated epochs, e.g. 80,120" },
    gamma: { type: "number", help: "multistep/step: decay factor", default: 0.1, above: 0 },
    augment: { type: "bool", help: "random crop + flip (default on for cifar10)" },
    seed: { type: "int", help: "random seed", default: 1 },
    threads: { type: "int", help: "threads (default: all cores)", min: 1, max: 17 },
    out: { type: "string", help: "run directory (default runs/<model>-<op>)" },
    resume: { type: "bool", help: "continue from <out>/checkpoint.safetensors" },
    "all-layers": { type: "bool", help: "make the first and last layers use the op kind too" },
    from: { type: "string", help: "start from the weights of this checkpoint (e.g. one made by mulfree convert); its model spec is used" },
    eta: { type: "number", help: "adder: η of the adaptive learning rate", default: 0.2, above: 0 },
    "adder-grad": { type: "string", help: "adder: gradient rule, paper (x − w, HardTanh) or sign (true derivative)", choices: ["paper", "sign"] },
    ...shiftFlags,
    quiet: { type: "bool", help: "no progress bar" },
  },
};

/** Op-kind options from the flags; only the ones given are stored in the spec. */
function opOptionsFrom(f: ParsedFlags): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (String(f.op).startsWith("shift")) Object.assign(o, shiftOptionsFrom(f));
  if (String(f.op) === "adder" && f.eta !== undefined) o.eta = f.eta;
  if (String(f.op) === "adder" && f.adderGrad !== undefined) o.grad = f.adderGrad;
  return o;
}

/** DeepShift-PS needs RAdam (its README); everything else defaults to SGD. */
function defaultOptimizer(op: string): string {
  return op === "shift-ps" ? "radam" : "sgd";
}

export function runTrain(f: ParsedFlags): void {
  const from = f.from ? loadCheckpoint(String(f.from)) : undefined;
  const fresh = { model: String(f.model), op: String(f.op), allLayers: f.allLayers === true, opOptions: opOptionsFrom(f) };
  let spec = from ? from.spec : resolveSpec(fresh);
  if (!opKinds().includes(spec.op)) throw new CliError(`unknown op '${spec.op}'`);
  const out = String(f.out ?? join("runs", `${spec.model}-${spec.op}`));
  const ckptPath = join(out, "checkpoint.safetensors");
  const milestones = f.milestones ? String(f.milestones).split(",").map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1) throw new CliError(`--milestones must be positive integers, got '${s}'`);
    return v;
  }) : [];
  const dataset = String(f.dataset);
  const config: TrainConfig = {
    spec,
    epochs: Number(f.epochs),
    batchSize: Number(f.batch),
    optimizer: String(f.optimizer ?? defaultOptimizer(spec.op)),
    lr: Number(f.lr),
    momentum: Number(f.momentum),
    nesterov: f.nesterov === true,
    weightDecay: Number(f.weightDecay),
    schedule: String(f.schedule),
    milestones,
    gamma: Number(f.gamma),
    seed: Number(f.seed),
    augment: (f.augment ?? dataset === "cifar10") ? CIFAR_AUGMENT : null,
  };
  let resumeFrom: Checkpoint | undefined;
  if (f.resume) {
    if (!existsSync(ckptPath)) throw new CliError(`--resume: no checkpoint at ${ckptPath}`);
    resumeFrom = loadCheckpoint(ckptPath);
    const saved = resumeFrom.spec;
    if (saved.model !== spec.model || saved.op !== spec.op) {
      throw new CliError(`--resume: ${ckptPath} is a checkpoint of ${saved.model}/${saved.op}, not ${spec.model}/${spec.op}`);
    }
  }
  initRuntime({ threads: Number(f.threads ?? availableThreads()) });
  const { train, test } = loadDatasets(dataset, {
    data: f.data as string | undefined,
    trainImages: f.trainImages as string | undefined,
    trainLabels: f.trainLabels as string | undefined,
    testImages: f.testImages as string | undefined,
    testLabels: f.testLabels as string | undefined,
    trainLimit: f.trainLimit as number | undefined,
    testLimit: f.testLimit as number | undefined,
  });
  const [C, H] = train.shape;
  // A model built here takes the dataset's image size (e.g. `mobile` on 1×28×28 MNIST); a
  // checkpoint's model keeps the size it was trained on.
  if (!from) config.spec = spec = resolveSpec({ ...fresh, inChannels: C, inputSize: H });
  if (C !== spec.inChannels || H !== spec.inputSize) {
    throw new CliError(`${spec.model} expects ${spec.inChannels}×${spec.inputSize}×${spec.inputSize} inputs, ${dataset} has ${train.shape.join("×")}`);
  }
  const trainer = new Trainer(config, train, test, from);
  if (resumeFrom) trainer.resumeFrom(resumeFrom);
  mkdirSync(out, { recursive: true });
  const logPath = join(out, "log.jsonl");
  truncateLog(logPath, trainer.epoch);
  const json = f.json === true;
  const progress = Progress.forStderr(!f.quiet);
  if (trainer.epoch >= config.epochs) process.stderr.write(`already trained ${trainer.epoch} epochs\n`);
  else if (!json || process.stderr.isTTY) {
    process.stderr.write(`training ${spec.model} (${spec.op}, ${trainer.model.numParameters()} parameters) on ${dataset}: ${train.n} train / ${test.n} test images, ${trainer.epoch > 0 ? `resuming after epoch ${trainer.epoch}, ` : ""}threads ${f.threads ?? availableThreads()}\n`);
  }
  trainer.run({
    onStep: (s) => progress.update({ ...s, epochs: config.epochs }),
    onEpoch: (r, bytes) => {
      progress.done();
      writeFileAtomic(ckptPath, bytes);
      appendLog(logPath, { ...r, time: new Date().toISOString() });
      process.stdout.write(`epoch ${r.epoch}/${config.epochs}  loss ${r.trainLoss.toFixed(4)}  test ${pct(r.testAccuracy)}  ${Math.round(r.imagesPerSecond)} img/s  lr ${r.lr.toPrecision(3)}  ${r.seconds.toFixed(1)}s\n`);
    },
  });
  const last = trainer.history[trainer.history.length - 1];
  const trainedThisRun = trainer.history.filter((h) => h.epoch > (resumeFrom?.training?.epoch ?? 0));
  const ips = trainedThisRun.length ? trainedThisRun.reduce((s, h) => s + h.imagesPerSecond, 0) / trainedThisRun.length : 0;
  writeFileAtomic(join(out, "model.safetensors"), encodeCheckpoint(spec, trainer.model, null));
  if (json) {
    printJson({
      command: "train",
      model: spec.model,
      op: spec.op,
      dataset,
      epochs: trainer.epoch,
      testAccuracy: last?.testAccuracy ?? null,
      imagesPerSecond: ips,
      trainLoss: last?.trainLoss ?? null,
      checkpoint: ckptPath,
      history: trainer.history,
    });
  }
}
