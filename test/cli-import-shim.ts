// `mulfree import` run the way src/cli/main.ts runs a command (flags, --help, one-line errors and
// exit codes), for tests while the command is not yet listed in src/cli/commands/index.ts.
import { formatHelp, parseArgs } from "../src/cli/args.js";
import { importSpec, runImport } from "../src/cli/commands/import.js";
import { reportError } from "../src/cli/errors.js";

const argv = process.argv.slice(2);
try {
  const parsed = parseArgs(importSpec, argv);
  if (parsed.help) process.stdout.write(formatHelp(importSpec) + "\n");
  else runImport(parsed.flags, parsed.positionals);
} catch (e) {
  process.exitCode = reportError(e, { debug: argv.includes("--debug"), json: argv.includes("--json") });
}
