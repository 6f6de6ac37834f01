// Datasets by name, as the CLI names them.
import { loadCifar } from "../data/cifar.js";
import type { Dataset } from "../data/dataset.js";
import { DataError } from "../data/errors.js";
import { loadMnist } from "../data/mnist.js";
import { nodeBuiltin } from "../kernels/runtime.js";

export const DATASETS = ["mnist", "cifar10"] as const;

export interface DatasetOptions {
  /** cifar10: a directory with data_batch_*.bin and test_batch.bin, or one .bin file used for both splits. */
  data?: string;
  trainImages?: string;
  trainLabels?: string;
  testImages?: string;
  testLabels?: string;
  trainLimit?: number;
  testLimit?: number;
}

export function loadDatasets(name: string, o: DatasetOptions): { train: Dataset; test: Dataset } {
  if (name === "mnist") {
    return {
      train: loadMnist("train", { images: o.trainImages, labels: o.trainLabels, limit: o.trainLimit }),
      test: loadMnist("test", { images: o.testImages, labels: o.testLabels, limit: o.testLimit }),
    };
  }
  if (name === "cifar10") {
    if (!o.data) throw new DataError("cifar10 needs --data DIR (with data_batch_1.bin … test_batch.bin) or --data FILE.bin");
    const fs = nodeBuiltin<typeof import("node:fs")>("node:fs")!;
    const path = nodeBuiltin<typeof import("node:path")>("node:path")!;
    const stat = fs.statSync(o.data, { throwIfNoEntry: false });
    if (!stat) throw new DataError(`CIFAR-10 data not found: ${o.data}`);
    if (stat.isFile()) {
      return { train: loadCifar(o.data, { limit: o.trainLimit }), test: loadCifar(o.data, { limit: o.testLimit }) };
    }
    const trainFiles = [1, 2, 3, 4, 5].map((i) => path.join(o.data!, `data_batch_${i}.bin`)).filter((p) => fs.existsSync(p));
    if (trainFiles.length === 0) throw new DataError(`${o.data}: no data_batch_N.bin files`);
    return {
      train: loadCifar(trainFiles, { limit: o.trainLimit }),
      test: loadCifar(path.join(o.data, "test_batch.bin"), { limit: o.testLimit }),
    };
  }
  throw new DataError(`unknown dataset '${name}'; valid: ${DATASETS.join(", ")}`);
}
