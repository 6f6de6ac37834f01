// The grid of docs/results.md: every (dataset, model, op kind) cell, and the training budget of each.
//
// Recipes: every op kind trains with its paper's recipe (mulfree's defaults: AdderNet's SGD 0.1 +
// momentum + cosine at batch 256 for conv and adder, DeepShift's mnist.py for shift-q and shift-ps),
// all for 10 epochs: DeepShift's own length, and AdderNet's 50-epoch cosine schedule compressed to 10.
//
// Budgets: `full` trains every cell on the whole training set. `quick` (what this machine ran, see
// docs/results.md) trains `mobile` on the first 12,000 training images: one full-set epoch of
// `mobile` takes 3–4 minutes on two cores (12.4M MACs per 28×28 image, 30× LeNet-5).

export const DATASETS = ['mnist', 'fashion-mnist'];
export const MODELS = ['lenet5', 'mobile'];
export const OPS = ['conv', 'adder', 'shift-q', 'shift-ps'];
export const EPOCHS = 10;
/** Bit widths of the post-training bundles, and the one fine-tuned with --qat. */
export const PTQ_BITS = [8, 6, 4];
/** A second 4-bit bundle calibrated on clipped ranges (export --percentile): min/max ranges are set
 *  by a few outliers, which at 15 levels leaves most activations a step or two. */
export const CLIP_PERCENTILE = 99.99;
export const QAT_BITS = 4;
/** Quantization-aware fine-tuning from the float model: epochs, and a learning rate well below the
 *  recipes' (at 0.01, adder LeNet-5 lost 0.3 points in its first QAT epoch; at 0.001 none). */
export const QAT_EPOCHS = 2;
export const QAT_LR = 0.001;

/** Per budget: epochs, and the training and test images of each model (null: all). */
const BUDGETS = {
  full: { epochs: EPOCHS, qatEpochs: QAT_EPOCHS, trainLimit: () => null, testLimit: null },
  quick: { epochs: EPOCHS, qatEpochs: QAT_EPOCHS, trainLimit: (model) => (model === 'mobile' ? 12000 : null), testLimit: null },
  // for test/experiments.test.ts: every step of the pipeline in seconds
  smoke: { epochs: 1, qatEpochs: 1, trainLimit: () => 512, testLimit: 200 },
};

/** The cells in the order they run: MNIST first (the questions are asked on it), LeNet-5 before mobile. */
export function gridCells(budget) {
  const b = BUDGETS[budget];
  if (!b) throw new Error(`unknown budget '${budget}' (one of: ${Object.keys(BUDGETS).join(', ')})`);
  const cells = [];
  for (const dataset of DATASETS) for (const model of MODELS) for (const op of OPS) {
    cells.push({ id: `${dataset}-${model}-${op}`, dataset, model, op, epochs: b.epochs, qatEpochs: b.qatEpochs, trainLimit: b.trainLimit(model), testLimit: b.testLimit });
  }
  return cells;
}
