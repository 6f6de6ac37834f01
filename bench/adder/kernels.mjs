// Adder kernels against the conv/GEMM kernels built the same way, on LeNet-5 and ResNet-20 layer
// shapes: forward (L1-GEMM vs GEMM), backward input (fused-clamp kernel vs GEMM + col2im) and
// backward weight (GEMM − W·rowsum vs GEMM).
//
//   node bench/adder/kernels.mjs [distDir] [batch] [rounds] [threads]   (defaults: ./dist, 256, 3, 2)
//
// Gelem/s = 10⁹ |x − w| terms (adder) or multiply-adds (conv) per second; a GFLOP-equivalent is
// two of them (sub+add or mul+add), so GFLOP-eq/s = 2 × Gelem/s. Each number is the best of
// `rounds` rounds of 5 timed runs (each ≥ 20 ms) after warm-up; conv and adder rows alternate, so
// background load hits both alike.
// Inputs x are ≥ 0 for the layers that follow a ReLU in the models (all but LeNet's conv1, which
// sees normalized pixels): the adder forward then takes the min on integer bit patterns.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { bestCallMs } from "../lib/stats.mjs";

const dist = path.resolve(process.argv[2] ?? "dist");
const batch = Number(process.argv[3] ?? 256);
const rounds = Number(process.argv[4] ?? 3);
const threads = Number(process.argv[5] ?? 2);
const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { initRuntime } = await load("src/kernels/runtime.js");
const { gemm } = await load("src/kernels/gemm.js");
const conv = await load("src/kernels/conv2d.js");
const adder = await load("src/kernels/adder.js");

const rt = initRuntime({ threads });
function array(n, nonNegative = false) {
  const v = rt.f32(rt.heap.alloc(n * 4), n);
  for (let i = 0; i < n; i++) v[i] = nonNegative ? Math.abs(Math.sin(i * 0.37)) * 1.5 : Math.sin(i * 0.37) * 1.5;
  return v;
}

function measure(fn, elems) {
  const ms = bestCallMs(fn);
  return { ms, gelems: elems / ms / 1e6 };
}

function convCase(name, input, weight, opts, afterRelu = true) {
  const s = conv.conv2dShape(input, weight, opts);
  const nx = s.N * s.C * s.H * s.W, nw = weight.reduce((a, b) => a * b), ny = s.N * s.K * s.OH * s.OW;
  const x = array(nx, afterRelu), w = array(nw), y = array(ny), dy = array(ny), dx = array(nx), dw = array(nw);
  return {
    name, elems: ny * (s.C / s.groups) * s.kh * s.kw,
    ops: {
      forward: [() => conv.conv2dForward(x, w, null, y, s), () => adder.adder2dForward(x, w, null, y, s)],
      "backward input": [() => conv.conv2dBackwardInput(dy, w, dx, s), () => adder.adder2dBackwardInput(x, dy, w, dx, s)],
      "backward weight": [() => conv.conv2dBackwardWeight(dy, x, dw, s), () => adder.adder2dBackwardWeight(x, dy, w, dw, s)],
    },
  };
}

function linearCase(name, n, inp, out) {
  const x = array(n * inp, true), w = array(out * inp), y = array(n * out), dy = array(n * out), dx = array(n * inp), dw = array(out * inp);
  return {
    name, elems: n * inp * out,
    ops: {
      forward: [() => gemm(false, true, n, out, inp, x, inp, w, inp, y, out, false), () => adder.adderLinearForward(x, w, null, y, n, inp, out)],
      "backward input": [() => gemm(false, false, n, inp, out, dy, out, w, inp, dx, inp, false), () => adder.adderLinearBackwardInput(x, dy, w, dx, n, inp, out)],
      "backward weight": [() => gemm(true, false, out, inp, n, dy, out, x, inp, dw, inp, false), () => adder.adderLinearBackwardWeight(x, dy, w, dw, n, inp, out)],
    },
  };
}

const N = batch;
const cases = [
  convCase("lenet conv1 1→6 5×5 p2 28×28", [N, 1, 28, 28], [6, 1, 5, 5], { padding: 2 }, false),
  convCase("lenet conv2 6→16 5×5 14×14", [N, 6, 14, 14], [16, 6, 5, 5]),
  linearCase("lenet fc1 256→120", N, 256, 120),
  linearCase("lenet fc2 120→84", N, 120, 84),
  linearCase("lenet fc3 84→10", N, 84, 10),
  convCase("resnet20 16→16 3×3 32×32", [N / 2, 16, 32, 32], [16, 16, 3, 3], { padding: 1 }),
  convCase("resnet20 32→32 3×3 16×16", [N / 2, 32, 16, 16], [32, 32, 3, 3], { padding: 1 }),
  convCase("resnet20 64→64 3×3 8×8", [N / 2, 64, 8, 8], [64, 64, 3, 3], { padding: 1 }),
  convCase("mobile depthwise 64 3×3 32×32", [N / 2, 64, 32, 32], [64, 1, 3, 3], { padding: 1, groups: 64 }),
];

const rows = cases.flatMap((c) => Object.entries(c.ops).map(([op, [mul, add]]) => ({ c, op, mul, add, m: null, a: null })));
const best = (p, q) => (p === null || q.ms < p.ms ? q : p);
for (let r = 0; r < rounds; r++) {
  for (const row of rows) {
    row.m = best(row.m, measure(row.mul, row.c.elems));
    row.a = best(row.a, measure(row.add, row.c.elems));
  }
}
console.log(`batch ${N} (ResNet/mobile rows at ${N / 2}), ${threads} thread(s); Gelem/s (GFLOP-eq/s = 2×), best of ${rounds} rounds × 5; Node ${process.version}`);
console.log("| layer | op | Melem | conv ms | conv Gelem/s | adder ms | adder Gelem/s | adder/conv speed |");
console.log("|---|---|---|---|---|---|---|---|");
for (const { c, op, m, a } of rows) {
  console.log(`| ${c.name} | ${op} | ${(c.elems / 1e6).toFixed(1)} | ${m.ms.toFixed(3)} | ${m.gelems.toFixed(2)} | ${a.ms.toFixed(3)} | ${a.gelems.toFixed(2)} | ${(m.ms / a.ms).toFixed(2)}× |`);
}
rt.close();
