// Every command, in the order `mulfree --help` lists them.
import type { CommandSpec, ParsedFlags } from "../args.js";
import { benchSpec, runBench } from "./bench.js";
import { convertSpec, runConvert } from "./convert.js";
import { evalSpec, runEval } from "./eval.js";
import { exportSpec, runExport } from "./export.js";
import { importSpec, runImport } from "./import.js";
import { inspectSpec, runInspect } from "./inspect.js";
import { opsSpec, runOps } from "./ops.js";
import { plotSpec, runPlot } from "./plot.js";
import { predictSpec, runPredict } from "./predict.js";
import { runRun, runSpec } from "./run.js";
import { runTrain, trainSpec } from "./train.js";
import { runViz, vizSpec } from "./viz.js";

export interface Command {
  spec: CommandSpec;
  run(flags: ParsedFlags, positionals: string[]): void | Promise<void>;
}

export const COMMANDS: Command[] = [
  { spec: trainSpec, run: runTrain },
  { spec: evalSpec, run: runEval },
  { spec: convertSpec, run: runConvert },
  { spec: importSpec, run: runImport },
  { spec: inspectSpec, run: runInspect },
  { spec: vizSpec, run: runViz },
  { spec: exportSpec, run: runExport },
  { spec: runSpec, run: runRun },
  { spec: predictSpec, run: runPredict },
  { spec: opsSpec, run: runOps },
  { spec: plotSpec, run: runPlot },
  { spec: benchSpec, run: runBench },
];
