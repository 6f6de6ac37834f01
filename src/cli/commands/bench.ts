import type { CommandSpec, ParsedFlags } from "../args.js";

export const benchSpec: CommandSpec = {
  name: "bench",
  summary: "(in progress)",
  usage: "mulfree bench",
  positionals: [],
  flags: {},
};

export function runBench(_f: ParsedFlags, _p: string[]): void {
  throw new Error("mulfree bench: not implemented yet");
}
