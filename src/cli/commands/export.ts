import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { CIFAR10_NORMALIZATION, loadCifar } from "../../data/cifar.js";
import type { Dataset, Normalization } from "../../data/dataset.js";
import { loadMnist, MNIST_NORMALIZATION } from "../../data/mnist.js";
import { referenceBackend } from "../../deploy/backend_reference.js";
import { readBundle } from "../../deploy/bundle.js";
import { decodeBundle, encodeBundle } from "../../deploy/bundle_codec.js";
import { ExportError } from "../../deploy/chain.js";
import { argmax, prepareModel } from "../../deploy/execute.js";
import { exportModel, type ExportResult } from "../../deploy/export.js";
import { writeFileAtomic } from "../../io/files.js";
import { initRuntime } from "../../kernels/runtime.js";
import type { Module } from "../../nn/module.js";
import { ShiftLayer } from "../../nn/shift.js";
import { createModel, type ModelSpec } from "../../models/zoo.js";
import { manualSeed } from "../../tensor/random.js";
import { loadCheckpoint, loadWeights } from "../../train/checkpoint.js";
import { evaluate } from "../../train/metrics.js";
import { UsageError, type CommandSpec, type ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import { pct, printJson } from "../output.js";
import { availableThreads } from "../threads.js";

const DATASETS = ["mnist", "cifar10"];

export const exportSpec: CommandSpec = {
  name: "export",
  summary: "quantize a trained conv, adder or shift checkpoint into an integer deployment bundle",
  usage: "mulfree export CHECKPOINT -o MODEL.mulfree.safetensors [--calibration-images 512] [--percentile P] [--verify N] [--json]",
  positionals: ["checkpoint"],
  flags: {
    out: { type: "string", short: "o", help: "output bundle (.mulfree.safetensors)" },
    "calibration-images": { type: "int", help: "training images used to calibrate activation ranges", default: 512, min: 1 },
    percentile: { type: "number", help: "clip activation ranges at this percentile (e.g. 99.99) instead of min/max", above: 50, max: 100 },
    verify: { type: "int", help: "also run the integer graph (reference kernels) on the first N test images and compare with the float model", min: 1 },
    dataset: { type: "string", help: `calibration data: ${DATASETS.join(", ")} (default: the checkpoint's)`, choices: DATASETS },
    data: { type: "string", help: "cifar10: directory with data_batch_*.bin and test_batch.bin" },
    "train-images": { type: "string", help: "mnist: IDX images file for calibration" },
    "train-labels": { type: "string", help: "mnist: IDX labels file for calibration" },
    "test-images": { type: "string", help: "mnist: IDX images file for --verify" },
    "test-labels": { type: "string", help: "mnist: IDX labels file for --verify" },
  },
};

/** Pixels in [0, 1] (the bundle's input contract) and the normalisation the model was trained with. */
function loadSplit(dataset: string, split: "train" | "test", limit: number, f: ParsedFlags): { ds: Dataset; norm: Normalization } {
  if (dataset === "mnist") {
    const images = f[split === "train" ? "trainImages" : "testImages"] as string | undefined;
    const labels = f[split === "train" ? "trainLabels" : "testLabels"] as string | undefined;
    if (!!images !== !!labels) throw new UsageError(`--${split}-images and --${split}-labels go together`);
    return { ds: loadMnist(split, { images, labels, limit, normalize: false }), norm: MNIST_NORMALIZATION };
  }
  const dir = f.data as string | undefined;
  if (!dir) throw new UsageError("cifar10 needs --data DIR (with data_batch_1.bin … test_batch.bin)");
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`--data ${dir}: not a directory`);
  const files = split === "train" ? [1, 2, 3, 4, 5].map((i) => join(dir, `data_batch_${i}.bin`)).filter(existsSync) : [join(dir, "test_batch.bin")];
  if (!files.length) throw new CliError(`${dir}: no data_batch_N.bin files`);
  return { ds: loadCifar(files, { limit, normalize: false }), norm: CIFAR10_NORMALIZATION };
}

/** x → (x − mean)/std in the float32 steps of the training data path. */
function normalize(ds: Dataset, norm: Normalization): Float32Array {
  const [C, H, W] = ds.shape;
  const out = new Float32Array(ds.images.length);
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / (H * W)) % C;
    out[i] = Math.fround(Math.fround(ds.images[i] - Math.fround(norm.mean[c])) / Math.fround(norm.std[c]));
  }
  return out;
}

/** 4 bytes per float the model holds (weights, biases, BN affine and running statistics); a PS shift weight (shift and sign) counts once. */
export function fp32Bytes(model: Module): number {
  let floats = 0;
  for (const [, t] of model.stateDict()) floats += t.size;
  for (const [, m] of model.namedModules()) if (m instanceof ShiftLayer && m.sign) floats -= m.sign.size;
  return 4 * floats;
}

export function runExport(f: ParsedFlags, [path]: string[]): void {
  if (f.out === undefined) throw new UsageError("export needs -o MODEL.mulfree.safetensors");
  const out = String(f.out);
  if (resolve(out) === resolve(path)) throw new CliError(`-o ${out} would overwrite the checkpoint`);
  const ckpt = loadCheckpoint(path);
  initRuntime({ threads: availableThreads() });
  manualSeed(0);
  let model: Module;
  try {
    model = createModel(ckpt.spec);
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`);
  }
  loadWeights(model, ckpt, path);
  const dataset = String(f.dataset ?? (ckpt.spec.inChannels === 3 ? "cifar10" : "mnist"));
  const { ds: train, norm } = loadSplit(dataset, "train", Number(f.calibrationImages), f);
  if (train.shape[0] !== ckpt.spec.inChannels || train.shape[1] !== ckpt.spec.inputSize) {
    throw new CliError(`${path} expects ${ckpt.spec.inChannels}×${ckpt.spec.inputSize}×${ckpt.spec.inputSize} inputs, ${dataset} has ${train.shape.join("×")}`);
  }
  const range = f.percentile === undefined ? { kind: "minmax" as const } : { kind: "percentile" as const, percentile: Number(f.percentile) };
  let result: ExportResult;
  try {
    result = exportModel(model, normalize(train, norm), train.n, train.shape, { mean: norm.mean, std: norm.std, range });
  } catch (e) {
    if (e instanceof ExportError) throw new CliError(`${path}: cannot export ${ckpt.spec.model} (${ckpt.spec.op}): ${e.message}`);
    throw new CliError(`${path}: ${(e as Error).message}`);
  }
  // kept short: every header byte counts against a small model's size ratio
  const source = { model: ckpt.spec.model, op: ckpt.spec.op, calibration: `${result.calibrationImages} ${dataset}${f.percentile === undefined ? "" : ` p${f.percentile}`}` };
  const bytes = encodeBundle(result.graph, result.tensors, source);
  // never write a bundle that load() would refuse: the runner's strict checks run first
  try {
    readBundle(bytes, out);
  } catch (e) {
    throw new CliError(`${path}: the exported bundle fails its own checks: ${(e as Error).message}`);
  }
  writeFileAtomic(out, bytes);

  const floatBytes = fp32Bytes(model);
  const weightBytes = result.layers.reduce((s, l) => s + l.weightBytes, 0);
  const lines = result.layers.map((l) => `  ${l.name.padEnd(12)} ${l.kind.padEnd(6)} ${String(l.weights).padStart(8)} weights  ${String(l.weightBytes).padStart(8)} B${l.fieldBits ? `  ${l.fieldBits + 1}-bit codes, base 2^${l.base}` : ""}`);
  process.stdout.write(
    `${ckpt.spec.model} (${ckpt.spec.op}): ${result.layers.length} integer layers, calibrated on ${result.calibrationImages} ${dataset} training images\n` +
      `${lines.join("\n")}\n` +
      result.warnings.map((w) => `warning: ${w}\n`).join("") +
      `wrote ${out}: ${bytes.length} bytes = ${(bytes.length / floatBytes).toFixed(4)}× the fp32 model (${floatBytes} B); weights alone ${(weightBytes / floatBytes).toFixed(4)}×\n`,
  );
  const verify = f.verify === undefined ? null : verifyBundle(model, ckpt.spec, bytes, out, dataset, Number(f.verify), f, norm);
  if (f.json) {
    printJson({
      command: "export", checkpoint: path, output: out, model: ckpt.spec.model, op: ckpt.spec.op,
      bundleBytes: bytes.length, fp32Bytes: floatBytes, weightBytes, sizeRatio: bytes.length / floatBytes, weightsRatio: weightBytes / floatBytes,
      calibrationImages: result.calibrationImages, layers: result.layers, warnings: result.warnings, ...(verify ? { verify } : {}),
    });
  }
}

/** Float vs integer (reference kernels) accuracy on the first n test images. */
function verifyBundle(model: Module, spec: ModelSpec, bytes: Uint8Array, out: string, dataset: string, n: number, f: ParsedFlags, norm: Normalization) {
  const { ds } = loadSplit(dataset, "test", n, f);
  const floatResult = evaluate(model, { ...ds, images: normalize(ds, norm) }, 500);
  const int = prepareModel(decodeBundle(bytes, out), referenceBackend);
  const sample = ds.shape[0] * ds.shape[1] * ds.shape[2];
  let correct = 0;
  const batch = 100;
  for (let start = 0; start < ds.n; start += batch) {
    const b = Math.min(batch, ds.n - start);
    const pred = argmax(int.logits(ds.images.subarray(start * sample, (start + b) * sample), b), b, int.classes);
    for (let i = 0; i < b; i++) if (pred[i] === ds.labels[start + i]) correct++;
  }
  const intAccuracy = correct / ds.n;
  process.stdout.write(`verify on ${ds.n} ${dataset} test images: float ${pct(floatResult.accuracy)}, integer ${pct(intAccuracy)} (${spec.model} ${spec.op})\n`);
  return { images: ds.n, floatAccuracy: floatResult.accuracy, intAccuracy };
}
