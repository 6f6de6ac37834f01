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
import { encodeCheckpoint, loadCheckpoint, loadWeights, saveCheckpoint, CheckpointError, type Checkpoint, type QatRecord, type TrainingState } from "./checkpoint.js";
import { evaluate } from "./metrics.js";
import { preciseBatchNorm } from "./precise_bn.js";
import { QuantizationAwareTraining } from "./qat.js";
import type { DataSource } from "../data/registry.js";
import "./wasm_updates.js"; // the optimizers step in wasm (side effect: installs the engine)

/** How the weights are optimised: the optimizer, its learning-rate schedule and its options. */
export interface OptimizerSettings {
  optimizer: string;
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  schedule: string;
  milestones: number[];
  gamma: number;
}

export interface TrainConfig extends OptimizerSettings {
  spec: ModelSpec;
  epochs: number;
  batchSize: number;
  seed: number;
  augment: AugmentOptions | null;
  /** Extra optimizer options per op kind (e.g. AdderNet's η), passed to the op's training hooks. */
  extra?: Record<string, unknown>;
  /** PreciseBN before each evaluation: batches to average (0 or absent: off). See precise_bn.ts. */
  preciseBn?: number;
  /** The run's options, stored in the checkpoint as they are, so that `--resume` continues with them (run_options.ts). */
  options?: object;
  /** The data's record, stored in every checkpoint the run writes (data/registry.ts). */
  dataset?: DataSource;
  /** Quantization-aware training at this many bits (qat.ts); absent: float training. */
  qat?: number | null;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  /** Test accuracy of the model as saved (after PreciseBN when it is on). */
  testAccuracy: number;
  /** With PreciseBN on: the test accuracy with the running statistics from training, before recalibration. */
  testAccuracyRunningStats?: number;
  imagesPerSecond: number;
  lr: number;
  seconds: number;
}

/**
 * A mean cross-entropy above this means the true class got probability below e^−1000000: no
 * network that still learns gets there, so the run has diverged (the loss is not NaN yet).
 */
export const DIVERGED_LOSS = 1e6;

/** The loss exceeded DIVERGED_LOSS or stopped being a number, or the weights stopped being finite. */
export class TrainingDivergedError extends Error {}

export interface TrainEvents {
  onStep?(f: { epoch: number; step: number; steps: number; loss: number; imagesPerSecond: number; etaSeconds: number }): void;
  onEpoch?(r: EpochRecord, checkpointBytes: Uint8Array): void;
}

/** True when the arrays hold only finite numbers. */
function allFinite(arrays: Iterable<Float32Array>): boolean {
  for (const a of arrays) for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}


export class Trainer {
  readonly model: Module;
  readonly optimizer: Optimizer;
  readonly scheduler: LRScheduler;
  readonly loader: DataLoader;
  epoch = 0;
  step = 0;
  history: EpochRecord[] = [];
  readonly qat: QuantizationAwareTraining | null;

  constructor(readonly config: TrainConfig, readonly train: Dataset, readonly test: Dataset, from?: Checkpoint) {
    manualSeed(config.seed);
    this.model = createModel(config.spec);
    if (from) loadWeights(this.model, from, "checkpoint", { latent: true });
    this.qat = config.qat ? new QuantizationAwareTraining(this.model, config.qat, train.shape) : null;
    this.optimizer = makeOptimizer(config.optimizer, paramGroups(this.model, config), {
      lr: config.lr,
      momentum: config.momentum,
      nesterov: config.nesterov,
      weightDecay: config.weightDecay,
    });
    applyTrainingSetups(this.model, this.optimizer, config);
    this.scheduler = makeScheduler(config.schedule, this.optimizer, { tMax: config.epochs, milestones: config.milestones, gamma: config.gamma });
    this.loader = new DataLoader(train, { batchSize: config.batchSize, seed: config.seed, augment: config.augment, minBatch: Math.min(2, config.batchSize) });
  }

  /**
   * Restore optimizer, scheduler, loader and counters from a checkpoint written by this trainer.
   * When the run was extended (config.epochs differs from the stored one), the schedule is this
   * trainer's (built over the new total) moved to the step the run had reached.
   */
  resumeFrom(ckpt: Checkpoint): void {
    const t = ckpt.training;
    if (!t) throw new CheckpointError("the checkpoint holds no training state (weights only)");
    loadWeights(this.model, ckpt, "checkpoint", { latent: true });
    if (t.optimizer) {
      const state = t.optimizer.scalars.map((s, i) => ({ ...s, ...(ckpt.optimizerTensors.get(i) ?? {}) }));
      this.optimizer.loadStateDict({ groups: t.optimizer.groups, state } as Parameters<Optimizer["loadStateDict"]>[0]);
    }
    const saved = t.scheduler as Parameters<LRScheduler["loadStateDict"]>[0];
    if ((t.config as { epochs?: number }).epochs === this.config.epochs) this.scheduler.loadStateDict(saved);
    else this.scheduler.seek(t.epoch);
    this.loader.restore(t.loader as Parameters<DataLoader["restore"]>[0]);
    this.epoch = t.epoch;
    this.step = t.step;
    this.history = t.history as EpochRecord[];
    if (this.qat && ckpt.qat) this.qat.restore(ckpt.qat.ranges);
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
      if (!allFinite(this.model.parameters().map((p) => p.data))) {
        throw new TrainingDivergedError(`the weights stopped being finite in epoch ${this.epoch + 1} (lr ${this.optimizer.paramGroups[0].lr}); lower --lr`);
      }
      const lr = this.optimizer.paramGroups[0].lr;
      this.scheduler.step();
      this.epoch++;
      const record: EpochRecord = { epoch: this.epoch, trainLoss: lossSum / seen, ...this.testAccuracies(), imagesPerSecond: seen / seconds, lr, seconds };
      this.history.push(record);
      events.onEpoch?.(record, this.checkpointBytes());
    }
    return this.history;
  }

  /** Test accuracy; with PreciseBN, before and after recalibrating BatchNorm on training batches. */
  private testAccuracies(): Pick<EpochRecord, "testAccuracy" | "testAccuracyRunningStats"> {
    const batches = this.config.preciseBn ?? 0;
    if (batches <= 0) return { testAccuracy: evaluate(this.model, this.test).accuracy };
    const before = evaluate(this.model, this.test).accuracy;
    // a fresh sample per epoch, fixed by the seed: resumed runs recalibrate identically
    preciseBatchNorm(this.model, this.train, { batches, batchSize: this.config.batchSize, seed: Math.imul(this.config.seed + 7, 0x9e3779b1) ^ this.epoch });
    return { testAccuracy: evaluate(this.model, this.test).accuracy, testAccuracyRunningStats: before };
  }

  /** One optimisation step on a batch; returns the mean loss. */
  trainStep(images: Float32Array, labels: Int32Array, shape: number[]): number {
    setDropoutSeed(Math.imul(this.config.seed + 1, 0x2545f491) ^ this.step);
    this.step++;
    const loss = this.optimize(images, labels, shape);
    if (!(loss <= DIVERGED_LOSS)) {
      throw new TrainingDivergedError(`the loss became ${loss.toPrecision(3)} at step ${this.step} (epoch ${this.epoch + 1}, lr ${this.optimizer.paramGroups[0].lr}); lower --lr`);
    }
    return loss;
  }

  private optimize(images: Float32Array, labels: Int32Array, shape: number[]): number {
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
    const { options, dataset, ...config } = this.config;
    const training: TrainingState = {
      epoch: this.epoch,
      step: this.step,
      config,
      optimizer: { groups: opt.groups, scalars: [] },
      scheduler: this.scheduler.stateDict(),
      loader: this.loader.state(),
      history: this.history,
      ...(options ? { options: options as Record<string, unknown> } : {}),
    };
    return encodeCheckpoint(this.config.spec, this.model, training, opt.state as Array<Record<string, Float32Array | number>>, { dataset: this.config.dataset, qat: this.qatRecord() });
  }

  /** The weights alone, with the data record (model.safetensors, best.safetensors). */
  weightsBytes(): Uint8Array {
    return encodeCheckpoint(this.config.spec, this.model, null, undefined, { dataset: this.config.dataset, qat: this.qatRecord() });
  }

  private qatRecord(): QatRecord | undefined {
    return this.qat ? { bits: this.qat.bits, ranges: this.qat.ranges } : undefined;
  }
}

export { loadCheckpoint, saveCheckpoint };
