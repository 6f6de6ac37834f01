// A trained conv checkpoint to a DeepShift checkpoint to fine-tune (train --from). The data record
// carries over, so the fine-tuning run and everything after it use the same data.
import { writeFileAtomic } from "../io/files.js";
import { initRuntime } from "../kernels/runtime.js";
import { convertToShift, type ConvertedModel, type ShiftConversion } from "../models/convert_shift.js";
import { manualSeed } from "../tensor/random.js";
import { CheckpointError, encodeCheckpoint, loadCheckpoint } from "../train/checkpoint.js";

/** CHECKPOINT.safetensors → CHECKPOINT.<op>.safetensors beside it. */
export function convertedPath(path: string, op: string): string {
  return `${path.replace(/\.safetensors$/, "")}.${op}.safetensors`;
}

export function convertCheckpoint(path: string, conversion: ShiftConversion & { out?: string }): ConvertedModel & { out: string } {
  const { out: outGiven, ...how } = conversion;
  const out = outGiven ?? convertedPath(path, how.to);
  const ckpt = loadCheckpoint(path);
  if (ckpt.spec.op !== "conv") throw new CheckpointError(`${path} holds a model with op ${ckpt.spec.op}; convert takes a conv model (a checkpoint of mulfree train --op conv)`);
  initRuntime();
  manualSeed(0);
  let converted: ConvertedModel;
  try {
    converted = convertToShift(ckpt, how);
  } catch (e) {
    throw new CheckpointError(`${path}: ${(e as Error).message}`);
  }
  writeFileAtomic(out, encodeCheckpoint(converted.spec, converted.model, null, undefined, { latent: true, dataset: ckpt.dataset }));
  return { ...converted, out };
}
