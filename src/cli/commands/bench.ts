// `mulfree bench`: mulfree's int8 adder, shift and conv bundles and its f32 engine against
// onnxruntime-node, onnxruntime-web and tfjs-wasm on the fp32 CNN, in one run, on the same
// LeNet-5-BN MNIST task; prints throughput, batch-1 latency, ratios and the issue's speed goals,
// and writes every sample to a results JSON. The configurations are timed in rounds, each round
// timing every configuration once, and ratios pair samples of the same round (../bench/rounds.ts).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { arch, cpus, release, tmpdir, totalmem, type as osType } from "node:os";
import { dirname, join } from "node:path";
import { encodeSafetensors } from "../../io/safetensors.js";
import { writeFileAtomic } from "../../io/files.js";
import { initRuntime } from "../../kernels/runtime.js";
import { UsageError, type CommandSpec, type ParsedFlags } from "../args.js";
import { loadBenchData } from "../bench/data.js";
import { ENGINE_KIND, engineRun, MULFREE_ENGINES, top1Agreement, type MulfreeEngine } from "../bench/engines.js";
import { measureThroughput, QUIET_THRESHOLD, waitBudget, waitForQuiet, type WaitBudget } from "../bench/measure.js";
import { benchModels, floatTensors, modelFiles, randomModel, type BenchModel, type Kind } from "../bench/models.js";
import { benchPackageDir, PEER_ENGINES, peerAvailability, runPeer, writeOnnx, type PeerEngine } from "../bench/peers.js";
import { reportText, speedGoals, type Row } from "../bench/report.js";
import { mergeRounds } from "../bench/rounds.js";
import { printJson } from "../output.js";

const ALL_ENGINES: readonly string[] = [...MULFREE_ENGINES, ...PEER_ENGINES];

export const benchSpec: CommandSpec = {
  name: "bench",
  summary: "speed of the int8 adder, shift and conv models and the f32 engine against onnxruntime and tfjs, side by side",
  usage: "mulfree bench [--batches 1,256] [--threads 1,2] [--engines LIST] [--repeats N] [--models DIR|FILES] [--json] [--out FILE]",
  positionals: [],
  flags: {
    batches: { type: "string", help: "batch sizes, comma-separated", default: "1,256" },
    threads: { type: "string", help: "thread counts, comma-separated (tfjs-wasm runs 1 thread in Node)", default: "1,2" },
    engines: { type: "string", help: `comma-separated, any of ${ALL_ENGINES.join(", ")} (default: all)` },
    repeats: { type: "int", help: "rounds: each times every configuration once; medians and same-round ratios over them are reported", default: 5, min: 1 },
    "min-ms": { type: "int", help: "shortest timed repeat, ms", default: 500, min: 1 },
    "warmup-ms": { type: "int", help: "untimed calls before each measurement, ms", default: 1500 },
    "quiet-wait": { type: "number", help: "seconds the whole run may spend waiting for other processes to go idle and retrying disturbed repeats (0: never wait)", default: 60 },
    models: { type: "string", help: "trained LeNet-5 checkpoints or bundles (comma-separated files, or a directory); default: random-weight models" },
    "calibration-images": { type: "int", help: "MNIST training images for calibrating the in-memory exports", default: 256, min: 1 },
    seed: { type: "int", help: "seed of the random-weight models", default: 1 },
    out: { type: "string", help: "results JSON (default: bench/results/mulfree-bench-DATE.json in a checkout, else ./mulfree-bench-DATE.json)" },
    "no-save": { type: "bool", help: "do not write the results JSON" },
  },
};

function positiveList(flag: string, raw: string, max = Infinity): number[] {
  const xs = raw.split(",").map((s) => Number(s.trim()));
  if (!raw.trim() || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new UsageError(`--${flag} expects positive integers separated by commas, got '${raw}'`);
  if (xs.some((x) => x > max)) throw new UsageError(`--${flag}: at most ${max}, got '${raw}'`);
  return [...new Set(xs)];
}

function engineList(raw: string | undefined): string[] {
  if (raw === undefined) return [...ALL_ENGINES];
  const xs = raw.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = xs.filter((x) => !ALL_ENGINES.includes(x));
  if (!xs.length || bad.length) throw new UsageError(`--engines: unknown engine${bad.length > 1 ? "s" : ""} ${bad.map((b) => `'${b}'`).join(", ") || "(none given)"}; valid: ${ALL_ENGINES.join(", ")}`);
  return ALL_ENGINES.filter((e) => xs.includes(e));
}

function machine() {
  const c = cpus();
  return { cpu: c[0]?.model ?? "unknown", cores: c.length, totalMemGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, v8: process.versions.v8, os: `${osType()} ${release()} ${arch()}` };
}

function commandLine(): string {
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return ["mulfree", ...process.argv.slice(2)].map(quote).join(" ");
}

const log = (s: string) => process.stderr.write(`${s}\n`);

interface Options {
  batches: number[];
  threads: number[];
  repeats: number;
  minMs: number;
  warmupMs: number;
}

/** Each int8 engine's top-1 agreement with its float model, once per run. */
function mulfreeChecks(engines: MulfreeEngine[], models: Partial<Record<Kind, BenchModel>>, images: ReturnType<typeof loadBenchData>["test"]): Map<MulfreeEngine, string> {
  const checks = new Map<MulfreeEngine, string>();
  for (const engine of engines) {
    if (engine === "f32-conv") continue;
    try {
      const agree = top1Agreement(models[ENGINE_KIND[engine]]!, images);
      if (agree !== null) checks.set(engine, `top-1 = float model on ${(100 * agree).toFixed(1)}% of ${images.n}`);
    } catch (e) {
      checks.set(engine, `check failed: ${(e as Error).message.split("\n")[0]}`); // its timing rows will say more
    }
  }
  return checks;
}

async function timeMulfree(engines: MulfreeEngine[], models: Partial<Record<Kind, BenchModel>>, floatConv: BenchModel | null, images: ReturnType<typeof loadBenchData>["test"], checks: Map<MulfreeEngine, string>, o: Options, budget: WaitBudget): Promise<Row[]> {
  const rows: Row[] = [];
  for (const threads of o.threads) {
    for (const engine of engines) {
      await waitForQuiet(budget, { maxWaitMs: 30000, log });
      for (const batch of o.batches) {
        const base = { engine, side: "mulfree" as const, threads, batch, check: checks.get(engine) };
        try {
          const run = engineRun(engine, models[ENGINE_KIND[engine]]!, floatConv?.float ?? null, images, batch, threads);
          try {
            const result = await measureThroughput(() => run.call(), { itemsPerCall: batch, repeats: o.repeats, minMs: o.minMs, warmupMs: o.warmupMs, budget });
            rows.push({ ...base, result });
            log(`  ${engine} ${threads}T b=${batch}: ${Math.round(result.imgPerSec.median)} img/s (CPU/wall ${result.cpuPerWall.toFixed(2)})`);
          } finally {
            run.dispose();
          }
        } catch (e) {
          const error = (e as Error).message.split("\n")[0]!;
          log(`  ${engine} ${threads}T b=${batch}: ${error}`);
          rows.push({ ...base, error });
        }
      }
    }
  }
  initRuntime({ threads: 1 }); // stop the worker threads before the peers run
  return rows;
}

/** The peers' model files (fp32 safetensors and ONNX) in a temporary folder; an error says why ONNX could not be written. */
function peerFiles(dir: string, floatConv: BenchModel, tmp: string): { weights: string; onnx: string; error?: string } {
  const weights = join(tmp, "lenet5.safetensors");
  const onnx = join(tmp, "lenet5.onnx");
  writeFileAtomic(weights, encodeSafetensors(floatTensors(floatConv.float!), { model: "lenet5", op: "conv", source: floatConv.source }));
  try {
    writeOnnx(dir, weights, onnx);
    return { weights, onnx };
  } catch (e) {
    log((e as Error).message);
    return { weights, onnx, error: (e as Error).message };
  }
}

async function timePeers(dir: string, peers: PeerEngine[], files: { weights: string; onnx: string; error?: string }, o: Options, budget: WaitBudget): Promise<Row[]> {
  const rows: Row[] = [];
  const { weights, onnx } = files;
  {
    const jobs: Array<[PeerEngine, number]> = [];
    for (const peer of peers) {
      // tfjs-wasm's threads need blob: workers, which Node does not have
      const threads = peer === "tfjs-wasm" ? [1] : o.threads;
      for (const t of threads) jobs.push([peer, t]);
    }
    if (files.error) {
      const error = files.error;
      return jobs.flatMap(([peer, threads]) => o.batches.map((batch) => ({ engine: peer, side: "peer" as const, threads, batch, error })));
    }
    for (const [peer, threads] of jobs) {
      await waitForQuiet(budget, { maxWaitMs: 30000, log });
      log(`${peer}, ${threads} thread(s) ...`);
      try {
        const results = await runPeer(dir, { peer, threads, batches: o.batches, weights, onnx, repeats: o.repeats, minMs: o.minMs, warmupMs: o.warmupMs }, budget);
        for (const r of results) {
          const { batch, check, ...result } = r;
          rows.push({ engine: peer, side: "peer", threads, batch, result, check: check ? `logits within ${check.maxAbs.toExponential(1)} of a JS reference` : undefined });
        }
      } catch (e) {
        const error = (e as Error).message.split("\n")[0]!;
        log(error);
        for (const batch of o.batches) rows.push({ engine: peer, side: "peer", threads, batch, error });
      }
    }
  }
  return rows;
}

function defaultOut(benchDir: string | null, date: string): string {
  const name = `mulfree-bench-${date.replace(/[:.]/g, "-")}.json`;
  return benchDir ? join(benchDir, "results", name) : name;
}

export async function runBench(f: ParsedFlags): Promise<void> {
  const o: Options = {
    batches: positiveList("batches", String(f.batches)),
    threads: positiveList("threads", String(f.threads), 17),
    repeats: Number(f.repeats),
    minMs: Number(f.minMs),
    warmupMs: Number(f.warmupMs),
  };
  const engines = engineList(f.engines as string | undefined);
  const mulfreeEngines = engines.filter((e): e is MulfreeEngine => (MULFREE_ENGINES as readonly string[]).includes(e));
  const wantedPeers = engines.filter((e): e is PeerEngine => (PEER_ENGINES as readonly string[]).includes(e));
  const modelEntries = f.models === undefined ? [] : String(f.models).split(",").map((s) => s.trim()).filter(Boolean);
  const files = modelEntries.flatMap(modelFiles);
  const date = new Date().toISOString();
  const m = machine();
  const benchDir = benchPackageDir();
  const { ready: peers, missing } = peerAvailability(benchDir, wantedPeers);
  log(`LeNet-5-BN inference — ${m.cpu}, ${m.cores} cores, Node ${m.node}`);

  initRuntime({ threads: 1 });
  const data = loadBenchData(256, Number(f.calibrationImages));
  log(`data: ${data.source}`);
  const needFloat = mulfreeEngines.includes("f32-conv") || peers.length > 0;
  const kinds = new Set<Kind>(mulfreeEngines.map((e) => ENGINE_KIND[e]));
  if (needFloat) kinds.add("conv");
  const models = benchModels(files, [...kinds], data, Number(f.seed), (s) => log(`model ${s}`));
  // a conv bundle given alone has no float weights: the f32 engine and the peers get random ones
  const floatConv = !needFloat ? null : models.conv!.float ? models.conv! : randomModel("conv", data, Number(f.seed));
  if (floatConv && floatConv !== models.conv) log(`model f32 conv (f32-conv and peers): ${floatConv.source}`);

  const budget = waitBudget(Number(f.quietWait) * 1000);
  const t0 = Date.now();
  const checks = mulfreeChecks(mulfreeEngines, models, data.test);
  const tmp = mkdtempSync(join(tmpdir(), "mulfree-bench-"));
  const byRound: Row[][] = [];
  try {
    const files = peers.length ? peerFiles(benchDir, floatConv!, tmp) : null;
    const once: Options = { ...o, repeats: 1 };
    for (let round = 0; round < o.repeats; round++) {
      log(`round ${round + 1} of ${o.repeats}`);
      const mine = await timeMulfree(mulfreeEngines, models, floatConv, data.test, checks, once, budget);
      byRound.push([...mine, ...(files ? await timePeers(benchDir, peers, files, once, budget) : [])]);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const rows = mergeRounds(byRound);
  const seconds = (Date.now() - t0) / 1000;
  rows.sort((a, b) => a.batch - b.batch || ALL_ENGINES.indexOf(a.engine) - ALL_ENGINES.indexOf(b.engine) || a.threads - b.threads);

  const goals = speedGoals(rows);
  const contended = rows.some((r) => r.result && r.result.otherLoad > QUIET_THRESHOLD);
  const usedModels = Object.fromEntries(mulfreeEngines.map((e) => [e, e === "f32-conv" ? floatConv!.source : models[ENGINE_KIND[e]]!.source]));
  const bundleBytes = Object.fromEntries(mulfreeEngines.filter((e) => e !== "f32-conv").map((e) => [e, models[ENGINE_KIND[e]]!.bundle.length]));
  process.stdout.write(reportText({
    title: `LeNet-5-BN inference, MNIST 1×28×28 (${m.cpu}, ${m.cores} cores, Node ${m.node}; median of ${o.repeats} interleaved rounds of ≥ ${o.minMs} ms each)`,
    models: usedModels, bundleBytes, peerModel: floatConv && peers.length ? floatConv.source : null, data: data.source,
    rows, mulfreeEngines, goals: mulfreeEngines.includes("int8-adder") ? goals : [], contended, missing, seconds, waitedSeconds: budget.spent / 1000,
  }));

  const result = {
    command: "bench", date, machine: m, commandLine: commandLine(), cwd: process.cwd(),
    options: { ...o, engines, models: modelEntries, calibrationImages: Number(f.calibrationImages), seed: Number(f.seed), quietWaitSeconds: Number(f.quietWait) },
    data: data.source, models: usedModels, bundleBytes, peersMissing: missing, rows, goals, contended, waitedSeconds: budget.spent / 1000, seconds,
  };
  if (!f.noSave) {
    const file = f.out === undefined ? defaultOut(existsSync(join(benchDir, "package.json")) ? benchDir : null, date) : String(f.out);
    mkdirSync(dirname(file) || ".", { recursive: true });
    writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(result, null, 2) + "\n"));
    process.stdout.write(`saved ${file}\n`);
  }
  if (f.json) printJson(result);
}
