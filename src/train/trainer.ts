// The training loop: epochs of shuffled mini-batches, test accuracy after each epoch, a JSONL log,
// and an atomic checkpoint after each epoch from which `resume` continues bit-exactly.
import type { Dataset } from "../data/dataset.js";
import { DataLoader, type AugmentOptions } from "../data/loader.js";
import { createModel, type ModelSpec } from "../models/zoo.js";
import { applyTrainingSetups, paramGroups } from "../models/training_hooks.js";
import type { Module } from "../nn/module.js";
import { makeOptimizer, makeScheduler, type LRScheduler, type Optimizer, type OptimizerFactoryParams } from "../optim/index.js";
import { backward } from "../tensor/autograd.js";
import { crossEntropy } from "../tensor/ops/loss.js";
import { setDropoutSeed } from "../tensor/ops/dropout.js";
import { manualSeed } from "../tensor/random.js";
import { allocF32, allocI32, scope } from "../tensor/storage.js";
import { Tensor } from "../tensor/tensor.js";
import { encodeCheckpoint, loadCheckpoint, loadWeights, saveCheckpoint, CheckpointError, type Checkpoint, type TrainingState } from "./checkpoint.js";
import { evaluate } from "./metrics.js";

export interface TrainConfig {
  spec: ModelSpec;
  epochs: number;
  batchSize: number;
  optimizer: string;
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  schedule: string;
  milestones: number[];
  gamma: number;
  seed: number;
  augment: AugmentOptions | null;
  /** Extra optimizer options per op kind (e.g. AdderNet's η), passed to the op's training hooks. */
  extra?: Record<string, unknown>;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  testAccuracy: number;
  imagesPerSecond: number;
  lr: number;
  seconds: number;
}

export interface TrainEvents {
  onStep?(f: { epoch: number; step: number; steps: number; loss: number; imagesPerSecond: number; etaSeconds: number }): void;
  onEpoch?(r: EpochRecord, checkpointBytes: Uint8Array): void;
}


export class Trainer {
  readonly model: Module;
  readonly optimizer: Optimizer;
  readonly scheduler: LRScheduler;
  readonly loader: DataLoader;
  epoch = 0;
  step = 0;
  history: EpochRecord[] = [];

  constructor(readonly config: TrainConfig, readonly train: Dataset, readonly test: Dataset, from?: Checkpoint) {
    manualSeed(config.seed);
    this.model = createModel(config.spec);
    if (from) loadWeights(this.model, from, "checkpoint", { latent: true });
    this.optimizer = makeOptimizer(config.optimizer, paramGroups(this.model, config), {
      lr: config.lr,
      momentum: config.momentum,
      nesterov: config.nesterov,
      weightDecay: config.weightDecay,
    });
    applyTrainingSetups(this.model, this.optimizer, config);
    this.scheduler = makeScheduler(config.schedule, this.optimizer, { tMax: config.epochs, milestones: config.milestones, gamma: config.gamma });
    this.loader = new DataLoader(train, { batchSize: config.batchSize, seed: config.seed, augment: config.augment });
  }

  /** Restore optimizer, scheduler, loader and counters from a checkpoint written by this trainer. */
  resumeFrom(ckpt: Checkpoint): void {
    const t = ckpt.training;
    if (!t) throw new CheckpointError("the checkpoint holds no training state (weights only)");
    loadWeights(this.model, ckpt, "checkpoint", { latent: true });
    if (t.optimizer) {
      const state = t.optimizer.scalars.map((s, i) => ({ ...s, ...(ckpt.optimizerTensors.get(i) ?? {}) }));
      this.optimizer.loadStateDict({ groups: t.optimizer.groups, state } as Parameters<Optimizer["loadStateDict"]>[0]);
    }
    this.scheduler.loadStateDict(t.scheduler as Parameters<LRScheduler["loadStateDict"]>[0]);
    this.loader.restore(t.loader as Parameters<DataLoader["restore"]>[0]);
    this.epoch = t.epoch;
    this.step = t.step;
    this.history = t.history as EpochRecord[];
  }

  /** Train until `config.epochs`; returns the per-epoch records. */
  run(events: TrainEvents = {}): EpochRecord[] {
    const { batchSize } = this.config;
    const [C, H, W] = this.train.shape;
    const sample = C * H * W;
    const images = allocF32(batchSize * sample, true);
    const labels = allocI32(batchSize, true);
    const steps = this.loader.batchesPerEpoch;
    while (this.epoch < this.config.epochs) {
      const t0 = performance.now();
      let lossSum = 0;
      let seen = 0;
      let stepInEpoch = 0;
      this.model.train();
      let b: number;
      while ((b = this.loader.next(images, labels)) > 0) {
        const loss = this.trainStep(images.subarray(0, b * sample), labels.subarray(0, b), [b, C, H, W]);
        lossSum += loss * b;
        seen += b;
        stepInEpoch++;
        const elapsed = (performance.now() - t0) / 1000;
        events.onStep?.({
          epoch: this.epoch + 1,
          step: stepInEpoch,
          steps,
          loss,
          imagesPerSecond: seen / elapsed,
          etaSeconds: (elapsed / stepInEpoch) * (steps - stepInEpoch + steps * (this.config.epochs - this.epoch - 1)),
        });
      }
      const seconds = (performance.now() - t0) / 1000;
      const lr = this.optimizer.paramGroups[0].lr;
      this.scheduler.step();
      this.epoch++;
      const acc = evaluate(this.model, this.test);
      const record: EpochRecord = { epoch: this.epoch, trainLoss: lossSum / seen, testAccuracy: acc.accuracy, imagesPerSecond: seen / seconds, lr, seconds };
      this.history.push(record);
      events.onEpoch?.(record, this.checkpointBytes());
    }
    return this.history;
  }

  /** One optimisation step on a batch; returns the mean loss. */
  trainStep(images: Float32Array, labels: Int32Array, shape: number[]): number {
    setDropoutSeed(Math.imul(this.config.seed + 1, 0x2545f491) ^ this.step);
    this.step++;
    return scope(() => {
      const x = new Tensor(images, shape);
      const loss = crossEntropy(this.model.forward(x), labels);
      backward(loss);
      this.optimizer.step();
      this.optimizer.zeroGrad();
      return loss.item();
    });
  }

  checkpointBytes(): Uint8Array {
    const opt = this.optimizer.stateDict();
    const training: TrainingState = {
      epoch: this.epoch,
      step: this.step,
      config: { ...this.config },
      optimizer: { groups: opt.groups, scalars: [] },
      scheduler: this.scheduler.stateDict(),
      loader: this.loader.state(),
      history: this.history,
    };
    return encodeCheckpoint(this.config.spec, this.model, training, opt.state as Array<Record<string, Float32Array | number>>);
  }
}

export { loadCheckpoint, saveCheckpoint };
