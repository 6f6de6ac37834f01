import { evaluateCheckpoint } from "../../tasks/evaluate.js";
import type { CommandSpec, ParsedFlags } from "../args.js";
import { dataFlags, dataRequestFrom } from "../data_flags.js";
import { pct, printJson } from "../output.js";
import { threadsFrom } from "../threads.js";

export const evalSpec: CommandSpec = {
  name: "eval",
  summary: "test accuracy of a checkpoint, on the test data it recorded",
  usage: "mulfree eval CHECKPOINT [--test-limit N] [--json]",
  positionals: ["checkpoint"],
  flags: {
    ...dataFlags("test"),
    batch: { type: "int", help: "batch size (activations of the whole batch stay in wasm memory: lower it for big models)", default: 256, min: 1 },
    threads: { type: "int", help: "threads (default: all cores)", min: 1, max: 17 },
  },
};

export function runEval(f: ParsedFlags, [path]: string[]): void {
  const data = dataRequestFrom(f);
  const r = evaluateCheckpoint(path!, { data: data && { ...data, testLimit: undefined }, limit: f.testLimit as number | undefined, otherData: f.otherData === true, batch: Number(f.batch), threads: threadsFrom(f) });
  if (r.note) process.stderr.write(`note: ${r.note}\n`);
  process.stdout.write(`${r.spec.model} (${r.spec.op}) on ${r.dataset.name} test: ${pct(r.testAccuracy)} (${r.correct}/${r.total}), ${Math.round(r.imagesPerSecond)} img/s\n`);
  if (f.json) {
    printJson({ command: "eval", checkpoint: path, model: r.spec.model, op: r.spec.op, dataset: r.dataset.name, testAccuracy: r.testAccuracy, correct: r.correct, total: r.total, epochs: r.epochs, imagesPerSecond: r.imagesPerSecond });
  }
}
