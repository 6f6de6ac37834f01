// A training run into a run directory, as `mulfree train` does it: resolve the options (the op
// kind's paper recipe for what is not given, or the stored options of the run being resumed), lock
// the directory, read the data and record it, train, and after every epoch write the checkpoint,
// the log line and, when the test accuracy improved, best.safetensors. A run that diverges stops
// with a TrainingDivergedError and keeps its last good checkpoint.
import { CheckpointError, loadCheckpoint, type Checkpoint } from "../train/checkpoint.js";
import { checkSameData, openData, type DataSource } from "../data/registry.js";
import { CIFAR_AUGMENT } from "../data/augment.js";
import { fileExists, writeFileAtomic } from "../io/files.js";
import { initRuntime } from "../kernels/runtime.js";
import { resolveSpec, type ModelSpec } from "../models/zoo.js";
import { checkModelFitsData } from "../train/load_model.js";
import { appendLog, truncateLog } from "../train/log.js";
import { RUN_FILES, RunDir, RunDirError } from "../train/run_dir.js";
import { continueRunOptions, parseRunOptions, resolveRunOptions, RunOptionsError, type RunOptions, type RunOptionsInput } from "../train/run_options.js";
import { Trainer, TrainingDivergedError, type EpochRecord, type TrainConfig, type TrainEvents } from "../train/trainer.js";

export interface TrainRequest extends RunOptionsInput {
  /** The run directory (default runs/<model>-<op>). */
  out?: string;
  /** Continue the run in `out` with its stored options (`epochs` may grow). */
  resume?: boolean;
  /** Start over in an `out` that holds a run, deleting its files. */
  force?: boolean;
  /** Threads for the kernels (does not change any result). */
  threads?: number;
}

export interface TrainStart {
  out: string;
  spec: ModelSpec;
  options: RunOptions;
  parameters: number;
  trainImages: number;
  testImages: number;
  /** Epochs already trained (a resumed run), else 0. */
  startEpoch: number;
  dataset: DataSource;
}

export interface TrainRunEvents {
  onStart?(s: TrainStart): void;
  onStep?: TrainEvents["onStep"];
  onEpoch?(r: EpochRecord, info: { best: boolean }): void;
}

export interface TrainResult {
  out: string;
  spec: ModelSpec;
  options: RunOptions;
  dataset: DataSource;
  history: EpochRecord[];
  /** Epochs trained by this call. */
  trained: EpochRecord[];
  bestEpoch: number | null;
  /** The files of the run directory, by role. */
  files: { checkpoint: string; model: string; best: string | null; log: string };
}

/** The directory a run writes to when none is given. */
export function defaultRunDir(model: string, op: string): string {
  return `runs/${model}-${op}`;
}

export function trainRun(req: TrainRequest, events: TrainRunEvents = {}): TrainResult {
  const { out: outGiven, resume, force, threads, ...given } = req;
  if (resume && force) throw new RunOptionsError("--resume and --force exclude each other");
  const from = given.from ? loadCheckpoint(given.from) : undefined;
  if (from) checkFromMatches(from, given);
  const out = outGiven ?? defaultRunDir(from?.spec.model ?? given.model ?? "lenet5", from?.spec.op ?? given.op ?? "conv");
  // everything that can be checked is checked before the directory is touched
  const storedPath = `${out}/${RUN_FILES.checkpoint}`;
  if (resume && !fileExists(storedPath)) throw new RunDirError(`--resume: no checkpoint at ${storedPath}`);
  const stored = resume ? loadCheckpoint(storedPath) : undefined;
  const options = stored ? resumedOptions(stored, given, storedPath) : resolveRunOptions(given, from?.spec);
  const dir = RunDir.open(out, { resume, force });
  try {
    initRuntime({ threads });
    const { train, test, source } = openData(options.data);
    if (stored?.dataset) {
      for (const split of ["train", "test"] as const) checkSameData(stored.dataset, source, split, dir.file("checkpoint"));
    }
    const spec = stored?.spec ?? from?.spec ?? resolveSpec({
      model: options.model, op: options.op, allLayers: options.allLayers, opOptions: options.opOptions,
      inChannels: source.shape[0], inputSize: source.shape[1], numClasses: source.classNames.length,
    });
    checkModelFitsData(spec, train!, `${spec.model} (${spec.op})`, `${source.name} training data`);
    checkModelFitsData(spec, test!, `${spec.model} (${spec.op})`, `${source.name} test data`);
    const trainer = new Trainer(trainConfig(spec, options, source), train!, test!, from);
    if (stored) trainer.resumeFrom(stored);
    const files = { checkpoint: dir.file("checkpoint"), model: dir.file("model"), best: dir.file("best"), log: dir.file("log") };
    truncateLog(files.log, trainer.epoch);
    const startEpoch = trainer.epoch;
    events.onStart?.({ out, spec, options, parameters: trainer.model.numParameters(), trainImages: train!.n, testImages: test!.n, startEpoch, dataset: source });
    let best = bestOf(trainer.history);
    try {
      trainer.run({
        onStep: events.onStep,
        onEpoch: (r, bytes) => {
          writeFileAtomic(files.checkpoint, bytes);
          appendLog(files.log, { ...r, time: new Date().toISOString() });
          const improved = best === null || r.testAccuracy > best.testAccuracy;
          if (improved) {
            writeFileAtomic(files.best, trainer.weightsBytes());
            best = r;
          }
          events.onEpoch?.(r, { best: improved });
        },
      });
    } catch (e) {
      if (e instanceof TrainingDivergedError) {
        const kept = trainer.epoch > 0 ? `the checkpoint of epoch ${trainer.epoch} (${files.checkpoint}) is kept` : "nothing was saved";
        throw new TrainingDivergedError(`training diverged: ${e.message}; ${kept}`);
      }
      throw e;
    }
    writeFileAtomic(files.model, trainer.weightsBytes());
    return {
      out, spec, options, dataset: source,
      history: trainer.history,
      trained: trainer.history.slice(startEpoch),
      bestEpoch: best?.epoch ?? null,
      files: { ...files, best: best ? files.best : null },
    };
  } finally {
    dir.close();
  }
}

/** The stored options of the run in `path`, with what the user gave checked against them. */
function resumedOptions(stored: Checkpoint, given: RunOptionsInput, path: string): RunOptions {
  const t = stored.training;
  if (!t) throw new CheckpointError(`${path}: holds weights only, no training state to resume`);
  if (!t.options) throw new CheckpointError(`${path}: was written by an older mulfree that did not store its run options; start a new run (--from ${path} starts from its weights)`);
  const options = continueRunOptions(parseRunOptions(t.options, path), given, path);
  if (options.epochs < t.epoch) throw new RunOptionsError(`--epochs ${options.epochs} is fewer than the ${t.epoch} epochs ${path} has already trained`);
  return options;
}

/** --from fixes the architecture; flags that name another one are a mistake, not a wish. */
function checkFromMatches(from: Checkpoint, given: RunOptionsInput): void {
  for (const key of ["model", "op"] as const) {
    if (given[key] !== undefined && given[key] !== from.spec[key]) {
      throw new RunOptionsError(`--${key} ${given[key]} conflicts with --from ${given.from}, a ${from.spec.model} (${from.spec.op}) model`);
    }
  }
}

function trainConfig(spec: ModelSpec, o: RunOptions, dataset: DataSource): TrainConfig {
  return {
    spec,
    epochs: o.epochs,
    batchSize: o.batch,
    optimizer: o.optimizer,
    lr: o.lr,
    momentum: o.momentum,
    nesterov: o.nesterov,
    weightDecay: o.weightDecay,
    schedule: o.schedule,
    milestones: o.milestones,
    gamma: o.gamma,
    seed: o.seed,
    augment: o.augment ? CIFAR_AUGMENT : null,
    preciseBn: o.preciseBn,
    qat: o.qat,
    options: o,
    dataset,
  };
}

function bestOf(history: readonly EpochRecord[]): EpochRecord | null {
  let best: EpochRecord | null = null;
  for (const r of history) if (best === null || r.testAccuracy > best.testAccuracy) best = r;
  return best;
}
