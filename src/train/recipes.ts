// The default training recipe of each op kind, as the papers trained it. `train` uses these for
// every flag the user leaves out, and `train --help` prints them.
//   conv, adder: AdderNet (Chen et al., CVPR 2020): LeNet-5-BN on MNIST for 50 epochs; ResNet/VGG
//                on CIFAR-10 for 400 epochs; SGD lr 0.1, momentum 0.9, weight decay 5e-4, batch
//                256, cosine decay. The CNN baselines use the same recipe.
//   shift-q/ps:  DeepShift (Elhoushi et al., 2021), mnist.py: 10 epochs, batch 64, lr 0.01 constant,
//                SGD without momentum or decay (Q) or RAdam (PS: it does not converge with SGD,
//                DeepShift #8); cifar10.py: 200 epochs, batch 128, lr 0.1, momentum 0.9, wd 1e-4,
//                ×0.1 at epochs 80, 120, 160, 180.
import type { OptimizerSettings } from "./trainer.js";

export interface Recipe extends OptimizerSettings {
  epochs: number;
  batch: number;
  /** Random crop + flip (CIFAR). */
  augment: boolean;
  /** Where the recipe comes from. */
  source: string;
}

const ADDERNET_MNIST: Recipe = {
  epochs: 50, batch: 256, optimizer: "sgd", lr: 0.1, momentum: 0.9, nesterov: false, weightDecay: 5e-4,
  schedule: "cosine", milestones: [], gamma: 0.1, augment: false, source: "AdderNet, LeNet-5-BN on MNIST",
};
const ADDERNET_CIFAR: Recipe = { ...ADDERNET_MNIST, epochs: 400, augment: true, source: "AdderNet, CIFAR-10 (main.py)" };
const DEEPSHIFT_MNIST: Recipe = {
  epochs: 10, batch: 64, optimizer: "sgd", lr: 0.01, momentum: 0, nesterov: false, weightDecay: 0,
  schedule: "constant", milestones: [], gamma: 0.1, augment: false, source: "DeepShift, mnist.py",
};
const DEEPSHIFT_CIFAR: Recipe = {
  epochs: 200, batch: 128, optimizer: "sgd", lr: 0.1, momentum: 0.9, nesterov: false, weightDecay: 1e-4,
  schedule: "multistep", milestones: [80, 120, 160, 180], gamma: 0.1, augment: true, source: "DeepShift, cifar10.py",
};

/** Datasets of small grey images train with the MNIST recipes, colour ones with the CIFAR recipes. */
const isCifarLike = (dataset: string) => dataset === "cifar10";

/** The paper recipe for an op kind on a dataset. */
export function recipeFor(op: string, dataset: string): Recipe {
  const cifar = isCifarLike(dataset);
  if (op === "shift-q" || op === "shift-ps") {
    const base = cifar ? DEEPSHIFT_CIFAR : DEEPSHIFT_MNIST;
    return op === "shift-ps" ? { ...base, optimizer: "radam", lr: 0.01, source: `${base.source}, PS with RAdam` } : { ...base };
  }
  return { ...(cifar ? ADDERNET_CIFAR : ADDERNET_MNIST) };
}

/** One line per op kind and dataset family, for --help. */
export function describeRecipes(ops: readonly string[]): string[] {
  const line = (op: string, dataset: string) => {
    const r = recipeFor(op, dataset);
    const sched = r.schedule === "multistep" ? `multistep ${r.milestones.join("/")}` : r.schedule;
    const mom = r.optimizer === "sgd" ? ` momentum ${r.momentum}` : "";
    return `  ${op.padEnd(8)} ${dataset === "cifar10" ? "cifar10" : "mnist   "}  ${r.epochs} epochs, batch ${r.batch}, ${r.optimizer} lr ${r.lr}${mom}, wd ${r.weightDecay}, ${sched}${r.augment ? ", crop+flip" : ""}  (${r.source})`;
  };
  return ops.flatMap((op) => [line(op, "mnist"), line(op, "cifar10")]);
}
