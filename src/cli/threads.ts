import { availableParallelism } from "node:os";

export function availableThreads(): number {
  return Math.max(1, Math.min(availableParallelism(), 16));
}
