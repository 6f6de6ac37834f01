import type { BackendName } from "../../deploy/run/runner.js";
import { runBundle } from "../../tasks/run_bundle.js";
import type { CommandSpec, ParsedFlags } from "../args.js";
import { dataFlags, dataRequestFrom } from "../data_flags.js";
import { pct, printJson } from "../output.js";
import { threadsFrom } from "../threads.js";

export const runSpec: CommandSpec = {
  name: "run",
  summary: "test accuracy and speed of an integer deployment bundle (from mulfree export), on its recorded test data",
  usage: "mulfree run MODEL.mulfree.safetensors [--test-limit N] [--batch 256] [--threads T] [--backend wasm|reference] [--json]",
  positionals: ["model"],
  flags: {
    ...dataFlags("test"),
    batch: { type: "int", help: "images per predict() call", default: 256, min: 1 },
    threads: { type: "int", help: "threads (default: all cores; wasm backend only)", min: 1, max: 17 },
    backend: { type: "string", help: "wasm (SIMD kernels) or reference (plain TypeScript loops, bit-identical, slow)", default: "wasm", choices: ["wasm", "reference"] },
  },
};

export function runRun(f: ParsedFlags, [path]: string[]): void {
  const data = dataRequestFrom(f);
  const r = runBundle(path!, {
    data: data && { ...data, testLimit: undefined }, limit: f.testLimit as number | undefined, otherData: f.otherData === true,
    batch: Number(f.batch), threads: threadsFrom(f), backend: String(f.backend) as BackendName,
  });
  if (r.note) process.stderr.write(`note: ${r.note}\n`);
  const what = r.model ? `${r.model}${r.op ? ` (${r.op})` : ""}, ` : "";
  process.stdout.write(
    `${path}: ${what}integer ${r.backend} backend, ${r.backend === "wasm" ? `${r.threads} thread${r.threads === 1 ? "" : "s"}, ` : ""}batch ${r.batch}\n` +
      `${r.dataset.name} test: ${pct(r.testAccuracy)} (${r.correct}/${r.total}), ${Math.round(r.imagesPerSecond)} img/s\n`,
  );
  if (f.json) {
    printJson({ command: "run", model: path, dataset: r.dataset.name, backend: r.backend, threads: r.threads, batch: r.batch, testAccuracy: r.testAccuracy, correct: r.correct, total: r.total, imagesPerSecond: r.imagesPerSecond, source: r.source });
  }
}
