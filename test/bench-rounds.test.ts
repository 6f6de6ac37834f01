// The training benchmarks' rounds (bench/lib/train-bench.mjs): --quiet-rounds stops once enough
// rounds had quiet cores, and the quiet same-round ratios use exactly those rounds. The timings
// are fakes with known core probes, so every count and ratio below is exact.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath, pathToFileURL } from "node:url";

// from dist/test/ to the repository's bench/ (not compiled: plain .mjs)
const benchLib = pathToFileURL(fileURLToPath(new URL("../../bench/lib/train-bench.mjs", import.meta.url))).href;

interface Row { runtime: string; threads: number; batch: number; perRound?: (number | null)[]; coreGmacsPerRound?: (number | null)[] }
interface BenchLib {
  isQuietRound(rows: unknown[], quietProbe: number): boolean;
  measureTrainRounds(o: Record<string, unknown>): Promise<Row[]>;
  sameRoundRatios(rows: Row[], batches: number[], tfjsLabel: string, quietProbe: number | null): [string, number, number | null][];
}

/** Fake mulfree timings: round r gives 1 thread 100 img/s and 2 threads speeds[r]; probes[r] for both. */
function fakeMeasure(speeds: number[], probes: number[]) {
  let call = 0;
  return async (_batch: number, threads: number) => {
    const round = Math.floor(call++ / 2);
    const img = threads === 1 ? 100 : speeds[round]!;
    return { imgPerSec: { median: img, samples: [img] }, msPerStep: { samples: [1000 / img] }, cpuPerWall: threads, otherLoad: 0, coreGmacs: probes[round]! };
  };
}

async function run(lib: BenchLib, speeds: number[], probes: number[], rounds: number, quietRounds: number | null) {
  return lib.measureTrainRounds({
    rounds, quietProbe: 10, quietRounds, runtimes: ["mulfree"], batches: [256], threadsList: [1, 2],
    quiet: async () => {}, budget: null, measureMulfree: fakeMeasure(speeds, probes), tfjsLabel: "tfjs", tfjsJob: () => ({}),
  });
}

test("a round is quiet only when every mulfree row's core probe reaches the threshold", async () => {
  const lib = (await import(benchLib)) as BenchLib;
  const row = (coreGmacs: number) => ({ runtime: "mulfree", threads: 1, batch: 256, coreGmacs });
  assert.equal(lib.isQuietRound([row(12), row(10)], 10), true);
  assert.equal(lib.isQuietRound([row(12), row(9.9)], 10), false);
  assert.equal(lib.isQuietRound([row(12), { runtime: "tfjs", threads: 1, batch: 256 }], 10), true);
  assert.equal(lib.isQuietRound([{ runtime: "mulfree", threads: 2, batch: 256, error: "x" }], 10), false);
});

test("--quiet-rounds stops after that many quiet rounds, and the quiet ratios use exactly them", async () => {
  const lib = (await import(benchLib)) as BenchLib;
  // rounds 2, 4 and 5 are quiet; the third quiet round is the fifth round, so the sixth never runs
  const speeds = [120, 190, 130, 180, 170, 999], probes = [6, 12, 7, 11, 10, 12];
  const rows = await run(lib, speeds, probes, 6, 3);
  const two = rows.find((r) => r.threads === 2)!;
  assert.deepEqual(two.perRound, [120, 190, 130, 180, 170]);
  assert.deepEqual(two.coreGmacsPerRound, probes.slice(0, 5));
  const ratios = lib.sameRoundRatios(rows, [256], "tfjs", 10);
  assert.deepEqual(ratios, [
    ["mulfree 2 threads ÷ 1 thread", 256, 1.7], // median of 1.2 1.9 1.3 1.8 1.7
    ["mulfree 2 threads ÷ 1 thread, rounds with core probe ≥ 10 (3 of 5)", 256, 1.8], // median of 1.9 1.8 1.7
  ]);
});

test("--rounds caps the run when too few rounds are quiet; without --quiet-rounds every round runs", async () => {
  const lib = (await import(benchLib)) as BenchLib;
  const capped = await run(lib, [150, 160, 170, 180], [5, 12, 5, 5], 4, 2);
  assert.equal(capped.find((r) => r.threads === 2)!.perRound!.length, 4);
  // the same all-quiet rounds: without --quiet-rounds all four run, with 2 the run stops at two
  const all = await run(lib, [150, 160, 170, 180], [12, 12, 12, 12], 4, null);
  assert.equal(all.find((r) => r.threads === 2)!.perRound!.length, 4);
  const early = await run(lib, [150, 160, 170, 180], [12, 12, 12, 12], 4, 2);
  assert.deepEqual(early.find((r) => r.threads === 2)!.perRound, [150, 160]);
});
