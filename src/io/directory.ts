// Creating output directories. Node's mkdirSync(p, { recursive: true }) never returns for some
// paths under /proc (it retries forever on ENOENT from procfs), so parents are made one at a time
// from the nearest existing ancestor, and each step either succeeds or fails with a clear error.
import { nodeBuiltin } from "../kernels/runtime.js";
import { IoError } from "./errors.js";

/** `mkdir -p`: create `dir` and its missing parents; returns the directories created, outermost first. */
export function makeDirectory(dir: string): string[] {
  const fs = nodeBuiltin<typeof import("node:fs")>("node:fs");
  const path = nodeBuiltin<typeof import("node:path")>("node:path");
  if (!fs || !path) throw new IoError("creating directories needs Node (node:fs)");
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    const stat = fs.statSync(at, { throwIfNoEntry: false });
    if (stat) {
      if (!stat.isDirectory()) throw new IoError(`cannot create directory ${dir}: ${at} is not a directory`);
      break;
    }
    missing.push(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  const created: string[] = [];
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
      created.push(d);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === "EEXIST" && fs.statSync(d, { throwIfNoEntry: false })?.isDirectory()) continue;
      const why = err.code === "EACCES" || err.code === "EPERM" ? "permission denied" : err.code === "ENOENT" ? "the file system does not allow it" : err.message;
      throw new IoError(`cannot create directory ${dir}: ${why}`);
    }
  }
  return created;
}
