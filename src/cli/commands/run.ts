// mulfree run: the test accuracy and speed of an integer deployment bundle, through the same
// load()/predict() API that browsers use.
import { existsSync, readFileSync } from "node:fs";
import { loadCifar } from "../../data/cifar.js";
import type { Dataset } from "../../data/dataset.js";
import { loadMnist } from "../../data/mnist.js";
import { load, type BackendName } from "../../deploy/runner.js";
import { UsageError, type CommandSpec, type ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import { pct, printJson } from "../output.js";
import { availableThreads } from "../threads.js";

const DATASETS = ["mnist", "cifar10"];

export const runSpec: CommandSpec = {
  name: "run",
  summary: "test accuracy and speed of an integer deployment bundle (from mulfree export)",
  usage: "mulfree run MODEL.mulfree.safetensors [--dataset mnist] [--limit N] [--batch 256] [--threads T] [--backend wasm|reference] [--json]",
  positionals: ["model"],
  flags: {
    dataset: { type: "string", help: `dataset: ${DATASETS.join(", ")} (default: from the bundle's input shape)`, choices: DATASETS },
    data: { type: "string", help: "cifar10: directory with test_batch.bin, or one .bin file" },
    "test-images": { type: "string", help: "mnist: IDX images file (e.g. Fashion-MNIST)" },
    "test-labels": { type: "string", help: "mnist: IDX labels file" },
    limit: { type: "int", help: "use only the first N test images", min: 1 },
    batch: { type: "int", help: "images per predict() call", default: 256, min: 1 },
    threads: { type: "int", help: "threads (default: all cores; wasm backend only)", min: 1, max: 17 },
    backend: { type: "string", help: "wasm (SIMD kernels) or reference (plain TypeScript loops, bit-identical, slow)", default: "wasm", choices: ["wasm", "reference"] },
  },
};

/** Test images as raw bytes (the exact pixels; predict() normalises and quantizes them). */
function testSet(dataset: string, f: ParsedFlags, limit: number | undefined, size: number): { pixels: Uint8Array; labels: Int32Array; n: number; shape: number[] } {
  let ds: Dataset;
  if (dataset === "mnist") {
    const images = f.testImages as string | undefined, labels = f.testLabels as string | undefined;
    if (!!images !== !!labels) throw new UsageError("--test-images and --test-labels go together");
    // LeNet-style bundles may take 32×32 inputs: pad the 28×28 digits with black, as training did
    ds = loadMnist("test", { images, labels, limit, normalize: false, padTo: size > 28 ? size : undefined });
  } else {
    const data = f.data as string | undefined;
    if (!data) throw new UsageError("cifar10 needs --data DIR (with test_batch.bin) or --data FILE.bin");
    const file = existsSync(`${data}/test_batch.bin`) ? `${data}/test_batch.bin` : data;
    ds = loadCifar(file, { limit, normalize: false });
  }
  // the readers give x = fround(p/255); round back to the exact bytes
  const pixels = Uint8Array.from(ds.images, (x) => Math.round(x * 255));
  return { pixels, labels: ds.labels, n: ds.n, shape: ds.shape };
}

export function runRun(f: ParsedFlags, [path]: string[]): void {
  if (!existsSync(path)) throw new CliError(`${path}: no such file`);
  const backend = String(f.backend) as BackendName;
  const threads = Number(f.threads ?? availableThreads());
  const model = load(new Uint8Array(readFileSync(path)), { threads, backend, name: path });
  const [C, H, W] = model.inputShape;
  const dataset = String(f.dataset ?? (C === 3 ? "cifar10" : "mnist"));
  const test = testSet(dataset, f, f.limit as number | undefined, H);
  if (test.shape[0] !== C || test.shape[1] !== H || test.shape[2] !== W) {
    throw new CliError(`${path} takes ${C}×${H}×${W} images, ${dataset} has ${test.shape.join("×")}`);
  }
  const batch = Math.min(Number(f.batch), test.n);
  const size = C * H * W;
  // one untimed call: buffers for this batch size are allocated and workers started
  model.predict(test.pixels.subarray(0, batch * size), batch);
  let correct = 0;
  const start = performance.now();
  for (let at = 0; at < test.n; at += batch) {
    const n = Math.min(batch, test.n - at);
    const { classes } = model.predict(test.pixels.subarray(at * size, (at + n) * size), n);
    for (let i = 0; i < n; i++) if (classes[i] === test.labels[at + i]) correct++;
  }
  const seconds = (performance.now() - start) / 1000;
  model.dispose();
  const accuracy = correct / test.n;
  const imagesPerSecond = test.n / seconds;
  const source = model.bundle.source;
  const what = typeof source.model === "string" ? `${source.model}${typeof source.op === "string" ? ` (${source.op})` : ""}, ` : "";
  process.stdout.write(
    `${path}: ${what}integer ${backend} backend, ${backend === "wasm" ? `${threads} thread${threads === 1 ? "" : "s"}, ` : ""}batch ${batch}\n` +
      `${dataset} test: ${pct(accuracy)} (${correct}/${test.n}), ${Math.round(imagesPerSecond)} img/s\n`,
  );
  if (f.json) {
    printJson({ command: "run", model: path, dataset, backend, threads: backend === "wasm" ? threads : 1, batch, accuracy, correct, total: test.n, imagesPerSecond, source });
  }
}
