import { availableParallelism } from "node:os";
import type { ParsedFlags } from "./args.js";

export function availableThreads(): number {
  return Math.max(1, Math.min(availableParallelism(), 16));
}

/** --threads, or every core. */
export function threadsFrom(f: ParsedFlags): number {
  return f.threads === undefined ? availableThreads() : Number(f.threads);
}
