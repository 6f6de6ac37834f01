// The in-page training run, in a dedicated Worker so that the page stays responsive: its own kernel
// runtime (a wasm memory and `threads − 1` pool workers under this Worker), the MNIST subset, and
// the library's Trainer with the AdderNet recipe, reporting every step and every epoch.
import { initRuntime } from "../../../src/kernels/runtime.js";
import { resolveSpec } from "../../../src/models/zoo.js";
import { recipeFor } from "../../../src/train/recipes.js";
import { Trainer } from "../../../src/train/trainer.js";
import { fetchBytes } from "../assets.js";
import { loadSubset } from "./subset.js";
import type { TrainEvent, TrainRequest } from "./messages.js";

/** PreciseBN before each evaluation: 8 batches (512 images at batch 64) of the 2,000. */
const PRECISE_BN_BATCHES = 8;

const scope = globalThis as unknown as { postMessage(m: TrainEvent): void; onmessage: ((e: MessageEvent<TrainRequest>) => void) | null };
const post = (m: TrainEvent) => scope.postMessage(m);

async function train(req: TrainRequest): Promise<void> {
  // URLs resolve against this script's, which sits next to the page's files
  const wasm = await fetchBytes("mulfree.wasm");
  const rt = initRuntime({ threads: req.threads, wasm });
  const [{ train, test }] = await Promise.all([loadSubset(), rt.whenReady()]);
  post({ type: "ready", threads: rt.threads, isolated: globalThis.crossOriginIsolated === true, trainImages: train.n, testImages: test.n });

  const recipe = recipeFor("adder", "mnist");
  const trainer = new Trainer({
    spec: resolveSpec({ model: "lenet5", op: "adder" }),
    epochs: req.epochs, batchSize: req.batch, seed: req.seed, augment: null, preciseBn: PRECISE_BN_BATCHES,
    optimizer: recipe.optimizer, lr: req.lr, momentum: recipe.momentum, nesterov: recipe.nesterov,
    weightDecay: recipe.weightDecay, schedule: recipe.schedule, milestones: recipe.milestones, gamma: recipe.gamma,
  }, train, test);
  trainer.run({
    onStep: (s) => post({ type: "step", ...s }),
    onEpoch: (r) => post({ type: "epoch", ...r, parallelJobs: rt.parallelJobs }),
  });
  post({ type: "done" });
}

scope.onmessage = (e) => {
  scope.onmessage = null;  // one run per Worker: the panel starts a new one for the next run
  train(e.data).catch((err: unknown) => post({ type: "error", message: err instanceof Error ? err.message : String(err) }));
};
