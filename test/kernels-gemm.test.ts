import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime, runtime, type Runtime } from "../src/kernels/runtime.js";
import { gemm, tuning } from "../src/kernels/gemm.js";
import { gemm as gemmRef } from "../src/kernels/reference/gemm.js";
import { rng } from "./random.js";


function wasmArray(rt: Runtime, n: number, fill: (i: number) => number): { ptr: number; view: () => Float32Array } {
  const ptr = rt.heap.alloc(Math.max(n, 1) * 4);
  const view = () => rt.f32(ptr, n);
  const v = view();
  for (let i = 0; i < n; i++) v[i] = fill(i);
  return { ptr, view };
}

interface Case { tA: boolean; tB: boolean; M: number; N: number; K: number; lda: number; ldb: number; ldc: number; acc: boolean }

/** Run fast and reference on one case; returns the worst error relative to the tolerance. */
function check(rt: Runtime, c: Case, rand: () => number, label: string): void {
  const { tA, tB, M, N, K, lda, ldb, ldc, acc } = c;
  const aLen = (tA ? K : M) * lda, bLen = (tB ? N : K) * ldb, cLen = M * ldc;
  const sym = () => rand() * 2 - 1;
  const A = wasmArray(rt, aLen, sym), B = wasmArray(rt, bLen, sym);
  const C0 = Float32Array.from({ length: cLen }, sym);
  const C = wasmArray(rt, cLen, (i) => C0[i]);
  try {
    gemm(tA, tB, M, N, K, A.view(), lda, B.view(), ldb, C.view(), ldc, acc);
    const want = C0.slice();
    gemmRef(tA, tB, M, N, K, A.view(), lda, B.view(), ldb, want, ldc, acc);
    // tolerance from the same product on absolute values: |error| ≤ 1e-5 (1 + Σ|a·b| (+ |c|))
    const bound = C0.map(Math.abs);
    gemmRef(tA, tB, M, N, K, A.view().map(Math.abs), lda, B.view().map(Math.abs), ldb, bound, ldc, acc);
    const got = C.view();
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < ldc; j++) {
        const o = i * ldc + j;
        if (j >= N) {
          // the gap between rows (ldc > N) must stay untouched
          assert.equal(got[o], C0[o], `${label}: wrote outside C at row ${i} col ${j}`);
          continue;
        }
        const err = Math.abs(got[o] - want[o]);
        if (!(err <= 1e-5 * (1 + bound[o]))) {
          assert.fail(`${label} ${JSON.stringify(c)}: C[${i},${j}] = ${got[o]}, want ${want[o]}`);
        }
      }
    }
  } finally {
    rt.heap.free(A.ptr); rt.heap.free(B.ptr); rt.heap.free(C.ptr);
  }
}

function randomCase(rand: () => number, tA: boolean, tB: boolean): Case {
  const dim = (max: number) => (rand() < 0.1 ? 1 + Math.floor(rand() * 3) : Math.floor(rand() * max) + 1);
  const M = dim(40), N = dim(48), K = rand() < 0.03 ? 0 : dim(60);
  const extra = () => Math.floor(rand() * 5);
  return {
    tA, tB, M, N, K,
    lda: (tA ? M : K) + extra() + (K === 0 ? 1 : 0),
    ldb: (tB ? K : N) + extra() + (K === 0 ? 1 : 0),
    ldc: N + extra(),
    acc: rand() < 0.5,
  };
}

test("gemm matches the reference on 4×60 random shapes (threads split even tiny jobs)", () => {
  const rt = initRuntime({ threads: 2 });
  const saved = tuning.minMacsPerThread;
  tuning.minMacsPerThread = 0;
  try {
    const rand = rng(12345);
    let n = 0;
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        for (let i = 0; i < 60; i++) check(rt, randomCase(rand, tA, tB), rand, `case ${n++}`);
      }
    }
  } finally {
    tuning.minMacsPerThread = saved;
  }
});

test("gemm matches the reference on the LeNet Linear shapes", () => {
  const rt = initRuntime({ threads: 2 });
  const rand = rng(7);
  const shapes: Array<[boolean, boolean, number, number, number]> = [
    [false, true, 256, 120, 400], // fc1 forward: y = x·Wᵀ
    [false, false, 256, 400, 120], // fc1 dX = dY·W
    [true, false, 120, 400, 256], // fc1 dW = dYᵀ·X
    [false, true, 64, 10, 84], // fc3 forward at batch 64
    [true, true, 33, 17, 65],
  ];
  for (const [tA, tB, M, N, K] of shapes) {
    check(rt, { tA, tB, M, N, K, lda: tA ? M : K, ldb: tB ? K : N, ldc: N, acc: false }, rand, "layer");
  }
});

test("gemm rejects bad sizes with a message naming the argument", () => {
  const rt = runtime(); // whatever thread count is current: no pool restart
  const p = rt.heap.alloc(64 * 4);
  const X = rt.f32(p, 64);
  assert.throws(() => gemm(false, false, 4, 4, 4, X, 3, X, 4, X, 4, false), /lda = 3/);
  assert.throws(() => gemm(false, true, 4, 4, 4, X, 4, X, 4, X.subarray(0, 10), 4, false), /C has 10 elements/);
  assert.throws(() => gemm(false, false, -1, 4, 4, X, 4, X, 4, X, 4, false), /M must be/);
  assert.throws(() => gemm(false, false, 2, 2, 2, new Float32Array(4), 2, X, 2, X, 2, false), /A is not in the kernel runtime's memory/);
  rt.heap.free(p);
});

test("gemm with M or N = 0 is a no-op and K = 0 clears C unless accumulating", () => {
  const rt = runtime(); // whatever thread count is current: no pool restart
  const p = rt.heap.alloc(16 * 4);
  const X = rt.f32(p, 16);
  X.fill(3);
  gemm(false, false, 0, 4, 4, X, 4, X, 4, X, 4, false);
  assert.equal(X[0], 3);
  gemm(false, false, 2, 2, 0, X, 1, X, 2, X.subarray(8), 2, true);
  assert.equal(X[8], 3);
  gemm(false, false, 2, 2, 0, X, 1, X, 2, X.subarray(8), 2, false);
  assert.deepEqual([...X.subarray(8, 12)], [0, 0, 0, 0]);
  rt.heap.free(p);
});

// Last: it leaves the runtime on one thread (switching the worker pool back and forth is slow).
test("gemm gives the same bytes with one and two threads", () => {
  const rt = initRuntime({ threads: 2 });
  const rand = rng(99);
  const cases = ([[true, false, 120, 400, 256], [false, true, 256, 120, 400], [false, false, 7, 3, 900], [false, false, 64, 10, 84]] as const).map(
    ([tA, tB, M, N, K]) => {
      const lda = tA ? M : K, ldb = tB ? K : N;
      const A = wasmArray(rt, (tA ? K : M) * lda, () => rand() - 0.5);
      const B = wasmArray(rt, (tB ? N : K) * ldb, () => rand() - 0.5);
      const C = wasmArray(rt, M * N, () => 0);
      const run = () => {
        gemm(tA, tB, M, N, K, A.view(), lda, B.view(), ldb, C.view(), N, false);
        return new Uint8Array(C.view().slice().buffer);
      };
      return { A, B, C, run };
    },
  );
  const saved = tuning.minMacsPerThread;
  tuning.minMacsPerThread = 0; // every case really splits
  try {
    const two = cases.map((c) => c.run());
    rt.setThreads(1);
    const one = cases.map((c) => c.run());
    for (let i = 0; i < cases.length; i++) assert.deepEqual(one[i], two[i], `case ${i}`);
  } finally {
    tuning.minMacsPerThread = saved;
    for (const c of cases) for (const x of [c.A, c.B, c.C]) rt.heap.free(x.ptr);
  }
});

test.after(() => initRuntime().close());

test("dotStreamF32 (the f32 ceiling benchmark's kernel) returns reps × Σ a·b", () => {
  const rt = initRuntime({ threads: 1 });
  const n = 96, reps = 3;
  const a = rt.heap.alloc(n * 4), b = rt.heap.alloc(n * 4), out = rt.heap.alloc(16);
  try {
    // small integers: every partial sum is exact in f32
    const fa = new Float32Array(rt.memory.buffer, a, n), fb = new Float32Array(rt.memory.buffer, b, n);
    let want = 0;
    for (let i = 0; i < n; i++) {
      fa[i] = (i % 7) - 3;
      fb[i] = (i % 5) + 1;
      want += fa[i]! * fb[i]!;
    }
    rt.kernels.dotStreamF32(a, b, n, reps, out);
    const lanes = new Float32Array(rt.memory.buffer, out, 4);
    assert.equal(lanes[0]! + lanes[1]! + lanes[2]! + lanes[3]!, reps * want);
  } finally {
    for (const p of [a, b, out]) rt.heap.free(p);
  }
});
