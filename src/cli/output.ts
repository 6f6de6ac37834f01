// stdout helpers: human lines, and with --json one JSON object as the very last line.

export function printJson(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

export function pct(x: number, digits = 2): string {
  return `${(100 * x).toFixed(digits)}%`;
}
