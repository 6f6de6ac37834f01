// The data flags, shared by every command that reads a dataset, and their DataRequest.
import { DATASET_NAMES, datasetInfo, type DataRequest } from "../data/registry.js";
import type { FlagSpec, ParsedFlags } from "./args.js";

const ALL: Record<string, FlagSpec> = {
  dataset: { type: "string", help: "dataset (default: the model's own; for a new run mnist)", choices: DATASET_NAMES },
  data: { type: "string", help: `fashion-mnist: directory of the IDX files; cifar10: directory of the binary batches or one .bin file` },
  "train-images": { type: "string", help: "IDX images file for training (MNIST format, e.g. your own digits)" },
  "train-labels": { type: "string", help: "IDX labels file for training" },
  "test-images": { type: "string", help: "IDX images file for testing" },
  "test-labels": { type: "string", help: "IDX labels file for testing" },
  "train-limit": { type: "int", help: "use only the first N training images", min: 1 },
  "test-limit": { type: "int", help: "use only the first N test images", min: 1 },
  "other-data": { type: "bool", help: "accept test files other than the ones the model was trained with (same dataset)" },
};

const USES = {
  train: ["dataset", "data", "train-images", "train-labels", "test-images", "test-labels", "train-limit", "test-limit"],
  test: ["dataset", "data", "test-images", "test-labels", "test-limit", "other-data"],
  calibrate: ["dataset", "data", "train-images", "train-labels", "test-images", "test-labels", "other-data"],
} as const;

export function dataFlags(use: keyof typeof USES): Record<string, FlagSpec> {
  return Object.fromEntries(USES[use].map((k) => [k, ALL[k]!]));
}

/** The data flags given (undefined when none is: the model's recorded data applies). */
export function dataRequestFrom(f: ParsedFlags): Partial<DataRequest> | undefined {
  const r: Partial<DataRequest> = {};
  if (f.dataset !== undefined) r.name = String(f.dataset);
  for (const key of ["data", "trainImages", "trainLabels", "testImages", "testLabels"] as const) if (f[key] !== undefined) r[key] = String(f[key]);
  for (const key of ["trainLimit", "testLimit"] as const) if (f[key] !== undefined) r[key] = Number(f[key]);
  return Object.keys(r).length ? r : undefined;
}

/** Help lines naming each dataset and where its files come from. */
export function datasetHelp(): string[] {
  return DATASET_NAMES.map((n) => `  ${n.padEnd(14)} ${datasetInfo(n).title}: ${datasetInfo(n).files}`);
}
