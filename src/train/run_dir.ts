// A run directory: its files, the rule against silently overwriting a finished run, and a lock so
// that two processes never train into the same directory at once.
//
// The lock is a file `.lock` created exclusively (O_EXCL) and holding the owner's pid and host. A
// lock whose process no longer exists on this host (a run killed with SIGKILL) is stale and is
// taken over, so a killed run can always be resumed.
import { IoError } from "../io/errors.js";
import { makeDirectory } from "../io/directory.js";
import { nodeBuiltin } from "../kernels/runtime.js";

export const RUN_FILES = {
  /** Weights + optimizer + everything a resume needs, after every epoch. */
  checkpoint: "checkpoint.safetensors",
  /** The final weights alone (for eval, export, sharing). */
  model: "model.safetensors",
  /** The weights of the epoch with the best test accuracy. */
  best: "best.safetensors",
  /** One JSON line per epoch. */
  log: "log.jsonl",
  lock: ".lock",
} as const;

export class RunDirError extends Error {}

type Fs = typeof import("node:fs");

function node(): { fs: Fs; path: typeof import("node:path"); os: typeof import("node:os") } {
  const fs = nodeBuiltin<Fs>("node:fs"), path = nodeBuiltin<typeof import("node:path")>("node:path"), os = nodeBuiltin<typeof import("node:os")>("node:os");
  if (!fs || !path || !os) throw new IoError("run directories need Node");
  return { fs, path, os };
}

interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class RunDir {
  private locked = false;
  private readonly onExit = () => this.release();

  private constructor(readonly dir: string, private readonly created: string[]) {}

  /**
   * Create (if needed) and lock `dir`. A directory that already holds a run is refused unless
   * `resume` (continue it) or `force` (delete its run files and start over).
   */
  static open(dir: string, options: { resume?: boolean; force?: boolean } = {}): RunDir {
    const run = new RunDir(dir, makeDirectory(dir));
    run.lock();
    try {
      const existing = run.existingRunFiles();
      if (options.resume) {
        if (!existing.includes(RUN_FILES.checkpoint)) throw new RunDirError(`--resume: no checkpoint at ${run.file("checkpoint")}`);
      } else if (existing.length) {
        if (!options.force) {
          throw new RunDirError(`${dir} already holds a run (${existing.join(", ")}); add --resume to continue it, --force to start it over, or choose another --out`);
        }
        const { fs } = node();
        for (const f of existing) fs.rmSync(run.join(f), { force: true });
      }
    } catch (e) {
      run.close();
      throw e;
    }
    return run;
  }

  join(name: string): string {
    return node().path.join(this.dir, name);
  }

  file(kind: keyof typeof RUN_FILES): string {
    return this.join(RUN_FILES[kind]);
  }

  private existingRunFiles(): string[] {
    const { fs } = node();
    return [RUN_FILES.checkpoint, RUN_FILES.model, RUN_FILES.best, RUN_FILES.log].filter((f) => fs.existsSync(this.join(f)));
  }

  private lock(): void {
    const { fs, os } = node();
    const path = this.file("lock");
    const mine: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(path, JSON.stringify(mine), { flag: "wx" });
        this.locked = true;
        process.once("exit", this.onExit);
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EEXIST") throw new IoError(`cannot write in ${this.dir}: ${code === "EACCES" || code === "EPERM" ? "permission denied" : (e as Error).message}`);
      }
      const owner = readLock(fs, path);
      if (!owner && Date.now() - (fs.statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 5000) {
        throw new RunDirError(`${this.dir} is being locked by another mulfree process right now; try again`);
      }
      if (owner && owner.host === mine.host && alive(owner.pid)) {
        throw new RunDirError(`${this.dir} is in use by another mulfree process (pid ${owner.pid}, since ${owner.started}); wait for it or choose another --out`);
      }
      if (owner && owner.host !== mine.host) {
        throw new RunDirError(`${this.dir} is locked by a process on host ${owner.host} (pid ${owner.pid}); if it is gone, delete ${path}`);
      }
      fs.rmSync(path, { force: true }); // stale: its process is gone
    }
    throw new RunDirError(`${this.dir}: another process took the lock at the same moment; try again`);
  }

  /** Drop the lock, and remove the directories open() created if nothing was written in them (a run that failed before its first epoch). */
  close(): void {
    this.release();
    const { fs } = node();
    for (const d of [...this.created].reverse()) {
      try {
        fs.rmdirSync(d);
      } catch {
        return; // not empty: something was written, keep it
      }
    }
  }

  /** Drop the lock (also done on process exit). */
  release(): void {
    if (!this.locked) return;
    this.locked = false;
    process.removeListener("exit", this.onExit);
    try {
      node().fs.rmSync(this.file("lock"), { force: true });
    } catch {
      /* the directory is gone: nothing to release */
    }
  }
}

function readLock(fs: Fs, path: string): LockInfo | null {
  try {
    const v = JSON.parse(fs.readFileSync(path, "utf8")) as LockInfo;
    return Number.isSafeInteger(v.pid) && typeof v.host === "string" ? v : null;
  } catch {
    return null; // unreadable or half-written: treat as stale
  }
}
