#!/usr/bin/env node
// The mulfree command line: `mulfree <command> [options]`.
import { formatHelp, parseArgs, UsageError, type CommandSpec, type ParsedFlags } from "./args.js";
import { benchSpec, runBench } from "./commands/bench.js";
import { convertSpec, runConvert } from "./commands/convert.js";
import { evalSpec, runEval } from "./commands/eval.js";
import { exportSpec, runExport } from "./commands/export.js";
import { inspectSpec, runInspect } from "./commands/inspect.js";
import { opsSpec, runOps } from "./commands/ops.js";
import { plotSpec, runPlot } from "./commands/plot.js";
import { predictSpec, runPredict } from "./commands/predict.js";
import { runRun, runSpec } from "./commands/run.js";
import { runTrain, trainSpec } from "./commands/train.js";
import { runViz, vizSpec } from "./commands/viz.js";
import { reportError } from "./errors.js";
import { packageVersion } from "./version.js";

interface Command {
  spec: CommandSpec;
  run(flags: ParsedFlags, positionals: string[]): void | Promise<void>;
}

const commands: Command[] = [
  { spec: trainSpec, run: runTrain },
  { spec: evalSpec, run: runEval },
  { spec: convertSpec, run: runConvert },
  { spec: inspectSpec, run: runInspect },
  { spec: vizSpec, run: runViz },
  { spec: exportSpec, run: runExport },
  { spec: runSpec, run: runRun },
  { spec: predictSpec, run: runPredict },
  { spec: opsSpec, run: runOps },
  { spec: plotSpec, run: runPlot },
  { spec: benchSpec, run: runBench },
];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.spec.name.length));
  return [
    "mulfree: multiplication-free neural networks (AdderNet, DeepShift) with WebAssembly SIMD kernels",
    "",
    "usage: mulfree <command> [options]   (mulfree <command> --help for its options; mulfree --version)",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.spec.name.padEnd(width)}  ${c.spec.summary}`),
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  const json = argv.includes("--json");
  try {
    const [name, ...rest] = argv;
    if (name === "--version" || name === "-V" || name === "version") {
      process.stdout.write(`mulfree ${packageVersion()}\n`);
      return 0;
    }
    if (!name || name === "--help" || name === "-h" || name === "help") {
      process.stdout.write(usage() + "\n");
      return name ? 0 : 2;
    }
    const cmd = commands.find((c) => c.spec.name === name);
    if (!cmd) throw new UsageError(`unknown command '${name}'; commands: ${commands.map((c) => c.spec.name).join(", ")}`);
    const parsed = parseArgs(cmd.spec, rest);
    if (parsed.help) {
      process.stdout.write(formatHelp(cmd.spec) + "\n");
      return 0;
    }
    await cmd.run(parsed.flags, parsed.positionals);
    return 0;
  } catch (e) {
    return reportError(e, { debug, json });
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // workers are unref'd; nothing else keeps the process alive
});
