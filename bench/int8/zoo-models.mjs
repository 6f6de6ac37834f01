// Zoo models for the int8 benchmarks (zoo.mjs, ab-zoo.mjs): random weights with BatchNorm statistics
// of live values (train-mode passes over random images, so every activation range is calibrated on
// live values), and the int8 adder bundle that `mulfree export` would write for them.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from '../lib/stats.mjs';

/**
 * The options the zoo benchmarks share: --dist (or $MULFREE_DIST, default the repository's dist/),
 * --models, --batch 64, --threads 1,2, --rounds 5, --ms 400, --warmup-ms 800; `opts` has the rest.
 */
export function zooBenchOptions(argv, defaultModels) {
  const opts = parseArgs(argv);
  return {
    opts,
    dist: path.resolve(opts.dist ?? process.env.MULFREE_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url))),
    modelNames: (opts.models ?? defaultModels).split(','),
    batch: Number(opts.batch ?? 64),
    threadList: (opts.threads ?? '1,2').split(',').map(Number),
    rounds: Number(opts.rounds ?? 5),
    minMs: Number(opts.ms ?? 400),
    warmupMs: Number(opts['warmup-ms'] ?? 800),
  };
}

/** n images of `size` values in [0, 1) from a fixed LCG. */
export function randomImages(n, size, seed) {
  const x = new Float32Array(n * size);
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) x[i] = (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  return x;
}

/** The normalization the benchmarks use: (v − 0.5) / 0.25 on every channel. */
export const normalize = (v) => (v - 0.5) / 0.25;

/** liveModel and adderBundle over the build in `dist`. */
export async function zooModels(dist) {
  const load = (p) => import(pathToFileURL(path.join(path.resolve(dist), p)).href);
  const { createModel, resolveSpec } = await load('src/models/zoo.js');
  const { manualSeed } = await load('src/tensor/random.js');
  const { Tensor } = await load('src/tensor/tensor.js');
  const { noGrad } = await load('src/tensor/autograd.js');
  const { scope } = await load('src/tensor/storage.js');
  const { exportBundle } = await load('src/deploy/export/export_bundle.js');
  const { BatchNormBase } = await load('src/nn/batchnorm.js');

  /**
   * A random zoo model (seed) with BatchNorm statistics of live values, in eval mode: the plain
   * average of 20 batches' statistics (momentum 1/i, as PreciseBN). With the default momentum
   * (0.1) the running means of the adder layers' large negative outputs stay short of their batch
   * means, and every image then gives the same logits.
   */
  function liveModel(name, op, shape, seed) {
    manualSeed(seed);
    const model = createModel(resolveSpec({ model: name, op }));
    const n = 32, size = shape[0] * shape[1] * shape[2];
    const x = Tensor.empty([n, ...shape], true);
    const norms = model.namedModules().map(([, m]) => m).filter((m) => m instanceof BatchNormBase);
    model.train();
    noGrad(() => {
      for (let step = 0; step < 20; step++) {
        for (const bn of norms) bn.momentum = 1 / (step + 1);
        x.data.set(randomImages(n, size, seed * 100 + step).map(normalize));
        scope(() => model.forward(x));
      }
    });
    for (const bn of norms) bn.momentum = 0.1;
    x.dispose();
    model.eval();
    return model;
  }

  /** The int8 bundle of a live adder model (seed 1), calibrated on 128 random images. */
  function adderBundle(name, shape) {
    const adder = liveModel(name, 'adder', shape, 1);
    const size = shape[0] * shape[1] * shape[2];
    const calib = randomImages(128, size, 7).map(normalize);
    const norm = { mean: Array(shape[0]).fill(0.5), std: Array(shape[0]).fill(0.25) };
    return exportBundle(adder, calib, 128, shape, norm, { model: name, op: 'adder', note: 'random weights' }, `${name}-adder`).bytes;
  }

  /** The [C, H, W] input of a zoo model. */
  function inputShape(name) {
    const spec = resolveSpec({ model: name, op: 'adder' });
    return [spec.inChannels, spec.inputSize, spec.inputSize];
  }

  return { liveModel, adderBundle, inputShape };
}
