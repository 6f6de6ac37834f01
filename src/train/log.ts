// The JSONL training log: one line per epoch. A resumed run first drops lines past its checkpoint,
// so the log always matches the weights.
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../io/files.js";

export function appendLog(path: string, record: Record<string, unknown>): void {
  const prev = existsSync(path) ? readFileSync(path, "utf8") : "";
  writeFileAtomic(path, new TextEncoder().encode(prev + JSON.stringify(record) + "\n"));
}

/** Keep only records with epoch ≤ `epoch` (all of them are dropped when starting fresh). */
export function truncateLog(path: string, epoch: number): void {
  if (!existsSync(path)) return;
  const kept = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        return (JSON.parse(line) as { epoch?: number }).epoch! <= epoch;
      } catch {
        return false;
      }
    });
  writeFileAtomic(path, new TextEncoder().encode(kept.map((l) => l + "\n").join("")));
}
