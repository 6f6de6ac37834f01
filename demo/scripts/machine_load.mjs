// How busy the machine is apart from us (Linux /proc): busy cores of the whole machine minus those
// of this process and its descendants (the browser it launched). A benchmark waits for a quiet
// machine before it starts, and reports the load that other programs added while it ran.
import { readdirSync, readFileSync } from "node:fs";

const TICKS = 100;  // USER_HZ: /proc counts CPU time in 1/100 s

function machineBusyTicks() {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = cpu;
  return user + nice + system + irq + softirq + steal;
}

/** CPU ticks of `root` and of every process under it, by pid. */
function treeTicks(root) {
  const procs = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // fields after the command name (which may hold spaces): state ppid … utime(14) stime(15)
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      procs.push({ pid: Number(d), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the process ended while we looked
    }
  }
  const ours = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) if (!ours.has(p.pid) && ours.has(p.ppid)) (ours.add(p.pid), (grew = true));
  }
  return new Map(procs.filter((p) => ours.has(p.pid)).map((p) => [p.pid, p.ticks]));
}

/** Our ticks since `before`, counted per process: one that ended meanwhile must not make ours negative. */
function ticksSince(before, now) {
  let sum = 0;
  for (const [pid, t] of now) sum += t - (before.get(pid) ?? 0);
  return sum;
}

/** Starts counting; the returned function gives the cores that other programs kept busy since. */
export function otherLoad() {
  const t0 = performance.now(), m0 = machineBusyTicks(), o0 = treeTicks(process.pid);
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const other = machineBusyTicks() - m0 - ticksSince(o0, treeTicks(process.pid));
    return Math.max(0, other / TICKS / seconds);
  };
}

/** Wait until other programs keep less than `threshold` cores busy over 2 s, for at most `maxMs`; returns the last load seen. */
export async function waitForQuiet(threshold, maxMs, log = () => {}) {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const load = otherLoad();
    await new Promise((r) => setTimeout(r, 2000));
    const l = load();
    if (l < threshold || Date.now() > deadline) return l;
    log(`waiting for a quiet machine: other programs keep ${l.toFixed(2)} cores busy`);
  }
}
