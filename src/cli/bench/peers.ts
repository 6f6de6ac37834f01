// The comparison runtimes (onnxruntime-node, onnxruntime-web, tfjs-wasm) live in the separate
// bench/ package of a repository checkout, never in mulfree's dependencies: this file finds that
// package next to the installed mulfree and runs each peer configuration in its own child
// process (`node bench/lib/job.mjs SPEC`, which prints its result as JSON), as bench/infer.mjs does.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spend, type Summary, type WaitBudget } from "./measure.js";

export const PEER_ENGINES = ["ort-node", "ort-web", "tfjs-wasm"] as const;
export type PeerEngine = (typeof PEER_ENGINES)[number];

/** The npm packages each peer needs in bench/node_modules, and its job kind in bench/lib/job.mjs. */
const PEERS: Record<PeerEngine, { packages: string[]; job: string }> = {
  "ort-node": { packages: ["onnxruntime-node"], job: "ort-node-infer" },
  "ort-web": { packages: ["onnxruntime-web"], job: "ort-web-infer" },
  "tfjs-wasm": { packages: ["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"], job: "tfjs-infer" },
};

export const INSTALL_HINT = "the peers (onnxruntime-node, onnxruntime-web, tfjs-wasm) are not installed: in a checkout of the mulfree repository run `cd bench && npm ci`";

/** dist/src/cli/bench/peers.js → the checkout's bench/ folder (present only in a repository checkout). */
export function benchPackageDir(): string {
  return resolve(fileURLToPath(new URL("../../../../bench/", import.meta.url)));
}

/** Which peers can run, and why the others cannot. */
export function peerAvailability(dir: string, wanted: readonly PeerEngine[]): { ready: PeerEngine[]; missing: Array<{ peer: PeerEngine; why: string }> } {
  const ready: PeerEngine[] = [];
  const missing: Array<{ peer: PeerEngine; why: string }> = [];
  const hasJob = existsSync(join(dir, "lib", "job.mjs"));
  for (const peer of wanted) {
    const absent = PEERS[peer].packages.filter((p) => !existsSync(join(dir, "node_modules", p, "package.json")));
    if (!hasJob) missing.push({ peer, why: `no bench package at ${dir}` });
    else if (absent.length) missing.push({ peer, why: `${absent.join(", ")} not in ${join(dir, "node_modules")}` });
    else ready.push(peer);
  }
  return { ready, missing };
}

/** LeNet-5-BN as ONNX (opset 13), from the fp32 safetensors, by the bench package's own writer. */
export function writeOnnx(dir: string, weights: string, onnx: string): void {
  try {
    execFileSync(process.execPath, [join(dir, "lib", "onnx.mjs"), weights, onnx], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer }).stderr ?? "").trim().split("\n").filter(Boolean);
    throw new Error(`bench/lib/onnx.mjs could not write the ONNX model: ${stderr[stderr.length - 1] ?? (e as Error).message}`);
  }
}

export interface PeerResult {
  batch: number;
  imgPerSec: Summary;
  msPerCall: Summary;
  cpuPerWall: number;
  otherLoad: number;
  retries: number;
  /** Logits against the bench package's plain-JS reference forward of the same weights. */
  check?: { maxAbs: number; maxRel: number };
}

export interface PeerJob {
  peer: PeerEngine;
  threads: number;
  batches: number[];
  weights: string;
  onnx: string;
  repeats: number;
  minMs: number;
  warmupMs: number;
}

const TAG = "@@RESULT ";

/** Run one peer configuration in a child process; the child may wait what is left of the budget. */
export function runPeer(dir: string, job: PeerJob, budget: WaitBudget): Promise<PeerResult[]> {
  const spec = {
    kind: PEERS[job.peer].job, threads: job.threads, batches: job.batches, weights: job.weights, onnx: job.onnx,
    repeats: job.repeats, minMs: job.minMs, warmupMs: job.warmupMs, waitBudgetMs: budget.left,
  };
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(dir, "lib", "job.mjs"), JSON.stringify(spec)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => {
      err += d;
      process.stderr.write(d); // the child's progress lines
    });
    child.on("error", fail);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith(TAG));
      if (code === 0 && line) {
        const r = JSON.parse(line.slice(TAG.length)) as { results: PeerResult[]; waitedMs?: number };
        spend(budget, r.waitedMs ?? 0);
        return done(r.results);
      }
      const last = err.trim().split("\n").filter(Boolean).slice(-1)[0] ?? "no output";
      fail(new Error(`${job.peer} ${job.threads}T: child process failed (exit code ${code}): ${last}`));
    });
  });
}
