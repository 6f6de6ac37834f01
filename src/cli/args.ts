// A small declarative flag parser: each command lists its flags with type and help, and every
// value is validated here so that commands only see clean, typed options.

export class UsageError extends Error {}

export type FlagType = "string" | "int" | "number" | "bool";

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: string | number | boolean;
  /** For numbers: the smallest allowed value (inclusive). Numbers are ≥ 0 unless said otherwise. */
  min?: number;
  /** Exclusive lower bound, e.g. 0 for learning rates. */
  above?: number;
  max?: number;
  choices?: readonly string[];
  short?: string;
  /** A valued flag that `--no-<name>` turns off (its value is then false). */
  negatable?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Names of positional arguments, in order; a trailing '?' marks optional ones. */
  positionals?: string[];
  /** Lines printed after the options in --help. */
  epilog?: string[];
}

export type ParsedFlags = Record<string, string | number | boolean | undefined>;

export interface Parsed {
  flags: ParsedFlags;
  positionals: string[];
  help: boolean;
}

export const commonFlags: Record<string, FlagSpec> = {
  json: { type: "bool", help: "print one JSON object as the last line of stdout" },
  debug: { type: "bool", help: "show stack traces on errors" },
  help: { type: "bool", help: "show this help", short: "h" },
};

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function parseArgs(spec: CommandSpec, argv: string[]): Parsed {
  const all = { ...spec.flags, ...commonFlags };
  const byShort = new Map<string, string>(Object.entries(all).filter(([, f]) => f.short).map(([n, f]) => [f.short!, n]));
  const flags: ParsedFlags = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let value: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      value = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else {
      name = byShort.get(arg.slice(1)) ?? arg.slice(1);
    }
    let negate = false;
    // own keys only: '--constructor' or '--__proto__' must not find Object.prototype's members
    const has = (n: string) => Object.prototype.hasOwnProperty.call(all, n);
    if (!has(name) && name.startsWith("no-") && has(name.slice(3)) && (all[name.slice(3)]!.type === "bool" || all[name.slice(3)]!.negatable)) {
      name = name.slice(3);
      negate = true;
    }
    const f = has(name) ? all[name] : undefined;
    if (!f) throw new UsageError(`unknown option --${name} for '${spec.name}' (see mulfree ${spec.name} --help)`);
    if (negate && f.type !== "bool") {
      if (value !== undefined) throw new UsageError(`--no-${name} takes no value`);
      flags[camel(name)] = false;
      continue;
    }
    if (f.type === "bool") {
      if (value !== undefined && !["true", "false", "1", "0"].includes(value)) throw new UsageError(`--${name} takes no value, got '${value}'`);
      flags[camel(name)] = negate ? false : value === undefined ? true : value === "true" || value === "1";
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i];
    }
    flags[camel(name)] = convert(name, f, value);
  }
  for (const [name, f] of Object.entries(all)) {
    const key = camel(name);
    if (flags[key] === undefined && f.default !== undefined) flags[key] = f.default;
  }
  const help = flags.help === true;
  const wanted = spec.positionals ?? [];
  if (!help) {
    const required = wanted.filter((p) => !p.endsWith("?")).length;
    if (positionals.length < required) throw new UsageError(`'${spec.name}' needs ${wanted.filter((p) => !p.endsWith("?")).join(" ")}; usage: ${spec.usage}`);
    if (positionals.length > wanted.length) throw new UsageError(`unexpected argument '${positionals[wanted.length]}'; usage: ${spec.usage}`);
  }
  return { flags, positionals, help };
}

function convert(name: string, f: FlagSpec, raw: string): string | number {
  if (f.type === "string") {
    if (f.choices && !f.choices.includes(raw)) throw new UsageError(`--${name} must be one of ${f.choices.join(", ")}; got '${raw}'`);
    if (raw === "") throw new UsageError(`--${name} must not be empty`);
    return raw;
  }
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(v)) throw new UsageError(`--${name} must be a number, got '${raw}'`);
  if (f.type === "int" && !Number.isInteger(v)) throw new UsageError(`--${name} must be an integer, got '${raw}'`);
  const min = f.min ?? 0;
  if (v < min) throw new UsageError(`--${name} must be at least ${min}, got ${raw}`);
  if (f.above !== undefined && !(v > f.above)) throw new UsageError(`--${name} must be greater than ${f.above}, got ${raw}`);
  if (f.max !== undefined && v > f.max) throw new UsageError(`--${name} must be at most ${f.max}, got ${raw}`);
  return v;
}

export function formatHelp(spec: CommandSpec): string {
  const lines = [`mulfree ${spec.name}: ${spec.summary}`, "", `usage: ${spec.usage}`, "", "options:"];
  const all = { ...spec.flags, ...commonFlags };
  const width = Math.max(...Object.entries(all).map(([n, f]) => n.length + (f.type === "bool" ? 0 : 6)));
  for (const [n, f] of Object.entries(all)) {
    const left = `--${n}${f.type === "bool" ? "" : ` <${f.type === "string" ? "str" : f.type === "int" ? "int" : "num"}>`}`;
    const extra = [f.choices ? `one of: ${f.choices.join(", ")}` : "", f.default !== undefined && f.type !== "bool" ? `default ${f.default}` : ""].filter(Boolean).join("; ");
    lines.push(`  ${left.padEnd(width + 4)}  ${f.help}${extra ? ` (${extra})` : ""}`);
  }
  if (spec.epilog) lines.push("", ...spec.epilog);
  return lines.join("\n");
}
