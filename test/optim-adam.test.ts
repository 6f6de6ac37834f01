// Adam (L2, AMSGrad, decoupled) and RAdam against f64 transliterations of torch's
// `_single_tensor_adam` / `_single_tensor_radam`, plus hand-computed first steps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Adam, RAdam, radamRectification, type AdamOptions, type RAdamOptions } from "../src/optim/index.js";
import { randomArray, rng } from "./random.js";
import { assertScaledClose } from "./close.js";

interface Moments {
  p: number[];
  m: number[];
  v: number[];
  vmax?: number[];
}

/** torch Adam in double precision. */
function referenceAdam(p0: ArrayLike<number>, grads: ArrayLike<number>[], o: AdamOptions): Moments {
  const n = p0.length, [b1, b2] = o.betas;
  const p = Array.from(p0), m = new Array<number>(n).fill(0), v = new Array<number>(n).fill(0), vmax = new Array<number>(n).fill(0);
  grads.forEach((gt, k) => {
    const t = k + 1;
    for (let i = 0; i < n; i++) {
      let g = gt[i];
      if (o.weightDecay !== 0) {
        if (o.decoupledWeightDecay) p[i] *= 1 - o.lr * o.weightDecay;
        else g += o.weightDecay * p[i];
      }
      m[i] += (1 - b1) * (g - m[i]);
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const stepSize = o.lr / (1 - b1 ** t);
      let vh = v[i];
      if (o.amsgrad) vh = vmax[i] = Math.max(vmax[i], v[i]);
      const denom = Math.sqrt(vh) / Math.sqrt(1 - b2 ** t) + o.eps;
      p[i] -= (stepSize * m[i]) / denom;
    }
  });
  return { p, m, v, vmax };
}

/** torch RAdam in double precision. */
function referenceRAdam(p0: ArrayLike<number>, grads: ArrayLike<number>[], o: RAdamOptions): Moments & { rectified: boolean[] } {
  const n = p0.length, [b1, b2] = o.betas;
  const p = Array.from(p0), m = new Array<number>(n).fill(0), v = new Array<number>(n).fill(0);
  const rectified: boolean[] = [];
  grads.forEach((gt, k) => {
    const t = k + 1;
    const bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
    const rhoInf = 2 / (1 - b2) - 1;
    const rhoT = rhoInf - (2 * t * b2 ** t) / bc2;
    rectified.push(rhoT > 5);
    for (let i = 0; i < n; i++) {
      let g = gt[i];
      if (o.weightDecay !== 0) {
        if (o.decoupledWeightDecay) p[i] *= 1 - o.lr * o.weightDecay;
        else g += o.weightDecay * p[i];
      }
      m[i] += (1 - b1) * (g - m[i]);
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const mHat = m[i] / bc1;
      if (rhoT > 5) {
        const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
        const adaptive = Math.sqrt(bc2) / (Math.sqrt(v[i]) + o.eps);
        p[i] -= mHat * o.lr * adaptive * rect;
      } else {
        p[i] -= mHat * o.lr;
      }
    }
  });
  return { p, m, v, rectified };
}

function run(make: (p: { data: Float32Array; grad: Float32Array }) => { step(): void; stateDict(): { state: Record<string, unknown>[] } }, p0: Float32Array, grads: Float32Array[]) {
  const p = { data: Float32Array.from(p0), grad: new Float32Array(p0.length) };
  const opt = make(p);
  for (const g of grads) {
    p.grad.set(g);
    opt.step();
  }
  const st = opt.stateDict().state[0] as { expAvg: Float32Array; expAvgSq: Float32Array; maxExpAvgSq?: Float32Array; step: number };
  return { p: p.data, m: st.expAvg, v: st.expAvgSq, vmax: st.maxExpAvgSq, step: st.step };
}

const ADAM_BASE: AdamOptions = { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, decoupledWeightDecay: false };

test("Adam first step: p moves by lr·g/(|g| + eps)", () => {
  const p = { data: Float32Array.from([1, -1]), grad: Float32Array.from([0.5, -2]) };
  new Adam([p], { lr: 0.1 }).step();
  assertScaledClose(p.data, [1 - (0.1 * 0.5) / (0.5 + 1e-8), -1 + (0.1 * 2) / (2 + 1e-8)]);
});

test("Adam matches torch's formulas over 8 steps (plain, L2, amsgrad, decoupled)", () => {
  const r = rng(11);
  const variants: Partial<AdamOptions>[] = [
    {},
    { weightDecay: 0.1 },
    // beta2 = 0.9 so that v falls below its running maximum when the gradients shrink.
    { amsgrad: true, betas: [0.9, 0.9] },
    { amsgrad: true, betas: [0.9, 0.9], weightDecay: 0.05 },
    { decoupledWeightDecay: true, weightDecay: 0.1 },
    { betas: [0.5, 0.9], eps: 1e-3, lr: 0.05 },
  ];
  for (const variant of variants) {
    const o = { ...ADAM_BASE, ...variant };
    const n = 29;
    const p0 = randomArray(r, n);
    // Shrinking gradients make AMSGrad's running maximum matter.
    const grads = Array.from({ length: 8 }, (_, t) => randomArray(r, n, 1 / (t + 1)));
    const got = run((p) => new Adam([p], o), p0, grads);
    const want = referenceAdam(p0, grads, o);
    const what = JSON.stringify(variant);
    assert.equal(got.step, 8);
    assertScaledClose(got.p, want.p, 1e-6, `${what} p`);
    assertScaledClose(got.m, want.m, 1e-6, `${what} expAvg`);
    assertScaledClose(got.v, want.v, 1e-6, `${what} expAvgSq`);
    if (o.amsgrad) {
      assert.ok(got.vmax !== undefined, "amsgrad keeps maxExpAvgSq");
      assertScaledClose(got.vmax, want.vmax!, 1e-6, `${what} maxExpAvgSq`);
      assert.ok(got.vmax.some((x, i) => x > got.v[i] * 1.01), "the running maximum is exercised");
    } else {
      assert.equal(got.vmax, undefined);
    }
  }
});

test("AMSGrad, L2 and decoupled weight decay each change the result", () => {
  const r = rng(12);
  const n = 20;
  const p0 = randomArray(r, n);
  const grads = Array.from({ length: 6 }, (_, t) => randomArray(r, n, 1 / (t + 1)));
  const base = run((p) => new Adam([p], ADAM_BASE), p0, grads).p;
  for (const variant of [{ weightDecay: 0.1 }, { weightDecay: 0.1, decoupledWeightDecay: true }]) {
    const other = run((p) => new Adam([p], { ...ADAM_BASE, ...variant }), p0, grads).p;
    assert.ok(other.some((v, i) => Math.abs(v - base[i]) > 1e-5), JSON.stringify(variant));
  }
  const fast: Partial<AdamOptions> = { betas: [0.9, 0.9] };
  const plain = run((p) => new Adam([p], { ...ADAM_BASE, ...fast }), p0, grads).p;
  const ams = run((p) => new Adam([p], { ...ADAM_BASE, ...fast, amsgrad: true }), p0, grads).p;
  assert.ok(ams.some((v, i) => Math.abs(v - plain[i]) > 1e-5), "amsgrad");
  const l2 = run((p) => new Adam([p], { ...ADAM_BASE, weightDecay: 0.1 }), p0, grads).p;
  const decoupled = run((p) => new Adam([p], { ...ADAM_BASE, weightDecay: 0.1, decoupledWeightDecay: true }), p0, grads).p;
  assert.ok(l2.some((v, i) => Math.abs(v - decoupled[i]) > 1e-5), "L2 and decoupled decay must differ");
});

test("RAdam rectification switches on when rho_t > 5 (step 6 with beta2 = 0.999)", () => {
  for (let t = 1; t <= 5; t++) assert.equal(radamRectification(0.999, t), null, `step ${t}`);
  const r6 = radamRectification(0.999, 6);
  assert.ok(r6 !== null && r6 > 0 && r6 < 1);
  // rho_t is increasing, so the rectification stays on and tends to 1.
  assert.ok(radamRectification(0.999, 1e6)! > 0.999);
  assert.equal(radamRectification(0.5, 100), null, "rho_inf = 3 never exceeds 5");
});

test("RAdam first step is the un-rectified bias-corrected momentum step p − lr·g", () => {
  const p = { data: Float32Array.from([1, -1]), grad: Float32Array.from([0.5, -2]) };
  new RAdam([p], { lr: 0.1 }).step();
  assertScaledClose(p.data, [0.95, -0.8]);
});

test("RAdam matches torch's formulas over 10 steps, across the rectification threshold", () => {
  const r = rng(13);
  const variants: Partial<RAdamOptions>[] = [{}, { weightDecay: 0.1 }, { decoupledWeightDecay: true, weightDecay: 0.1 }, { betas: [0.8, 0.99], eps: 1e-4 }];
  for (const variant of variants) {
    const o: RAdamOptions = { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, decoupledWeightDecay: false, ...variant };
    const n = 31;
    const p0 = randomArray(r, n);
    const grads = Array.from({ length: 10 }, () => randomArray(r, n));
    const got = run((p) => new RAdam([p], o), p0, grads);
    const want = referenceRAdam(p0, grads, o);
    assert.ok(want.rectified.includes(true) && want.rectified.includes(false), "both branches are exercised");
    const what = JSON.stringify(variant);
    assertScaledClose(got.p, want.p, 1e-6, `${what} p`);
    assertScaledClose(got.m, want.m, 1e-6, `${what} expAvg`);
    assertScaledClose(got.v, want.v, 1e-6, `${what} expAvgSq`);
  }
});

test("RAdam's rectified step differs from the un-rectified one", () => {
  // Same state after 5 steps; step 6 is rectified. Compare against a hand-made un-rectified step.
  const r = rng(14);
  const n = 8;
  const p0 = randomArray(r, n);
  const grads = Array.from({ length: 6 }, () => randomArray(r, n));
  const o: RAdamOptions = { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, decoupledWeightDecay: false };
  const five = run((p) => new RAdam([p], o), p0, grads.slice(0, 5));
  const six = run((p) => new RAdam([p], o), p0, grads);
  const bc1 = 1 - 0.9 ** 6;
  const unrectified = Array.from(five.p, (v, i) => v - (0.01 * (five.m[i] + 0.1 * (grads[5][i] - five.m[i]))) / bc1);
  assert.ok(six.p.some((v, i) => Math.abs(v - unrectified[i]) > 1e-4));
});
