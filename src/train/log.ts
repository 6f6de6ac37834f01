// The JSONL training log: one line per epoch. A resumed run first drops lines past its checkpoint,
// so the log always matches the weights.
import { IoError } from "../io/errors.js";
import { fileExists, readFileChecked, writeFileAtomic } from "../io/files.js";

function lines(path: string): string[] {
  if (!fileExists(path)) return [];
  const text = new TextDecoder().decode(readFileChecked(path, "training log"));
  return text.split("\n").filter((line) => line.trim());
}

export function appendLog(path: string, record: Record<string, unknown>): void {
  const kept = lines(path);
  kept.push(JSON.stringify(record));
  writeFileAtomic(path, new TextEncoder().encode(kept.map((l) => l + "\n").join("")));
}

/** Keep only records with epoch ≤ `epoch` (all of them are dropped when starting fresh); a corrupt line is an error, not silently lost. */
export function truncateLog(path: string, epoch: number): void {
  const all = lines(path);
  if (!all.length) return;
  const kept = all.filter((line, i) => {
    let record: { epoch?: unknown };
    try {
      record = JSON.parse(line) as { epoch?: unknown };
    } catch {
      throw new IoError(`${path}: line ${i + 1} is not JSON; repair or delete the log`);
    }
    if (typeof record.epoch !== "number") throw new IoError(`${path}: line ${i + 1} has no epoch number; repair or delete the log`);
    return record.epoch <= epoch;
  });
  writeFileAtomic(path, new TextEncoder().encode(kept.map((l) => l + "\n").join("")));
}
