// `mulfree viz features`: the AdderNet paper's Figure 1. Trains the 2-D-feature LeNet on MNIST
// once with conv layers and once with adder layers, then plots the test-set features of both
// side by side (SVG through vega-lite, PNG through resvg).
import { Progress } from "../../train/progress.js";
import { featuresFigure } from "../../tasks/viz_features.js";
import type { CommandSpec, ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import { pct, printJson } from "../output.js";
import { threadsFrom } from "../threads.js";

const VISUALISATIONS = ["features"];

export const vizSpec: CommandSpec = {
  name: "viz",
  summary: "visualisations; 'features' reproduces AdderNet's Figure 1 (2-D features, conv vs adder)",
  usage: "mulfree viz features [--out DIR] [--epochs 3]",
  positionals: ["visualisation"],
  flags: {
    out: { type: "string", help: "output directory for features.svg, features.png and features.json", default: "viz" },
    epochs: { type: "int", help: "training epochs of each network", default: 3, min: 1 },
    batch: { type: "int", help: "batch size", default: 128, min: 1 },
    lr: { type: "number", help: "initial learning rate (cosine schedule)", default: 0.1, above: 0 },
    eta: { type: "number", help: "adder: η of the adaptive learning rate", default: 0.2, above: 0 },
    seed: { type: "int", help: "random seed", default: 1 },
    recalibrate: { type: "bool", help: "recompute BatchNorm statistics for the final weights (PreciseBN; default on; --no-recalibrate plots with the running statistics)" },
    "train-limit": { type: "int", help: "use only the first N training images", min: 1 },
    "test-limit": { type: "int", help: "plot only the first N test images", min: 1 },
    threads: { type: "int", help: "threads (default: all cores)", min: 1, max: 17 },
    quiet: { type: "bool", help: "no progress bar" },
  },
};

export async function runViz(f: ParsedFlags, [what]: string[]): Promise<void> {
  if (!VISUALISATIONS.includes(what!)) throw new CliError(`viz: unknown visualisation '${what}'; valid: ${VISUALISATIONS.join(", ")}`);
  const json = f.json === true;
  const progress = Progress.forStderr(!f.quiet);
  let epochs = 0;
  const r = await featuresFigure(
    {
      out: String(f.out), epochs: Number(f.epochs), batch: Number(f.batch), lr: Number(f.lr), eta: Number(f.eta), seed: Number(f.seed),
      recalibrate: f.recalibrate !== false, trainLimit: f.trainLimit as number | undefined, testLimit: f.testLimit as number | undefined, threads: threadsFrom(f),
    },
    {
      onNetwork: (op, n) => {
        epochs = n;
        if (!json || process.stderr.isTTY) process.stderr.write(`training the 2-D-feature LeNet with ${op} layers for ${n} epochs\n`);
      },
      onStep: (s) => progress.update({ ...s, epochs }),
      onEpoch: (op, e) => {
        progress.done();
        process.stdout.write(`${op}: epoch ${e.epoch}/${epochs}  loss ${e.trainLoss.toFixed(4)}  test ${pct(e.testAccuracy)}  ${Math.round(e.imagesPerSecond)} img/s\n`);
      },
    },
  );
  process.stdout.write(`wrote ${r.files.svg}, ${r.files.png} and ${r.files.data}\n`);
  if (json) printJson({ command: "viz", visualisation: what, accuracy: r.accuracy, files: r.files });
}
