// The adder input gradient's exact bits: the kernel against a TypeScript replay of its arithmetic
// in its order (docs/addernet.md, "Gradients"). For every image n and group g, per block of
// blockP output positions: dcol[r][p] = Σ_k dy[k][p]·f(W[k][r] − col[r][p]) as one f32 chain over
// k from +0, then col2im adds dcol into zeroed padded dx planes, row r by row r. Stride-1 layers
// with output rows of 8 or more positions skip im2col and col2im and add each tile into dx in
// place (assembly/adder.ts, convGradBlockDirect); they must give these bits too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { threadScratch, tuning } from "../src/kernels/gemm.js";
import { conv2dShape, convTuning, plan, type Conv2dShape } from "../src/kernels/conv2d.js";
import * as fast from "../src/kernels/adder.js";
import type { AdderGrad } from "../src/kernels/adder.js";
import { rng } from "./random.js";
import { WasmBuffers } from "./wasm-buffers.js";

const f32 = Math.fround;
const clamp = (d: number) => Math.min(Math.max(d, -1), 1); // keeps −0, as the kernel's integer clamp
const sgn = (d: number) => (d > 0 ? 1 : d < 0 ? -1 : 0);

/** The kernel's arithmetic, in its order, for blocks of `blockP` positions. */
function replay(x: Float32Array, dy: Float32Array, w: Float32Array, s: Conv2dShape, grad: AdderGrad, blockP: number): Float32Array {
  const f = grad === "sign" ? sgn : clamp;
  const Cg = s.C / s.groups, Kg = s.K / s.groups, R = Cg * s.kh * s.kw, P = s.OH * s.OW;
  const Hp = s.H + 2 * s.padH, Wp = s.W + 2 * s.padW;
  const dx = new Float32Array(s.N * s.C * s.H * s.W);
  for (let n = 0; n < s.N; n++) {
    for (let g = 0; g < s.groups; g++) {
      const dxp = new Float32Array(Cg * Hp * Wp);
      for (let p0 = 0; p0 < P; p0 += blockP) {
        for (let r = 0; r < R; r++) {
          const c = Math.floor(r / (s.kh * s.kw)), ki = Math.floor(r / s.kw) % s.kh, kj = r % s.kw;
          for (let p = p0; p < Math.min(P, p0 + blockP); p++) {
            const ih = Math.floor(p / s.OW) * s.strideH + ki * s.dilationH, iw = (p % s.OW) * s.strideW + kj * s.dilationW;
            const inside = ih >= s.padH && ih < s.H + s.padH && iw >= s.padW && iw < s.W + s.padW;
            const xv = inside ? x[((n * s.C + g * Cg + c) * s.H + ih - s.padH) * s.W + iw - s.padW] : 0;
            let acc = 0;
            for (let k = 0; k < Kg; k++) {
              const term = f32(dy[((n * s.K + g * Kg + k) * P) + p] * f(f32(w[(g * Kg + k) * R + r] - xv)));
              acc = f32(acc + term);
            }
            const at = (c * Hp + ih) * Wp + iw;
            dxp[at] = f32(dxp[at] + acc);
          }
        }
      }
      for (let c = 0; c < Cg; c++) {
        for (let ih = 0; ih < s.H; ih++) {
          for (let iw = 0; iw < s.W; iw++) dx[((n * s.C + g * Cg + c) * s.H + ih) * s.W + iw] = dxp[(c * Hp + ih + s.padH) * Wp + iw + s.padW];
        }
      }
    }
  }
  return dx;
}

test("the adder input gradient gives the bits of its arithmetic replayed in order, with and without im2col", () => {
  const shapes = [
    // stride 1, OW a multiple of 8: the tiles read x and add into dx in place, whole strips
    conv2dShape([2, 16, 8, 8], [16, 16, 3, 3], { padding: 1 }),
    conv2dShape([1, 5, 16, 16], [7, 5, 3, 3], { padding: 1 }), // odd R: a 1×8 tile ends each strip
    conv2dShape([2, 4, 12, 12], [6, 4, 5, 5], { padding: 2, dilation: 2 }),
    conv2dShape([1, 6, 10, 24], [8, 3, 3, 1], { padding: [1, 0], groups: 2 }),
    conv2dShape([2, 8, 8, 10], [8, 8, 1, 3]),
    // stride 1, rows of 10, 11 and 9: strips cross row ends; P not a multiple of 8
    conv2dShape([2, 6, 14, 14], [16, 6, 5, 5]),
    conv2dShape([1, 3, 11, 11], [4, 3, 3, 3], { padding: 1 }),
    conv2dShape([2, 5, 9, 9], [6, 5, 1, 1]),
    conv2dShape([2, 4, 10, 10], [4, 1, 3, 3], { padding: 1, groups: 4 }), // depthwise: one channel per group
    // the im2col path: stride 2, rows shorter than a strip
    conv2dShape([1, 8, 16, 16], [8, 8, 3, 3], { padding: 1, stride: 2 }),
    conv2dShape([2, 4, 6, 6], [4, 4, 3, 3], { padding: 1 }),
  ];
  const saved = [tuning.minMacsPerThread, convTuning.blockFloats];
  const rand = rng(5);
  try {
    for (const threads of [1, 2]) {
      const rt = initRuntime({ threads });
      const buf = new WasmBuffers(rt);
      tuning.minMacsPerThread = 0;
      buf.each(shapes, (s) => {
        const R = (s.C / s.groups) * s.kh * s.kw;
        const nx = s.N * s.C * s.H * s.W, nw = s.K * R, ny = s.N * s.K * s.OH * s.OW;
        // a ReLU's output (zero tiles) and weights near x, so the clamp cuts some terms and not others
        const x = buf.f32(nx, () => (rand() < 0.4 ? 0 : rand() * 2));
        const w = buf.f32(nw, () => rand() * 3 - 1);
        const dy = buf.f32(ny, () => rand() * 2 - 1);
        // one block per image, and blocks of 16 positions (several per image, col2im's order across them)
        for (const blockFloats of [32768, 16 * R]) {
          convTuning.blockFloats = blockFloats;
          const blockP = plan(s).blockP; // the kernels' own block size under this budget
          if (blockFloats !== 32768) assert.ok(blockP < s.OH * s.OW, `one block only: ${JSON.stringify(s)}`);
          for (const grad of ["paper", "sign"] as AdderGrad[]) {
            const dx = buf.f32(nx, () => NaN);
            fast.adder2dBackwardInput(x, dy, w, dx, s, grad);
            const want = replay(x, dy, w, s, grad, blockP);
            const what = `${grad}, ${threads} thread(s), blockP ${blockP}, ${JSON.stringify(s)}`;
            for (let i = 0; i < nx; i++) {
              if (!Object.is(dx[i], want[i])) assert.fail(`${what}: dx[${i}] = ${dx[i]}, replay ${want[i]}`);
            }
          }
        }
      });
    }
  } finally {
    [tuning.minMacsPerThread, convTuning.blockFloats] = saved;
    initRuntime({ threads: 1 });
  }
});

test("with zero inputs dropped, the input gradient keeps every bit where x ≠ +0 and leaves out rows of zeros", () => {
  // zeroInputsDropped: the caller (a ReLU's backward) discards dx where x = +0. Tile rows whose 8
  // inputs are all +0 are skipped, on the direct path (stride 1, rows of ≥ 8) and the im2col one.
  // Where x = +0 the result must still not depend on the threads or on what the scratch held.
  const shapes = [
    conv2dShape([2, 16, 8, 8], [16, 16, 3, 3], { padding: 1 }),
    conv2dShape([2, 6, 14, 14], [16, 6, 5, 5]),
    // image 1's last channel is all zeros: the last strip's lanes past P read past the x planes
    conv2dShape([2, 5, 14, 14], [8, 5, 5, 5]),
    conv2dShape([1, 5, 16, 16], [7, 5, 3, 3], { padding: 1 }),
    conv2dShape([1, 8, 16, 16], [8, 8, 3, 3], { padding: 1, stride: 2 }),
    conv2dShape([2, 4, 6, 6], [4, 4, 3, 3], { padding: 1 }),
    conv2dShape([2, 6, 12, 12], [6, 1, 3, 3], { padding: 1, groups: 6 }),
  ];
  const firstRun = new Map<string, Float32Array>();
  const savedGrain = tuning.minMacsPerThread;
  tuning.minMacsPerThread = 0; // every call splits across the threads
  try {
    for (const threads of [1, 2]) {
      const rand = rng(11); // the same data for both thread counts
      const rt = initRuntime({ threads });
      const buf = new WasmBuffers(rt);
      /** Every thread's scratch (1 MiB slots and more) set to v: what earlier kernels left there. */
      const fillScratch = (v: number) => rt.f32(threadScratch(rt, 1 << 20), (64 + threads * (1 << 20)) / 4).fill(v);
      buf.each(shapes, (s) => {
        const R = (s.C / s.groups) * s.kh * s.kw, HW = s.H * s.W;
        const nx = s.N * s.C * s.H * s.W, ny = s.N * s.K * s.OH * s.OW;
        // every third plane zero (whole zero rows), and scattered zeros elsewhere
        const x = buf.f32(nx, (i) => (Math.floor(i / HW) % 3 === 0 || rand() < 0.5 ? 0 : rand() * 2));
        const w = buf.f32(s.K * R, () => rand() * 3 - 1);
        const dy = buf.f32(ny, () => rand() * 2 - 1);
        for (const grad of ["paper", "sign"] as AdderGrad[]) {
          const what = `${grad} ${JSON.stringify(s)}`;
          const whole = buf.f32(nx, () => NaN), part = buf.f32(nx, () => NaN), again = buf.f32(nx, () => NaN);
          fast.adder2dBackwardInput(x, dy, w, whole, s, grad);
          fillScratch(0);
          fast.adder2dBackwardInput(x, dy, w, part, s, grad, true);
          fillScratch(NaN);
          fast.adder2dBackwardInput(x, dy, w, again, s, grad, true);
          if (!part.every((v, i) => Object.is(v, again[i]))) assert.fail(`${what}: dx with zeros dropped depends on the scratch's past`);
          let skipped = 0;
          for (let i = 0; i < nx; i++) {
            if (!Object.is(x[i], 0)) {
              if (!Object.is(part[i], whole[i])) assert.fail(`${what}: dx[${i}] = ${part[i]} with zeros dropped, ${whole[i]} without (x = ${x[i]})`);
            } else if (!Object.is(part[i], whole[i])) {
              skipped++;
            }
          }
          assert.ok(skipped > 0, `${what}: no work was left out`);
          const seen = firstRun.get(what);
          if (!seen) firstRun.set(what, Float32Array.from(part));
          else if (!seen.every((v, i) => Object.is(v, part[i]))) assert.fail(`${what}: dx with zeros dropped differs between 1 and 2 threads`);
        }
      });
    }
  } finally {
    tuning.minMacsPerThread = savedGrain;
    initRuntime({ threads: 1 });
  }
});
