// Throughput of the f32 training kernels (conv2d via im2col+GEMM, Linear via GEMM) on the
// LeNet-5 and ResNet-20 layer shapes, with 1 and 2 threads.
//
//   node bench/kernels/conv.mjs [distDir] [batch] [rounds]   (defaults: ./dist, 256, 3)
//
// GMAC/s = 10⁹ multiply-adds (flop pairs) per second; GFLOP/s is twice that. Each number is the
// best over `rounds` rounds of 5 timed runs (each ≥ 20 ms) after warm-up. One- and two-thread
// runs alternate row by row, so background load hits both alike; the one-thread runs keep the
// worker pool and only raise the threading threshold, so the pool is never restarted.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { bestCallMs } from "../lib/stats.mjs";

const dist = path.resolve(process.argv[2] ?? "dist");
const batch = Number(process.argv[3] ?? 256);
const rounds = Number(process.argv[4] ?? 3);
const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { initRuntime } = await load("src/kernels/runtime.js");
const { gemm, tuning } = await load("src/kernels/gemm.js");
const conv = await load("src/kernels/conv2d.js");

const rt = initRuntime({ threads: 2 });
const arrays = [];
function array(n) {
  const ptr = rt.heap.alloc(n * 4);
  arrays.push(ptr);
  const v = rt.f32(ptr, n);
  for (let i = 0; i < n; i++) v[i] = Math.sin(i * 0.37) * 0.5;
  return v;
}

/** Best time per call (stats.mjs bestCallMs) and GMAC/s. */
function measure(fn, macs) {
  const ms = bestCallMs(fn);
  return { ms, gmacs: macs / ms / 1e6 };
}

function convCase(name, input, weight, opts) {
  const s = conv.conv2dShape(input, weight, opts);
  const nx = s.N * s.C * s.H * s.W, nw = weight.reduce((a, b) => a * b), ny = s.N * s.K * s.OH * s.OW;
  const x = array(nx), w = array(nw), b = array(s.K), y = array(ny), dy = array(ny), dx = array(nx), dw = array(nw);
  const macs = ny * (s.C / s.groups) * s.kh * s.kw;
  return {
    name, macs,
    ops: {
      forward: () => conv.conv2dForward(x, w, b, y, s),
      "backward input": () => conv.conv2dBackwardInput(dy, w, dx, s),
      "backward weight": () => conv.conv2dBackwardWeight(dy, x, dw, s),
    },
  };
}

function linearCase(name, n, inp, out) {
  const x = array(n * inp), w = array(out * inp), y = array(n * out), dy = array(n * out), dx = array(n * inp), dw = array(out * inp);
  return {
    name, macs: n * inp * out,
    ops: {
      forward: () => gemm(false, true, n, out, inp, x, inp, w, inp, y, out, false),
      "backward input": () => gemm(false, false, n, inp, out, dy, out, w, inp, dx, inp, false),
      "backward weight": () => gemm(true, false, out, inp, n, dy, out, x, inp, dw, inp, false),
    },
  };
}

const N = batch;
const cases = [
  convCase(`lenet conv1 1→6 5×5 p2 28×28`, [N, 1, 28, 28], [6, 1, 5, 5], { padding: 2 }),
  convCase(`lenet conv2 6→16 5×5 14×14`, [N, 6, 14, 14], [16, 6, 5, 5]),
  linearCase(`lenet fc1 400→120`, N, 400, 120),
  linearCase(`lenet fc2 120→84`, N, 120, 84),
  linearCase(`lenet fc3 84→10`, N, 84, 10),
  convCase(`resnet20 16→16 3×3 32×32`, [N / 2, 16, 32, 32], [16, 16, 3, 3], { padding: 1 }),
  convCase(`resnet20 32→32 3×3 16×16`, [N / 2, 32, 16, 16], [32, 32, 3, 3], { padding: 1 }),
  convCase(`resnet20 64→64 3×3 8×8`, [N / 2, 64, 8, 8], [64, 64, 3, 3], { padding: 1 }),
];

const rows = cases.flatMap((c) => Object.entries(c.ops).map(([op, fn]) => ({ c, op, fn, one: null, two: null })));
const best = (a, b) => (a === null || b.ms < a.ms ? b : a);
const defaultThreshold = tuning.minMacsPerThread;
for (let r = 0; r < rounds; r++) {
  for (const row of rows) {
    tuning.minMacsPerThread = Infinity; // every job runs on the caller alone
    row.one = best(row.one, measure(row.fn, row.c.macs));
    tuning.minMacsPerThread = defaultThreshold;
    row.two = best(row.two, measure(row.fn, row.c.macs));
  }
}

console.log(`batch ${N} (ResNet rows at ${N / 2}); GMAC/s (= GFLOP-pairs/s), best of ${rounds} rounds × 5; Node ${process.version}`);
console.log("| layer | op | MMAC | 1 thread ms | 1 thread GMAC/s | 2 threads ms | 2 threads GMAC/s | scaling |");
console.log("|---|---|---|---|---|---|---|---|");
for (const { c, op, one, two } of rows) {
  console.log(`| ${c.name} | ${op} | ${(c.macs / 1e6).toFixed(1)} | ${one.ms.toFixed(3)} | ${one.gmacs.toFixed(2)} | ${two.ms.toFixed(3)} | ${two.gmacs.toFixed(2)} | ${(two.gmacs / one.gmacs).toFixed(2)}× |`);
}
for (const p of arrays) rt.heap.free(p);
rt.close();
