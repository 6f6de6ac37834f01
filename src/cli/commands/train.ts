import { modelNames } from "../../models/zoo.js";
import { opKinds } from "../../models/layer_factory.js";
import { Progress } from "../../train/progress.js";
import { describeRecipes } from "../../train/recipes.js";
import type { RunOptionsInput } from "../../train/run_options.js";
import { trainRun } from "../../tasks/train.js";
import type { CommandSpec, ParsedFlags } from "../args.js";
import { dataFlags, dataRequestFrom, datasetHelp } from "../data_flags.js";
import { CliError } from "../errors.js";
import { pct, printJson } from "../output.js";
import { shiftFlags, shiftOptionsFrom } from "../shift_flags.js";
import { threadsFrom } from "../threads.js";

const RECIPE = "default: the op's paper recipe, below";

export const trainSpec: CommandSpec = {
  name: "train",
  summary: "train a model and write checkpoints after every epoch",
  usage: "mulfree train [--model lenet5] [--op conv|adder|shift-q|shift-ps] [--dataset mnist] [--epochs N] [--out runs/NAME] [--resume | --force]",
  flags: {
    model: { type: "string", help: `architecture (default lenet5)`, choices: modelNames() },
    op: { type: "string", help: "op kind of the weight layers (default conv)", choices: opKinds() },
    ...dataFlags("train"),
    epochs: { type: "int", help: `number of epochs (${RECIPE})`, min: 1 },
    batch: { type: "int", help: `batch size (${RECIPE})`, min: 1 },
    optimizer: { type: "string", help: `optimizer (${RECIPE})`, choices: ["sgd", "adam", "adamw", "radam"] },
    lr: { type: "number", help: `initial learning rate (${RECIPE})`, above: 0 },
    momentum: { type: "number", help: `SGD momentum (${RECIPE})`, max: 0.999999 },
    nesterov: { type: "bool", help: "Nesterov momentum (SGD)" },
    "weight-decay": { type: "number", help: `L2 weight decay (${RECIPE})` },
    schedule: { type: "string", help: `learning-rate schedule (${RECIPE})`, choices: ["cosine", "multistep", "step", "constant"] },
    milestones: { type: "string", help: "multistep: comma-separated epochs, e.g. 80,120" },
    gamma: { type: "number", help: "multistep/step: decay factor (default 0.1)", above: 0 },
    augment: { type: "bool", help: "random crop + flip (default: on for cifar10)" },
    seed: { type: "int", help: "random seed (default 1)" },
    "precise-bn": { type: "int", negatable: true, help: "recompute BatchNorm statistics over N training batches before each evaluation (default: on for adder and shift, ≈8192 images); --no-precise-bn turns it off" },
    threads: { type: "int", help: "threads (default: all cores; results do not depend on it)", min: 1, max: 17 },
    out: { type: "string", help: "run directory (default runs/<model>-<op>)" },
    resume: { type: "bool", help: "continue the run in --out with its stored flags; a larger --epochs extends it" },
    force: { type: "bool", help: "start over in an --out that already holds a run (deletes its files)" },
    "all-layers": { type: "bool", help: "make the first and last layers use the op kind too" },
    from: { type: "string", help: "start from the weights of this checkpoint (e.g. one made by mulfree convert); its model spec is used" },
    qat: { type: "int", help: "quantization-aware training for `export --bits B`: inputs and weights on B-bit grids, straight-through gradients (use with --from and a smaller --lr to fine-tune)", min: 4, max: 8 },
    eta: { type: "number", help: "adder: η of the adaptive learning rate (default 0.2)", above: 0 },
    "adder-grad": { type: "string", help: "adder: gradient rule, paper (x − w, HardTanh) or sign (true derivative)", choices: ["paper", "sign"] },
    "adder-form": { type: "string", help: "adder: how the forward sum is computed, min (default, fast) or direct (term by term, as models trained before the min form)", choices: ["min", "direct"] },
    ...shiftFlags,
    quiet: { type: "bool", help: "no progress bar" },
  },
  epilog: [
    "op kinds: conv (multiply), adder (AdderNet, −Σ|x − w|), shift-q and shift-ps (DeepShift, weights ±2^p)",
    "",
    "datasets:",
    ...datasetHelp(),
    "",
    "default recipes (every flag you leave out), from the papers:",
    ...describeRecipes(["conv", "adder", "shift-q", "shift-ps"]),
    "",
    "--resume keeps every flag of the run; giving one with another value is an error. A larger --epochs",
    "extends a run: the schedule is rebuilt over the new total and continues at the epoch reached.",
  ],
};

/** Op-kind options from the flags; only the ones given are stored in the spec (the op kind refuses those it does not take). */
function opOptionsFrom(f: ParsedFlags): Record<string, unknown> | undefined {
  const o: Record<string, unknown> = shiftOptionsFrom(f);
  if (f.eta !== undefined) o.eta = f.eta;
  if (f.adderGrad !== undefined) o.grad = f.adderGrad;
  if (f.adderForm !== undefined) o.form = f.adderForm;
  return Object.keys(o).length ? o : undefined;
}

function milestonesFrom(v: unknown): number[] | undefined {
  if (v === undefined) return undefined;
  return String(v).split(",").map((s) => {
    const m = Number(s);
    if (!Number.isInteger(m) || m < 1) throw new CliError(`--milestones must be positive integers, got '${s}'`);
    return m;
  });
}

/** The flags the user gave, as run options (left out: undefined, so recipes and resume can tell). */
function runOptionsFrom(f: ParsedFlags): RunOptionsInput {
  const num = (v: unknown) => (v === undefined ? undefined : Number(v));
  const bool = (v: unknown) => (v === undefined ? undefined : v === true);
  const o: RunOptionsInput = {
    model: f.model as string | undefined,
    op: f.op as string | undefined,
    allLayers: f.allLayers === true ? true : undefined,
    opOptions: opOptionsFrom(f),
    from: f.from as string | undefined,
    data: dataRequestFrom(f),
    epochs: num(f.epochs),
    batch: num(f.batch),
    optimizer: f.optimizer as string | undefined,
    lr: num(f.lr),
    momentum: num(f.momentum),
    nesterov: bool(f.nesterov),
    weightDecay: num(f.weightDecay),
    schedule: f.schedule as string | undefined,
    milestones: milestonesFrom(f.milestones),
    gamma: num(f.gamma),
    seed: num(f.seed),
    augment: bool(f.augment),
    preciseBn: f.preciseBn === false ? 0 : num(f.preciseBn),
    qat: num(f.qat),
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as RunOptionsInput;
}

export function runTrain(f: ParsedFlags): void {
  const json = f.json === true;
  const talk = !json || process.stderr.isTTY;
  const progress = Progress.forStderr(!f.quiet);
  let epochs = 0;
  const result = trainRun(
    { ...runOptionsFrom(f), out: f.out as string | undefined, resume: f.resume === true, force: f.force === true, threads: threadsFrom(f) },
    {
      onStart: (s) => {
        epochs = s.options.epochs;
        if (s.startEpoch >= epochs) process.stderr.write(`${s.out}: already trained ${s.startEpoch} epochs\n`);
        else if (talk) {
          const resumed = s.startEpoch > 0 ? `, resuming after epoch ${s.startEpoch}` : "";
          process.stderr.write(
            `training ${s.spec.model} (${s.spec.op}, ${s.parameters} parameters) on ${s.dataset.name}: ${s.trainImages} train / ${s.testImages} test images${resumed}\n` +
              `  ${s.options.epochs} epochs, batch ${s.options.batch}, ${s.options.optimizer} lr ${s.options.lr}, ${s.options.schedule}` +
              `${s.options.preciseBn ? `, PreciseBN over ${s.options.preciseBn} batches` : ""}${s.options.qat ? `, ${s.options.qat}-bit quantization-aware` : ""}, into ${s.out}\n`,
          );
        }
      },
      onStep: (s) => progress.update({ ...s, epochs }),
      onEpoch: (r, { best }) => {
        progress.done();
        const running = r.testAccuracyRunningStats === undefined ? "" : ` (running BN stats ${pct(r.testAccuracyRunningStats)})`;
        process.stdout.write(`epoch ${r.epoch}/${epochs}  loss ${r.trainLoss.toFixed(4)}  test ${pct(r.testAccuracy)}${running}${best ? " *" : ""}  ${Math.round(r.imagesPerSecond)} img/s  lr ${r.lr.toPrecision(3)}  ${r.seconds.toFixed(1)}s\n`);
      },
    },
  );
  const last = result.history[result.history.length - 1];
  const written = [result.files.checkpoint, result.files.model, ...(result.files.best ? [result.files.best] : []), result.files.log];
  process.stdout.write(`wrote ${written.join(", ")}${result.bestEpoch ? ` (best: epoch ${result.bestEpoch})` : ""}\n`);
  if (json) {
    const ips = result.trained.length ? result.trained.reduce((s, h) => s + h.imagesPerSecond, 0) / result.trained.length : 0;
    printJson({
      command: "train",
      model: result.spec.model,
      op: result.spec.op,
      spec: result.spec,
      dataset: result.dataset.name,
      epochs: result.history.length,
      testAccuracy: last?.testAccuracy ?? null,
      ...(last?.testAccuracyRunningStats !== undefined ? { testAccuracyRunningStats: last.testAccuracyRunningStats } : {}),
      bestEpoch: result.bestEpoch,
      imagesPerSecond: ips,
      trainLoss: last?.trainLoss ?? null,
      out: result.out,
      checkpoint: result.files.checkpoint,
      files: result.files,
      options: result.options,
      history: result.history,
    });
  }
}
