#!/usr/bin/env node
// The mulfree command line: `mulfree <command> [options]`.
import { formatHelp, parseArgs, UsageError } from "./args.js";
import { COMMANDS as commands } from "./commands/index.js";
import { reportError } from "./errors.js";
import { packageVersion } from "./version.js";

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
