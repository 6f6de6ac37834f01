// A PyTorch checkpoint (.pth/.pt, either torch.save container) to a mulfree checkpoint: read the
// state dict with the restricted pickle reader, map it onto a zoo model, write the checkpoint
// after checking that it loads back. The result records no dataset (a state dict names none):
// eval, export and predict then assume the usual one for its channels (cifar10 for 3, mnist for
// 1) with a note, or take --dataset/--data.
import { IoError } from "../io/errors.js";
import { readFileChecked, sameFile, writeFileAtomic } from "../io/files.js";
import { readTorchStateDict } from "../io/torch_state_dict.js";
import { initRuntime } from "../kernels/runtime.js";
import { importStateDict, type ImportOptions } from "../models/import_match.js";
import type { ModelSpec } from "../models/zoo.js";
import { encodeCheckpoint } from "../train/checkpoint.js";
import { loadModelBytes } from "../train/load_model.js";
import { fallbackDataset } from "./model_data.js";

export interface ImportRequest extends ImportOptions {
  /** The mulfree checkpoint to write (.safetensors). */
  out: string;
}

export interface ImportSummary {
  input: string;
  out: string;
  container: "zip" | "legacy";
  /** Where the state dict sat in the file: "" (the whole file) or a key such as "state_dict". */
  stateDictKey: string;
  /** Tensors in the state dict. */
  tensors: number;
  spec: ModelSpec;
  opLayers: string[];
  multiplicativeLayers: string[];
  parameters: number;
  /** The wrapper prefix removed from every key ("module." or ""). */
  prefix: string;
  /** Keys left out (BatchNorm's num_batches_tracked). */
  dropped: string[];
  notes: string[];
}

export function importCheckpoint(path: string, req: ImportRequest): ImportSummary {
  const { out, ...options } = req;
  if (sameFile(out, path)) throw new IoError(`${path}: the output ${out} would overwrite the input`);
  initRuntime();
  const file = readTorchStateDict(readFileChecked(path, "PyTorch checkpoint"), path);
  let imported;
  try {
    imported = importStateDict(file.tensors, options);
  } catch (e) {
    if (e instanceof IoError) throw e;
    throw new IoError(`${path}: ${(e as Error).message}`);
  }
  const { spec, model } = imported;
  const bytes = encodeCheckpoint(spec, model, null);
  // never write a checkpoint that loading would refuse
  loadModelBytes(bytes, out);
  writeFileAtomic(out, bytes);
  return {
    input: path, out, container: file.container, stateDictKey: file.key, tensors: file.tensors.size, spec,
    opLayers: imported.opLayers, multiplicativeLayers: imported.multiplicativeLayers, parameters: model.numParameters(),
    prefix: imported.prefix, dropped: imported.dropped,
    notes: [...imported.notes, `a state dict records no dataset: eval, export and predict assume ${fallbackDataset(spec.inChannels)} unless given --dataset and --data`],
  };
}
