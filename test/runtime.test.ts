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
