// What an op kind adds to training: optimizer hooks (AdderNet's adaptive learning rate, DeepShift-PS's
// penalty on 2^P) and its own parameter groups. The registry lives here, below the trainer, so op
// kinds can register from modules the zoo imports without an import cycle through the trainer.
import type { Module } from "../nn/module.js";
import type { Optimizer, OptimizerFactoryParams } from "../optim/index.js";
import type { ModelSpec } from "./spec.js";

/** The part of a training configuration that op kinds read. */
export interface OpTrainingConfig {
  spec: ModelSpec;
  weightDecay: number;
}

/** Installs hooks on a fresh optimizer. */
export type TrainingSetup = (model: Module, optimizer: Optimizer, config: OpTrainingConfig) => void;
/** Splits the parameters into optimizer groups; null means no opinion. */
export type ParamGrouping = (model: Module, config: OpTrainingConfig) => OptimizerFactoryParams | null;

const setups: TrainingSetup[] = [];
const groupings: ParamGrouping[] = [];

export function registerTrainingSetup(setup: TrainingSetup): void {
  setups.push(setup);
}

export function registerParamGrouping(grouping: ParamGrouping): void {
  groupings.push(grouping);
}

export function applyTrainingSetups(model: Module, optimizer: Optimizer, config: OpTrainingConfig): void {
  for (const setup of setups) setup(model, optimizer, config);
}

/** The first op kind's grouping that applies, else all parameters in one group. */
export function paramGroups(model: Module, config: OpTrainingConfig): OptimizerFactoryParams {
  for (const grouping of groupings) {
    const groups = grouping(model, config);
    if (groups) return groups;
  }
  return model.parameters();
}
