import type { CommandSpec, ParsedFlags } from "../args.js";

export const exportSpec: CommandSpec = {
  name: "export",
  summary: "(in progress)",
  usage: "mulfree export",
  positionals: [],
  flags: {},
};

export function runExport(_f: ParsedFlags, _p: string[]): void {
  throw new Error("mulfree export: not implemented yet");
}
