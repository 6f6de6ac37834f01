// AdderNet's gradients are surrogates, so they are checked against their formulas (reference §2),
// computed here the way the official adder.py does: unfold the zero-padded input into patches,
// then broadcast against the weights. Independent of the kernels and of the reference kernels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { Adder2d, AdderLinear, type AdderGrad } from "../src/nn/adder.js";
import { backward } from "../src/tensor/autograd.js";
import { Rng, uniform } from "../src/tensor/random.js";
import { scope } from "../src/tensor/storage.js";
import { Parameter } from "../src/tensor/tensor.js";
import { randomParam } from "./helpers.js";

initRuntime({ threads: 1 });

interface Geometry { N: number; C: number; H: number; W: number; K: number; k: number; stride: number; pad: number; groups: number }

/** patches[n][p][g][c·k·k + ki·k + kj] of the zero-padded input, and where each tap came from (−1: padding). */
function unfold(x: Float32Array, g: Geometry) {
  const OH = Math.floor((g.H + 2 * g.pad - g.k) / g.stride) + 1, OW = Math.floor((g.W + 2 * g.pad - g.k) / g.stride) + 1;
  const Cg = g.C / g.groups, R = Cg * g.k * g.k;
  const value: number[][][][] = [], source: number[][][][] = [];
  for (let n = 0; n < g.N; n++) {
    value.push([]); source.push([]);
    for (let p = 0; p < OH * OW; p++) {
      const oh = Math.floor(p / OW), ow = p % OW;
      value[n].push([]); source[n].push([]);
      for (let gi = 0; gi < g.groups; gi++) {
        const vals: number[] = [], srcs: number[] = [];
        for (let r = 0; r < R; r++) {
          const c = Math.floor(r / (g.k * g.k)), ki = Math.floor(r / g.k) % g.k, kj = r % g.k;
          const ih = oh * g.stride - g.pad + ki, iw = ow * g.stride - g.pad + kj;
          const inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
          const idx = inside ? ((n * g.C + gi * Cg + c) * g.H + ih) * g.W + iw : -1;
          vals.push(idx < 0 ? 0 : x[idx]);
          srcs.push(idx);
        }
        value[n][p].push(vals); source[n][p].push(srcs);
      }
    }
  }
  return { value, source, P: OH * OW, R };
}

const clamp1 = (v: number) => Math.max(-1, Math.min(1, v));

/** y, dL/dx and dL/dw for upstream gradient G, by the formulas. */
function adderByFormula(x: Float32Array, w: Float32Array, G: Float32Array, g: Geometry, grad: AdderGrad) {
  const { value, source, P, R } = unfold(x, g);
  const Kg = g.K / g.groups;
  const y = new Float64Array(g.N * g.K * P), dx = new Float64Array(x.length), dw = new Float64Array(w.length);
  for (let n = 0; n < g.N; n++) {
    for (let k = 0; k < g.K; k++) {
      const gi = Math.floor(k / Kg);
      for (let p = 0; p < P; p++) {
        const yi = (n * g.K + k) * P + p;
        for (let r = 0; r < R; r++) {
          const xv = value[n][p][gi][r], wv = w[k * R + r], src = source[n][p][gi][r];
          y[yi] -= Math.abs(xv - wv);
          dw[k * R + r] += G[yi] * (grad === "sign" ? Math.sign(xv - wv) : xv - wv);
          if (src >= 0) dx[src] += G[yi] * (grad === "sign" ? Math.sign(wv - xv) : clamp1(wv - xv));
        }
      }
    }
  }
  return { y, dx, dw };
}

function assertNear(got: Float32Array, want: Float64Array, tol: number, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])))) assert.fail(`${what}[${i}] = ${got[i]}, formula gives ${want[i]}`);
  }
}

const geometries: Geometry[] = [
  { N: 2, C: 3, H: 6, W: 5, K: 4, k: 3, stride: 1, pad: 1, groups: 1 },
  { N: 1, C: 4, H: 7, W: 7, K: 6, k: 3, stride: 2, pad: 1, groups: 2 },
  { N: 2, C: 3, H: 5, W: 5, K: 3, k: 3, stride: 1, pad: 2, groups: 3 }, // depthwise, wide padding
  { N: 3, C: 2, H: 4, W: 4, K: 5, k: 1, stride: 1, pad: 0, groups: 1 },
];

for (const grad of ["paper", "sign"] as AdderGrad[]) {
  test(`Adder2d forward and '${grad}' gradients follow their formulas (padding, stride, groups)`, () => {
    const rng = Rng.fromSeed(11);
    for (const g of geometries) {
      const layer = new Adder2d(g.C, g.K, g.k, { stride: g.stride, padding: g.pad, groups: g.groups, grad });
      const x = randomParam([g.N, g.C, g.H, g.W], rng, 1.5);
      scope(() => {
        const y = layer.forward(x);
        const G = Float32Array.from({ length: y.size }, () => uniform(rng, -1, 1));
        const want = adderByFormula(x.data, layer.weight.data, G, g, grad);
        assertNear(y.data, want.y, 1e-5, `y ${JSON.stringify(g)}`);
        x.grad?.fill(0);
        layer.weight.grad?.fill(0);
        backward(y, G);
        assertNear(x.grad!, want.dx, 1e-4, `dx ${JSON.stringify(g)}`);
        assertNear(layer.weight.grad!, want.dw, 1e-4, `dw ${JSON.stringify(g)}`);
      });
    }
  });
}

test("a padded tap contributes −|w|: a zero image gives −Σ|w| at the centre of a 'same' 3×3 adder", () => {
  const layer = new Adder2d(1, 1, 3, { padding: 1 });
  const x = Parameter.create([1, 1, 1, 1]); // one zero pixel: eight of the nine taps are padding
  scope(() => {
    const y = layer.forward(x);
    const want = -layer.weight.toArray().reduce((s, v) => s + Math.abs(v), 0);
    assert.ok(Math.abs(y.data[0] - want) < 1e-5, `${y.data[0]} vs ${want}`);
  });
});

test("AdderLinear forward and gradients follow their formulas, bias gradient is Σ dy", () => {
  const rng = Rng.fromSeed(12);
  for (const grad of ["paper", "sign"] as AdderGrad[]) {
    const [N, I, O] = [5, 19, 7];
    const layer = new AdderLinear(I, O, { bias: true, grad });
    const x = randomParam([N, I], rng, 1.5);
    scope(() => {
      const y = layer.forward(x);
      const G = Float32Array.from({ length: y.size }, () => uniform(rng, -1, 1));
      x.grad?.fill(0);
      layer.weight.grad?.fill(0);
      layer.bias!.grad?.fill(0);
      backward(y, G);
      const w = layer.weight.data, b = layer.bias!.data;
      for (let n = 0; n < N; n++) {
        for (let o = 0; o < O; o++) {
          let s = b[o];
          for (let i = 0; i < I; i++) s -= Math.abs(x.data[n * I + i] - w[o * I + i]);
          assert.ok(Math.abs(y.data[n * O + o] - s) < 1e-4 * (1 + Math.abs(s)), `y[${n},${o}]`);
        }
      }
      for (let i = 0; i < I; i++) {
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let o = 0; o < O; o++) {
            const d = w[o * I + i] - x.data[n * I + i];
            s += G[n * O + o] * (grad === "sign" ? Math.sign(d) : clamp1(d));
          }
          assert.ok(Math.abs(x.grad![n * I + i] - s) < 1e-4 * (1 + Math.abs(s)), `dx[${n},${i}] (${grad})`);
        }
        for (let o = 0; o < O; o++) {
          let s = 0;
          for (let n = 0; n < N; n++) {
            const d = x.data[n * I + i] - w[o * I + i];
            s += G[n * O + o] * (grad === "sign" ? Math.sign(d) : d);
          }
          assert.ok(Math.abs(layer.weight.grad![o * I + i] - s) < 1e-4 * (1 + Math.abs(s)), `dw[${o},${i}] (${grad})`);
        }
      }
      for (let o = 0; o < O; o++) {
        let s = 0;
        for (let n = 0; n < N; n++) s += G[n * O + o];
        assert.ok(Math.abs(layer.bias!.grad![o] - s) < 1e-5 * (1 + Math.abs(s)), `db[${o}]`);
      }
    });
  }
});

test("the paper's input gradient is bounded (HardTanh) and differs from the sign rule only where |w − x| < 1", () => {
  const rng = Rng.fromSeed(13);
  const x = randomParam([1, 3], rng, 3);
  const paper = new AdderLinear(3, 1);
  const sign = new AdderLinear(3, 1, { grad: "sign" });
  sign.weight.data.set(paper.weight.data);
  const dxOf = (layer: AdderLinear) =>
    scope(() => {
      x.grad?.fill(0);
      backward(layer.forward(x), new Float32Array([1]));
      return Float32Array.from(x.grad!);
    });
  const dp = dxOf(paper), ds = dxOf(sign);
  for (let i = 0; i < 3; i++) {
    const d = paper.weight.data[i] - x.data[i];
    assert.ok(Math.abs(dp[i]) <= 1);
    if (Math.abs(d) >= 1) assert.equal(dp[i], ds[i]);
    else assert.ok(Math.abs(dp[i] - d) < 1e-6);
  }
});
