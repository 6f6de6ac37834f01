import type { CommandSpec, ParsedFlags } from "../args.js";

export const runSpec: CommandSpec = {
  name: "run",
  summary: "(in progress)",
  usage: "mulfree run",
  positionals: [],
  flags: {},
};

export function runRun(_f: ParsedFlags, _p: string[]): void {
  throw new Error("mulfree run: not implemented yet");
}
