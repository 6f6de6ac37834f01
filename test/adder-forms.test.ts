// The two forms of the adder forward sum (src/kernels/adder.ts), checked bit for bit against their
// f32 definitions written out here in plain loops: "direct" must stay the term-by-term order that
// older models were trained with (so they re-run bit for bit), and "min" must be exactly
// (2·Σ min(a, b) − Σa) − Σb with its documented summation orders. Inputs come signed, ≥ +0 (as after
// a ReLU, where the kernels take the min on the integer bit patterns) and ≥ +0 but for one −0
// (which must send them back to the FP min: the integer min of −0 and a negative w is −0).
import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { conv2dShape, type Conv2dShape } from "../src/kernels/conv2d.js";
import * as fast from "../src/kernels/adder.js";
import type { AdderForm } from "../src/kernels/adder.js";
import { rng } from "./random.js";

const f = Math.fround;

/** Σ a[k] as rowSums in assembly/adder.ts: four lane sums, then (l0 + l1) + (l2 + l3), then the tail. */
function laneSum(a: number[]): number {
  const lanes = [0, 0, 0, 0];
  const k4 = a.length - (a.length % 4);
  for (let k = 0; k < k4; k++) lanes[k % 4] = f(lanes[k % 4] + a[k]);
  let tail = 0;
  for (let k = k4; k < a.length; k++) tail = f(tail + a[k]);
  return f(f(f(lanes[0] + lanes[1]) + f(lanes[2] + lanes[3])) + tail);
}

/** Σ b[k] in order from 0 (columnSums). */
function orderedSum(b: number[]): number {
  let s = 0;
  for (const v of b) s = f(s + v);
  return s;
}

/** −Σ|a − b| in the given form; `rowsOfA` says which operand rowSums sees (the other is columnSums). */
function distance(a: number[], b: number[], form: AdderForm, rowsOfA: boolean): number {
  let acc = 0;
  if (form === "direct") {
    for (let k = 0; k < a.length; k++) acc = f(acc - Math.abs(f(a[k] - b[k])));
    return acc;
  }
  for (let k = 0; k < a.length; k++) acc = f(acc + Math.min(a[k], b[k]));
  const [rows, cols] = rowsOfA ? [a, b] : [b, a];
  return f(f(f(2 * acc) - laneSum(rows)) - orderedSum(cols));
}

/** The conv in the given form: A = a weight row, B = an im2col column (taps in (c, ki, kj) order, padding 0). */
function convMirror(x: Float32Array, w: Float32Array, bias: Float32Array, s: Conv2dShape, form: AdderForm): Float32Array {
  const Cg = s.C / s.groups, Kg = s.K / s.groups, R = Cg * s.kh * s.kw;
  const used = form === "min" && Kg >= 2 ? "min" : "direct"; // one output channel per group: direct
  const y = new Float32Array(s.N * s.K * s.OH * s.OW);
  for (let n = 0; n < s.N; n++) for (let k = 0; k < s.K; k++) {
    const g = Math.floor(k / Kg), row = Array.from(w.subarray(k * R, (k + 1) * R));
    for (let oh = 0; oh < s.OH; oh++) for (let ow = 0; ow < s.OW; ow++) {
      const column: number[] = [];
      for (let c = 0; c < Cg; c++) for (let ki = 0; ki < s.kh; ki++) for (let kj = 0; kj < s.kw; kj++) {
        const ih = oh * s.strideH - s.padH + ki * s.dilationH, iw = ow * s.strideW - s.padW + kj * s.dilationW;
        const inside = ih >= 0 && ih < s.H && iw >= 0 && iw < s.W;
        column.push(inside ? x[((n * s.C + g * Cg + c) * s.H + ih) * s.W + iw] : 0);
      }
      y[((n * s.K + k) * s.OH + oh) * s.OW + ow] = f(distance(row, column, used, true) + bias[k]);
    }
  }
  return y;
}

function linearMirror(x: Float32Array, w: Float32Array, bias: Float32Array, N: number, I: number, O: number, form: AdderForm): Float32Array {
  const y = new Float32Array(N * O);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
    const xs = Array.from(x.subarray(n * I, (n + 1) * I)), ws = Array.from(w.subarray(o * I, (o + 1) * I));
    y[n * O + o] = f(distance(xs, ws, form, true) + bias[o]);
  }
  return y;
}

const INPUTS = ["signed", "≥ +0", "≥ +0 but one −0"] as const; // linear: −0 in a row tail

/**
 * x as the test wants it: as drawn, or |x| with every fifth value +0 (a ReLU's), and maybe −0 at
 * `negativeZeros` (a linear layer's row tail is summed apart from its vectors: cover both).
 */
function shapeInput(x: Float32Array, input: (typeof INPUTS)[number], negativeZeros = [x.length >> 1]): void {
  if (input === "signed") return;
  for (let i = 0; i < x.length; i++) x[i] = i % 5 === 0 ? 0 : Math.abs(x[i]);
  if (input === "≥ +0 but one −0") for (const i of negativeZeros) x[i] = -0;
}

test("both forward forms give the bytes of their f32 definitions (conv and linear, 1 and 2 threads, any signs)", () => {
  const rand = rng(2026);
  const rt = initRuntime({ threads: 2 });
  const arrays: number[] = [];
  const make = (n: number) => {
    const ptr = rt.heap.alloc(Math.max(n, 1) * 4);
    arrays.push(ptr);
    const v = rt.f32(ptr, n);
    for (let i = 0; i < n; i++) v[i] = f(rand() * 6 - 3);
    return v;
  };
  const convs = [
    conv2dShape([2, 1, 12, 12], [6, 1, 5, 5], { padding: 2 }), // LeNet conv1-like, padded taps
    conv2dShape([2, 6, 7, 7], [16, 6, 5, 5]), // R = 150: lane sums with a tail
    conv2dShape([1, 6, 9, 8], [6, 2, 3, 3], { groups: 3, stride: 2, padding: 1 }), // Kg = 2
    conv2dShape([2, 4, 6, 6], [4, 1, 3, 3], { groups: 4, padding: 1 }), // depthwise: direct in both forms
  ];
  try {
    for (const threads of [2, 1]) {
      rt.setThreads(threads);
      for (const s of convs) for (const input of INPUTS) {
        const x = make(s.N * s.C * s.H * s.W), w = make(s.K * (s.C / s.groups) * s.kh * s.kw), b = make(s.K);
        shapeInput(x, input);
        const out: Record<string, Float32Array> = {};
        for (const form of ["min", "direct"] as AdderForm[]) {
          const y = make(s.N * s.K * s.OH * s.OW);
          fast.adder2dForward(x, w, b, y, s, form);
          assert.deepEqual(y, convMirror(x, w, b, s, form), `conv ${form} ${JSON.stringify(s)}, x ${input}, ${threads} thread(s)`);
          out[form] = y;
        }
        // the forms must really differ where the min form applies (else this test could not tell them apart)
        assert.equal(out.min.some((v, i) => v !== out.direct[i]), s.K / s.groups >= 2, `conv forms differ ${JSON.stringify(s)}`);
      }
      for (const [N, I, O] of [[5, 37, 20], [3, 256, 17], [1, 7, 3]]) for (const input of INPUTS) {
        const x = make(N * I), w = make(O * I), b = make(O);
        shapeInput(x, input, [I - 1]); // the first row's last tap: a tail when I % 4 != 0
        const out: Record<string, Float32Array> = {};
        for (const form of ["min", "direct"] as AdderForm[]) {
          const y = make(N * O);
          fast.adderLinearForward(x, w, b, y, N, I, O, form);
          assert.deepEqual(y, linearMirror(x, w, b, N, I, O, form), `linear ${form} ${N}×${I}→${O}, x ${input}, ${threads} thread(s)`);
          out[form] = y;
        }
        if (N * O > 10) assert.ok(out.min.some((v, i) => v !== out.direct[i]), `linear forms differ ${N}×${I}→${O}`);
      }
    }
  } finally {
    for (const p of arrays) rt.heap.free(p);
  }
});
