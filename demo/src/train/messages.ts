// What the training panel and its Worker say to each other, and the size of the data the Worker
// trains on. The panel stops a run by terminating the Worker (its kernel threads go with it), so
// there is no stop message.

/** Images of the MNIST subset shipped in demo/assets (demo/scripts/make-mnist-subset.mjs). */
export const SUBSET = { train: 2000, test: 500 };

export interface TrainRequest {
  type: "start";
  /** Kernel threads of the Worker's own runtime, the Worker's included. */
  threads: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
}

export type TrainEvent =
  /** Kernels compiled, worker threads started, data loaded. */
  | { type: "ready"; threads: number; isolated: boolean; trainImages: number; testImages: number }
  | { type: "step"; epoch: number; step: number; steps: number; loss: number; imagesPerSecond: number; etaSeconds: number }
  | { type: "epoch"; epoch: number; trainLoss: number; testAccuracy: number; testAccuracyRunningStats?: number; imagesPerSecond: number; seconds: number; parallelJobs: number }
  | { type: "done" }
  | { type: "error"; message: string };
