import type { CommandSpec, ParsedFlags } from "../args.js";

export const opsSpec: CommandSpec = {
  name: "ops",
  summary: "(in progress)",
  usage: "mulfree ops",
  positionals: [],
  flags: {},
};

export function runOps(_f: ParsedFlags, _p: string[]): void {
  throw new Error("mulfree ops: not implemented yet");
}
