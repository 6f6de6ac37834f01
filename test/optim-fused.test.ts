// The wasm optimizer updates (src/kernels/optim.ts, installed by the library's entry point) give
// the bits of Adam's and SGD's TypeScript loops: every option, odd lengths, tensors split across
// two threads, state saved and loaded. Arrays outside the kernel memory take the loops.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initRuntime } from "../src/kernels/runtime.js";
import { Adam, RAdam, SGD, useFusedUpdates, fusedUpdates, type FusedUpdates, type OptimParam, type Optimizer } from "../src/optim/index.js";
import { wasmUpdates } from "../src/index.js";
import { rng } from "./random.js";

const rt = initRuntime({ threads: 2 });
// 20,001 elements split across both threads; the others run one thread, with odd tails
const LENGTHS = [1, 3, 6, 17, 1001, 20001];
const STEPS = 8;

function wasmArray(values: Float32Array): Float32Array {
  const a = rt.f32(rt.heap.alloc(values.length * 4), values.length);
  a.set(values);
  return a;
}

function randomValues(r: () => number, n: number, scale: number): Float32Array {
  // a few exact zeros and negative zeros, where signs of zero could differ
  return Float32Array.from({ length: n }, (_, i) => (i % 97 === 5 ? 0 : i % 89 === 7 ? -0 : (r() * 2 - 1) * scale));
}

function params(seed: number, inWasm: boolean): OptimParam[] {
  const r = rng(seed);
  return LENGTHS.map((n, k) => {
    const data = randomValues(r, n, 1), grad = randomValues(r, n, 0.1);
    return { data: inWasm ? wasmArray(data) : data, grad: inWasm ? wasmArray(grad) : grad, name: `p${k}` };
  });
}

/** Counts the updates the engine took (true returns), so a silent fallback cannot pass as fused. */
function counting(inner: FusedUpdates): FusedUpdates & { taken: number } {
  const c = {
    taken: 0,
    stateArray: inner.stateArray,
    adam: (...a: Parameters<FusedUpdates["adam"]>) => (inner.adam(...a) ? (c.taken++, true) : false),
    radam: (...a: Parameters<FusedUpdates["radam"]>) => (inner.radam(...a) ? (c.taken++, true) : false),
    sgd: (...a: Parameters<FusedUpdates["sgd"]>) => (inner.sgd(...a) ? (c.taken++, true) : false),
  };
  return c;
}

/** Runs `steps` steps with fresh gradients each step; returns every parameter's bits. */
function train(make: (ps: OptimParam[]) => Optimizer, ps: OptimParam[], steps: number, seed: number): Uint32Array[] {
  const opt = make(ps);
  const r = rng(seed);
  for (let s = 0; s < steps; s++) {
    for (const p of ps) p.grad!.set(randomValues(r, p.grad!.length, 0.1 * (s + 1)));
    opt.step();
  }
  return ps.map((p) => new Uint32Array(Float32Array.from(p.data).buffer));
}

function withEngine<T>(engine: FusedUpdates | null, fn: () => T): T {
  const saved = fusedUpdates();
  useFusedUpdates(engine);
  try {
    return fn();
  } finally {
    useFusedUpdates(saved);
  }
}

function assertSameBits(actual: Uint32Array[], expected: Uint32Array[], what: string): void {
  actual.forEach((a, k) => {
    for (let i = 0; i < a.length; i++) assert.equal(a[i], expected[k][i], `${what}: p${k}[${i}] bits ${a[i].toString(16)} vs ${expected[k][i].toString(16)}`);
  });
}

test("wasm updates: loading the library installs them", () => {
  assert.equal(fusedUpdates(), wasmUpdates);
});

const CASES: [string, (ps: OptimParam[]) => Optimizer][] = [
  ["Adam", (ps) => new Adam(ps, { lr: 0.01 })],
  ["Adam, L2 decay", (ps) => new Adam(ps, { lr: 0.01, weightDecay: 0.05 })],
  ["AdamW, β1 = 0.3 (lerp's w ≥ 0.5 form)", (ps) => new Adam(ps, { lr: 0.01, weightDecay: 0.05, decoupledWeightDecay: true, betas: [0.3, 0.95] })],
  ["Adam, AMSGrad, eps 1e-3", (ps) => new Adam(ps, { lr: 0.01, amsgrad: true, eps: 1e-3 })],
  // β2 = 0.9: the rectified step starts at step 6 of 8 (β2 = 0.999 would need far more steps)
  ["RAdam, β2 = 0.9", (ps) => new RAdam(ps, { lr: 0.01, betas: [0.9, 0.9] })],
  ["RAdam, L2 decay, β1 = 0.4", (ps) => new RAdam(ps, { lr: 0.01, betas: [0.4, 0.9], weightDecay: 0.05 })],
  ["RAdam, decoupled decay", (ps) => new RAdam(ps, { lr: 0.01, betas: [0.9, 0.9], weightDecay: 0.05, decoupledWeightDecay: true })],
  ["SGD", (ps) => new SGD(ps, { lr: 0.1 })],
  ["SGD, weight decay", (ps) => new SGD(ps, { lr: 0.1, weightDecay: 0.01 })],
  ["SGD, momentum", (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 })],
  ["SGD, momentum, dampening", (ps) => new SGD(ps, { lr: 0.1, momentum: 0.5, dampening: 0.3 })],
  ["SGD, Nesterov, weight decay", (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
];

for (const [name, make] of CASES) {
  test(`wasm updates: ${name} gives the TypeScript loop's bits`, () => {
    const expected = withEngine(null, () => train(make, params(7, true), STEPS, 11));
    const engine = counting(wasmUpdates);
    const actual = withEngine(engine, () => train(make, params(7, true), STEPS, 11));
    assert.equal(engine.taken, STEPS * LENGTHS.length, "every update ran in wasm");
    assertSameBits(actual, expected, name);
  });
}

test("wasm updates: parameters outside the kernel memory take the TypeScript loop", () => {
  const make = CASES.find(([name]) => name === "SGD, momentum")![1];
  const expected = withEngine(null, () => train(make, params(3, false), 3, 5));
  const engine = counting(wasmUpdates);
  const actual = withEngine(engine, () => train(make, params(3, false), 3, 5));
  assert.equal(engine.taken, 0);
  assertSameBits(actual, expected, "plain arrays");
});

test("wasm updates: state saved mid-run and loaded into a new optimizer continues with the same bits", () => {
  for (const [, make] of CASES.filter(([name]) => /AMSGrad|Nesterov|RAdam, β2/.test(name))) {
    const straight = withEngine(wasmUpdates, () => train(make, params(21, true), 4, 9));
    const resumed = withEngine(wasmUpdates, () => {
      const ps = params(21, true);
      const r = rng(9);
      const first = make(ps);
      for (let s = 0; s < 2; s++) {
        for (const p of ps) p.grad!.set(randomValues(r, p.grad!.length, 0.1 * (s + 1)));
        first.step();
      }
      const second = make(ps);
      second.loadStateDict(first.stateDict());
      const engine = counting(wasmUpdates);
      useFusedUpdates(engine);
      for (let s = 2; s < 4; s++) {
        for (const p of ps) p.grad!.set(randomValues(r, p.grad!.length, 0.1 * (s + 1)));
        second.step();
      }
      // loaded state lands in the kernel memory, so the resumed steps run in wasm too
      assert.equal(engine.taken, 2 * LENGTHS.length);
      return ps.map((p) => new Uint32Array(Float32Array.from(p.data).buffer));
    });
    assertSameBits(resumed, straight, "resumed");
  }
});
