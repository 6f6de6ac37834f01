import { test } from "node:test";
import assert from "node:assert/strict";
import { chunkBounds, initRuntime, split } from "../src/kernels/runtime.js";
import { MAX_CHUNKS } from "../src/kernels/mailbox.js";

test("split covers the range with aligned inner bounds", () => {
  assert.deepEqual(split(10, 2), [0, 5, 10]);
  assert.deepEqual(split(10, 3, 4), [0, 4, 8, 10]);
  assert.deepEqual(split(3, 2, 4), [0, 0, 3]);
});

test("chunk bounds partition the range: aligned, shrinking, at most MAX_CHUNKS", () => {
  assert.deepEqual(chunkBounds(16, 2), [0, 4, 7, 10, 12, 13, 14, 15, 16]);
  assert.deepEqual(chunkBounds(150, 2, 4), [0, 40, 68, 92, 108, 120, 132, 144, 150]);
  for (const threads of [2, 3, 4]) {
    for (const align of [1, 4]) {
      for (const total of [1, 2, 5, 6, 16, 150, 256, 1000, 100003]) {
        const b = chunkBounds(total, threads, align);
        const what = `chunkBounds(${total}, ${threads}, ${align}) = ${b.join(",")}`;
        assert.equal(b[0], 0, what);
        assert.equal(b[b.length - 1], total, what);
        assert.ok(b.length - 1 <= MAX_CHUNKS, what);
        const grained = chunkBounds(total, threads, align, 37);
        for (let c = 1; c < grained.length - 1; c++) assert.ok(grained[c]! - grained[c - 1]! >= 37, `grain 37: ${grained.join(",")}`);
        for (let c = 1; c < b.length; c++) {
          assert.ok(b[c]! > b[c - 1]!, what);
          if (c < b.length - 1) assert.equal(b[c]! % align, 0, what);
        }
        // the first chunk leaves work for the other threads; later chunks never grow (the last may be a remainder)
        if (total >= 4 * threads * align) assert.ok(b[1]! <= Math.ceil(total / 2 / align) * align, what);
        for (let c = 2; c < b.length - 2; c++) assert.ok(b[c + 1]! - b[c]! <= b[c]! - b[c - 1]!, what);
      }
    }
  }
});

test("a chunked job runs every item once, and static jobs after it keep their slices", () => {
  const rt = initRuntime({ threads: 2 });
  const n = 100003;
  const x = rt.heap.alloc(n * 4), y = rt.heap.alloc(n * 4);
  rt.f32(x, n).fill(1);
  // y += x: an item run twice ends at 2, an item missed stays at 0
  for (const [total, chunked] of [[n, true], [n, false], [4096, true], [8, true], [n, false]] as const) {
    rt.f32(y, n).fill(0);
    rt.parallel("axpyF32", [1, x, y], total, 4, 4, chunked);
    const Y = rt.f32(y, n);
    for (let i = 0; i < n; i++) if (Y[i] !== (i < total ? 1 : 0)) assert.fail(`item ${i} of ${total} (chunked ${chunked}) = ${Y[i]}`);
  }
  rt.close();
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
  // chunked: whichever thread claims a chunk past the end of memory, the job fails loudly
  assert.throws(() => rt.parallel("addF32", [bad, bad, bad], n, 1024, 4, true), /trapped in a worker thread|out of bounds/);
  rt.parallel("addF32", [a, a, a], n, 1024, 4, true);
  assert.equal(rt.f32(a, n)[n - 1], 8, "and after a chunked failure");
  rt.close();
});
