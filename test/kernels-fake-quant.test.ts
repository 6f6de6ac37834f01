// The fake-quantization kernels of quantization-aware training (src/kernels/fake_quant.ts) against
// their reference loops: bit-identical for every value (ties, ±0, NaN, ±∞, both clamps), grid,
// length and thread count, since a resumed QAT run must continue bit for bit.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import * as fast from "../src/kernels/fake_quant.js";
import * as ref from "../src/kernels/reference/fake_quant.js";
import { quantFromRange } from "../src/kernels/reference/quant_range.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { rng } from "./random.js";
import { WasmBuffers } from "./wasm-buffers.js";

after(() => initRuntime({ threads: 1 }).close());

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Values around a grid: exact ties (k + ½ steps), points on it, both ends and beyond, specials. */
function values(r: () => number, n: number, scale: number, zp: number, levels: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r(), k = Math.floor(r() * (levels + 3)) - 1 - zp;
    x[i] = u < 0.2 ? (k + 0.5) * scale : u < 0.35 ? k * scale : u < 0.4 ? 0 : u < 0.43 ? -0 : u < 0.45 ? NaN : u < 0.47 ? (r() < 0.5 ? Infinity : -Infinity) : (r() - 0.3) * scale * levels * 1.5;
  }
  return x;
}

for (const threads of [1, 2]) {
  test(`fake quantization on ${threads} thread(s): forward, gradient mask and min/max equal the reference bit for bit`, () => {
    const rt = initRuntime({ threads });
    const buf = new WasmBuffers(rt);
    const r = rng(900 + threads);
    try {
      for (let t = 0; t < 120; t++) {
        const levels = [15, 31, 63, 127, 255][t % 5]!;
        const lo = -r() * 4 * (t % 3 === 0 ? 0 : 1), hi = r() * 6 + 0.01;
        const { scale, zeroPoint } = quantFromRange(lo, hi, levels);
        const n = t % 4 === 0 ? Math.floor(r() * 9) : Math.floor(r() * (t % 7 === 0 ? 70000 : 3000));
        const x = buf.f32(n);
        x.set(values(r, n, scale, zeroPoint, levels));
        const out = buf.f32(n), want = new Float32Array(n);
        fast.fakeQuant(x, out, scale, zeroPoint, levels);
        ref.fakeQuant(x, want, scale, zeroPoint, levels);
        assert.deepEqual(bits(out), bits(want), `forward #${t}: n ${n}, ${levels} codes`);
        const dy = buf.f32(n), dx = buf.f32(n), wantDx = new Float32Array(n);
        dy.set(values(r, n, 1, 0, 255));
        const [a, b] = [-zeroPoint * scale, (levels - zeroPoint) * scale];
        fast.fakeQuantBackward(dy, x, dx, a, b);
        ref.fakeQuantBackward(dy, x, wantDx, a, b);
        assert.deepEqual(bits(dx), bits(wantDx), `gradient #${t}`);
        assert.deepEqual(fast.minMax(x), ref.minMax(x), `min/max #${t}`);
        // in place: out aliases x
        fast.fakeQuant(x, x, scale, zeroPoint, levels);
        assert.deepEqual(bits(x), bits(want), `in place #${t}`);
        buf.freeAll();
      }
    } finally {
      buf.freeAll();
    }
  });
}

test("fake quantization: ties round up as Math.round does, specials and empty inputs, and bad grids are refused", () => {
  const rt = initRuntime({ threads: 1 });
  const buf = new WasmBuffers(rt);
  try {
    const x = buf.f32(8);
    x.set([-0.25, 0.25, 0.75, -1.25, NaN, Infinity, -Infinity, 1.25]);
    const out = buf.f32(8);
    // x/s = −0.5, 0.5, 1.5, −2.5 (ties, upward), NaN, ±∞ (clamped to codes 15 and 0), 2.5
    fast.fakeQuant(x, out, 0.5, 3, 15);
    assert.deepEqual(Array.from(out), [0, 0.5, 1, -1, NaN, 6, -1.5, 1.5]);
    assert.deepEqual(fast.minMax(buf.f32(0)), [Infinity, -Infinity]);
    const nan = buf.f32(5).fill(NaN);
    assert.deepEqual(fast.minMax(nan), [Infinity, -Infinity], "NaN is skipped");
    assert.throws(() => fast.fakeQuant(x, out, 0, 0, 15), /fakeQuant: scale must be a finite positive number, got 0/);
    assert.throws(() => fast.fakeQuant(x, out, 0.1, 16, 15), /zeroPoint must be an integer in \[0, 15\], got 16/);
    assert.throws(() => fast.fakeQuant(x, out, 0.1, 0, 256), /levels must be an integer in \[1, 255\], got 256/);
    assert.throws(() => fast.fakeQuant(new Float32Array(8), out, 0.1, 0, 15), /x must be a view into the kernel memory/);
  } finally {
    buf.freeAll();
  }
});
