// Mini-batches from an in-memory Dataset: a seeded shuffle per epoch (Fisher–Yates on xoshiro128**),
// optional augmentation, and a JSON-serialisable state, so a run resumed mid-epoch sees exactly the
// batches it would have seen without the interruption.
import { cropFlip, type AugmentOptions } from "./augment.js";
import { checkDataset, type Dataset } from "./dataset.js";
import { DataError } from "./errors.js";
import { permutation, Rng } from "../tensor/random.js";

export type { Dataset } from "./dataset.js";
export { CIFAR_AUGMENT, type AugmentOptions } from "./augment.js";

export interface LoaderOptions {
  batchSize: number;
  /** Reshuffle at the start of every epoch. Default true. */
  shuffle?: boolean;
  /** Skip the last incomplete batch of an epoch. Default false. */
  dropLast?: boolean;
  /**
   * Skip a last incomplete batch smaller than this (default 1: keep every batch). Training uses 2:
   * BatchNorm cannot normalise a batch of one image, and shuffling shows that image in other epochs.
   */
  minBatch?: number;
  /** Seed of the shuffle and augmentation streams. Default 0. */
  seed?: number;
  /** Random crop / flip (e.g. CIFAR_AUGMENT). Default none. */
  augment?: AugmentOptions | null;
}

/** Everything needed to continue exactly where a loader stopped. Plain JSON. */
export interface LoaderState {
  version: 1;
  n: number;
  batchSize: number;
  shuffle: boolean;
  dropLast: boolean;
  /** Absent in states saved before the option existed (then 1). */
  minBatch?: number;
  augment: AugmentOptions | null;
  epoch: number;
  /** Samples of the current epoch already handed out. */
  position: number;
  /** The shuffle generator's state before it drew the current epoch's order. */
  shuffleRng: number[];
  /** The augmentation generator's current state. */
  augmentRng: number[];
}

export class DataLoader {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly minBatch: number;
  readonly augment: AugmentOptions | null;
  /** Values in one sample (C·H·W). */
  readonly sampleSize: number;
  readonly batchesPerEpoch: number;
  private readonly order: Int32Array;
  private shuffleRng: Rng;
  private augmentRng: Rng;
  private epochStart: number[];
  private epochNo = 0;
  private pos = 0;

  constructor(readonly dataset: Dataset, options: LoaderOptions) {
    checkDataset(dataset);
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new DataError(`batch size must be a positive integer, got ${batchSize}`);
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    this.minBatch = options.minBatch ?? 1;
    if (!Number.isInteger(this.minBatch) || this.minBatch < 1 || this.minBatch > batchSize) throw new DataError(`minBatch must be an integer in 1–${batchSize}, got ${options.minBatch}`);
    const aug = options.augment ?? null;
    if (aug) {
      if (!Number.isInteger(aug.cropPadding) || aug.cropPadding < 0) throw new DataError(`crop padding must be a non-negative integer, got ${aug.cropPadding}`);
      if (typeof aug.flip !== "boolean") throw new DataError(`augment.flip must be true or false, got ${String(aug.flip)}`);
    }
    // A fixed key order, so saved states compare equal as JSON.
    this.augment = aug ? { cropPadding: aug.cropPadding, flip: aug.flip } : null;
    this.sampleSize = dataset.shape[0] * dataset.shape[1] * dataset.shape[2];
    const rest = dataset.n % batchSize;
    this.batchesPerEpoch = Math.floor(dataset.n / batchSize) + (rest > 0 && !this.dropLast && rest >= this.minBatch ? 1 : 0);
    if (this.batchesPerEpoch === 0) {
      throw new DataError(`the dataset has ${dataset.n} samples, too few for one batch of ${this.dropLast ? batchSize : this.minBatch}`);
    }
    this.shuffleRng = Rng.fromSeed(options.seed ?? 0);
    this.augmentRng = this.shuffleRng.clone();
    this.augmentRng.jump(); // an independent stream, so augmentation never shifts the shuffle order
    this.order = new Int32Array(dataset.n);
    this.epochStart = this.shuffleRng.state();
    this.drawOrder();
  }

  /** The current epoch, counted from 0. */
  get epoch(): number {
    return this.epochNo;
  }

  /** Samples of the current epoch already handed out. */
  get position(): number {
    return this.pos;
  }

  /** Buffers of the right size for `next`. */
  allocBatch(): { images: Float32Array; labels: Int32Array } {
    return { images: new Float32Array(this.batchSize * this.sampleSize), labels: new Int32Array(this.batchSize) };
  }

  /**
   * Fill `images` (≥ batchSize·C·H·W) and `labels` (≥ batchSize) with the next batch and return
   * its size. At the end of an epoch it returns 0 and moves to the next epoch, so
   * `while ((b = loader.next(x, y)) > 0) …` runs exactly one epoch.
   */
  next(images: Float32Array, labels: Int32Array): number {
    if (images.length < this.batchSize * this.sampleSize || labels.length < this.batchSize) {
      throw new RangeError(
        `batch buffers too small: need ${this.batchSize * this.sampleSize} image values and ${this.batchSize} labels, got ${images.length} and ${labels.length}`,
      );
    }
    const end = this.end();
    if (this.pos >= end) {
      this.epochNo++;
      this.pos = 0;
      this.epochStart = this.shuffleRng.state();
      this.drawOrder();
      return 0;
    }
    const count = Math.min(this.batchSize, end - this.pos);
    const { images: src, labels: srcLabels, shape, padValue } = this.dataset;
    const size = this.sampleSize;
    const aug = this.augment;
    for (let i = 0; i < count; i++) {
      const k = this.order[this.pos + i]!;
      labels[i] = srcLabels[k]!;
      if (!aug) {
        images.set(src.subarray(k * size, (k + 1) * size), i * size);
        continue;
      }
      const p = aug.cropPadding;
      const dy = p > 0 ? this.augmentRng.nextInt(2 * p + 1) : 0;
      const dx = p > 0 ? this.augmentRng.nextInt(2 * p + 1) : 0;
      const flip = aug.flip && this.augmentRng.nextFloat() < 0.5;
      cropFlip(src, k * size, images, i * size, shape[0], shape[1], shape[2], p, dy, dx, flip, padValue);
    }
    this.pos += count;
    return count;
  }

  /** Iterate over the rest of the current epoch; yields each batch's size. */
  *batches(images: Float32Array, labels: Int32Array): Generator<number, void, void> {
    let count: number;
    while ((count = this.next(images, labels)) > 0) yield count;
  }

  /** The state to store in a checkpoint (plain JSON). */
  state(): LoaderState {
    return {
      version: 1,
      n: this.dataset.n,
      batchSize: this.batchSize,
      shuffle: this.shuffle,
      dropLast: this.dropLast,
      ...(this.minBatch !== 1 ? { minBatch: this.minBatch } : {}),
      augment: this.augment ? { ...this.augment } : null,
      epoch: this.epochNo,
      position: this.pos,
      shuffleRng: [...this.epochStart],
      augmentRng: this.augmentRng.state(),
    };
  }

  /** Continue from a state saved by `state()`, with the same dataset and options. */
  restore(state: LoaderState): void {
    const bad = (what: string) => new DataError(`cannot resume the data loader: ${what}`);
    if (!state || typeof state !== "object" || state.version !== 1) throw bad(`unknown loader state format ${JSON.stringify(state)?.slice(0, 80)}`);
    const mine = this.state();
    if (state.n !== mine.n) throw bad(`the saved state is for ${state.n} samples, this dataset has ${mine.n}`);
    for (const key of ["batchSize", "shuffle", "dropLast"] as const) {
      if (state[key] !== mine[key]) throw bad(`the saved ${key} is ${state[key]}, this loader has ${mine[key]}`);
    }
    if ((state.minBatch ?? 1) !== this.minBatch) throw bad(`the saved minBatch is ${state.minBatch ?? 1}, this loader has ${this.minBatch}`);
    const sameAugment = state.augment === null || mine.augment === null
      ? state.augment === mine.augment
      : state.augment.cropPadding === mine.augment.cropPadding && state.augment.flip === mine.augment.flip;
    if (!sameAugment) {
      throw bad(`the saved augmentation ${JSON.stringify(state.augment)} differs from this loader's ${JSON.stringify(mine.augment)}`);
    }
    const end = this.end();
    if (!Number.isInteger(state.epoch) || state.epoch < 0) throw bad(`invalid epoch ${state.epoch}`);
    if (!Number.isInteger(state.position) || state.position < 0 || state.position > end) throw bad(`invalid position ${state.position}`);
    let shuffleRng: Rng, augmentRng: Rng;
    try {
      shuffleRng = Rng.fromState(state.shuffleRng);
      augmentRng = Rng.fromState(state.augmentRng);
    } catch (e) {
      throw bad((e as Error).message);
    }
    this.shuffleRng = shuffleRng;
    this.augmentRng = augmentRng;
    this.epochStart = shuffleRng.state();
    this.drawOrder();
    this.epochNo = state.epoch;
    this.pos = state.position;
  }

  /** Samples handed out per epoch. */
  private end(): number {
    return Math.min(this.batchesPerEpoch * this.batchSize, this.dataset.n);
  }

  private drawOrder(): void {
    if (this.shuffle) permutation(this.shuffleRng, this.order);
    else for (let i = 0; i < this.order.length; i++) this.order[i] = i;
  }
}
