import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime, split } from "../src/kernels/runtime.js";

test("split covers the range with aligned inner bounds", () => {
  assert.deepEqual(split(10, 2), [0, 5, 10]);
  assert.deepEqual(split(10, 3, 4), [0, 4, 8, 10]);
  assert.deepEqual(split(3, 2, 4), [0, 0, 3]);
});

test("a threaded job gives the same bytes as a single-thread job", () => {
  const rt = initRuntime({ threads: 2 });
  const n = 100003;
  const a = rt.heap.alloc(n * 4), b = rt.heap.alloc(n * 4), o1 = rt.heap.alloc(n * 4), o2 = rt.heap.alloc(n * 4);
  const A = rt.f32(a, n), B = rt.f32(b, n);
  for (let i = 0; i < n; i++) { A[i] = Math.sin(i); B[i] = Math.cos(i * 3); }
  rt.parallel("addF32", [a, b, o1], n, 1024, 4);
  rt.setThreads(1);
  rt.parallel("addF32", [a, b, o2], n, 1024, 4);
  const O1 = rt.f32(o1, n), O2 = rt.f32(o2, n);
  for (let i = 0; i < n; i++) assert.equal(O1[i], Math.fround(A[i] + B[i]));
  assert.deepEqual(O1, O2);
  rt.close();
});

test("switching thread counts repeatedly never hangs or mixes pools", () => {
  const rt = initRuntime({ threads: 2 });
  const n = 50000;
  const a = rt.heap.alloc(n * 4), o = rt.heap.alloc(n * 4);
  rt.f32(a, n).fill(1.5);
  let inUse = 0;
  for (let round = 0; round < 12; round++) {
    rt.setThreads(1 + (round % 2));
    rt.parallel("addF32", [a, a, o], n, 1024, 4);
    assert.equal(rt.f32(o, n)[n - 1], 3);
    if (round === 3) inUse = rt.heap.bytesInUse;
    if (round > 3 && round % 2 === 1) assert.equal(rt.heap.bytesInUse, inUse, "old mailboxes are given back");
  }
  rt.close();
});

test("a kernel that traps in a worker raises an error instead of hanging", () => {
  const rt = initRuntime({ threads: 2 });
  const n = 1 << 16;
  // the caller's half fits in memory; the worker's half runs past its end
  const bad = rt.memory.buffer.byteLength - (n / 2) * 4;
  assert.throws(() => rt.parallel("addF32", [bad, bad, bad], n, 1024, 4), /addF32 trapped in a worker thread/);
  const a = rt.heap.alloc(n * 4);
  rt.f32(a, n).fill(2);
  rt.parallel("addF32", [a, a, a], n, 1024, 4);
  assert.equal(rt.f32(a, n)[n - 1], 4, "the pool still works afterwards");
  rt.close();
});
