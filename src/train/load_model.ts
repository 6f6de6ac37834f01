// A checkpoint file to a ready model: the one way every command and user loads one.
import type { DataSource } from "../data/registry.js";
import type { Dataset } from "../data/dataset.js";
import { createModel, type ModelSpec } from "../models/zoo.js";
import type { Module } from "../nn/module.js";
import { withRngSaved } from "../tensor/random.js";
import { CheckpointError, decodeCheckpoint, loadCheckpoint, loadWeights, type Checkpoint } from "./checkpoint.js";

export interface LoadedModel {
  path: string;
  spec: ModelSpec;
  /** In eval mode. */
  model: Module;
  checkpoint: Checkpoint;
  /** The data it was trained on, when the checkpoint records it. */
  dataset: DataSource | null;
}

/**
 * Read, validate and build the model of a checkpoint (model.safetensors, checkpoint.safetensors,
 * best.safetensors, or one made by convert). `latent`: load the live training values of rounded
 * (shift) weights, to continue training from them. Throws a CheckpointError naming the file.
 */
export function loadModel(path: string, options: { latent?: boolean } = {}): LoadedModel {
  return modelOfCheckpoint(loadCheckpoint(path), path, options);
}

/** loadModel for checkpoint bytes already in memory; `name` appears in errors. */
export function loadModelBytes(bytes: Uint8Array, name: string, options: { latent?: boolean } = {}): LoadedModel {
  return modelOfCheckpoint(decodeCheckpoint(bytes, name), name, options);
}

function modelOfCheckpoint(checkpoint: Checkpoint, path: string, options: { latent?: boolean }): LoadedModel {
  let model: Module;
  try {
    // every tensor is overwritten below; building draws initial values, so keep the caller's stream
    model = withRngSaved(() => createModel(checkpoint.spec));
  } catch (e) {
    throw new CheckpointError(`${path}: cannot build its model: ${(e as Error).message}`);
  }
  loadWeights(model, checkpoint, path, options);
  model.eval();
  return { path, spec: checkpoint.spec, model, checkpoint, dataset: checkpoint.dataset ?? null };
}

/** Throws unless the model takes the dataset's images whole and knows every label. */
export function checkModelFitsData(spec: ModelSpec, ds: Dataset, where: string, dataName: string): void {
  const want = [spec.inChannels, spec.inputSize, spec.inputSize].join("×");
  const got = ds.shape.join("×");
  if (want !== got) throw new CheckpointError(`${where} takes ${want} images, ${dataName} has ${got}`);
  for (let i = 0; i < ds.n; i++) {
    const l = ds.labels[i]!;
    if (l >= spec.numClasses) throw new CheckpointError(`${dataName}: label ${l} of image ${i} is outside the ${spec.numClasses} classes of ${where}`);
  }
}
