import { test } from "node:test";
import { mulfree } from "./cli-helpers.js";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readBundle } from "../src/deploy/run/decode.js";
import { encodeCheckpoint } from "../src/train/checkpoint.js";
import { ExportError } from "../src/deploy/export/errors.js";
import { foldBatchNorm, foldRequant, quantizeMultiplier } from "../src/deploy/export/fold.js";
import { exportModel } from "../src/deploy/export/export_model.js";
import { fieldBitsFor, MAX_FIELD_BITS, packedBytes, packShifts, unpackShifts } from "../src/deploy/run/pack_shift.js";
import { quantizeAdder, quantizeMul, quantizeShift } from "../src/deploy/export/quantize_layers.js";
import { oihwToOhwi } from "../src/deploy/export/weights_layout.js";
import { addRequantU8, requantizeU8 } from "../src/kernels/reference/int8.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { createModel, resolveSpec } from "../src/models/zoo.js";
import { Sequential } from "../src/nn/container.js";
import { Conv2d } from "../src/nn/conv.js";
import { AvgPool2d, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU } from "../src/nn/layers.js";
import { BatchNorm1d, BatchNorm2d } from "../src/nn/batchnorm.js";
import { Adder2d } from "../src/nn/adder.js";
import { Module } from "../src/nn/module.js";
import { add } from "../src/tensor/ops/arith.js";
import { relu } from "../src/tensor/ops/activation.js";
import type { Tensor } from "../src/tensor/tensor.js";
import { encodeBundle } from "../src/deploy/run/encode.js";
import type { AddNode, AvgPoolNode, LayerNode } from "../src/deploy/run/format.js";
import { load } from "../src/deploy/run/runner.js";
import { addMultipliers } from "../src/deploy/export/requant_add.js";
import { Linear } from "../src/nn/linear.js";
import { manualSeed } from "../src/tensor/random.js";
import { rng } from "./random.js";
import { floatLogits, MEAN, SHAPE, STD, settle, tinyChain, tinyImages } from "./deploy-tiny-models.js";

initRuntime({ threads: 1 });

test("BatchNorm folding: requantizeU8 matches round(BN(y)/s_out) + zp of the float formula", () => {
  const r = rng(11);
  let exact = 0, total = 0;
  for (let trial = 0; trial < 40; trial++) {
    const K = 1 + Math.floor(r() * 9);
    const bn = {
      weight: Float64Array.from({ length: K }, () => (r() < 0.5 ? -1 : 1) * (0.05 + 2 * r())),
      bias: Float64Array.from({ length: K }, () => 2 * r() - 1),
      runningMean: Float64Array.from({ length: K }, () => 40 * r() - 20),
      runningVar: Float64Array.from({ length: K }, () => 0.5 + 30 * r()),
      eps: 1e-5,
    };
    const layerBias = r() < 0.5 ? Float64Array.from({ length: K }, () => r() - 0.5) : null;
    const unit = Float64Array.from({ length: K }, () => 1e-3 + 0.05 * r());
    const offset = Float64Array.from({ length: K }, () => Math.round(200 * r() - 100));
    const acc = { unit, offset, accMin: new Float64Array(K).fill(-5000), accMax: new Float64Array(K).fill(5000) };
    const { a, d } = foldBatchNorm(K, bn, layerBias);
    const out = { scale: 0.01 + 0.1 * r(), zeroPoint: Math.floor(r() * 256) };
    const rq = foldRequant("test", acc, a, d, out);
    const M = 400;
    const accs = Int32Array.from({ length: M * K }, () => Math.round(10000 * r() - 5000));
    const q = new Uint8Array(M * K);
    requantizeU8(accs, M, K, rq.bias, rq.mult, rq.shift, out.zeroPoint, 0, 255, q, rq.biasBits);
    for (let m = 0; m < M; m++) {
      for (let c = 0; c < K; c++) {
        const y = unit[c] * (accs[m * K + c] + offset[c]); // the layer output without its bias
        const b = layerBias ? layerBias[c] : 0;
        const z = (bn.weight[c] * (y + b - bn.runningMean[c])) / Math.sqrt(bn.runningVar[c] + bn.eps) + bn.bias[c];
        const real = z / out.scale + out.zeroPoint;
        const want = Math.min(255, Math.max(0, Math.round(real)));
        const got = q[m * K + c];
        // the folded bias is rounded to 2^−(F+1) accumulator units and the multiplier to 2^−15: bound the error
        const M_ = Math.abs(a[c] * unit[c] / out.scale), F = 2 ** rq.biasBits;
        const bound = (0.5 * M_) / F + Math.abs(accs[m * K + c] * F + rq.bias[c]) * (M_ / F) * 2 ** -14 + 1e-9;
        assert.ok(Math.abs(got - Math.min(255, Math.max(0, real))) <= 0.5 + bound, `channel ${c}: got ${got}, float ${real}`);
        if (got === want) exact++;
        total++;
      }
    }
  }
  assert.ok(exact / total > 0.95, `${exact}/${total} exactly equal`);
});

test("BatchNorm folding: a coarse accumulator unit (a 4-bit adder layer) keeps its bias to 2^−9 units", () => {
  // one accumulator unit worth up to 4 output steps: a bias rounded to whole units (biasBits 0)
  // would move whole channels by up to 2 steps; with 8 fraction bits every output is the float
  // formula's rounding except at ties
  const r = rng(23);
  let exact = 0, total = 0;
  for (let trial = 0; trial < 30; trial++) {
    const K = 1 + Math.floor(r() * 8), taps = 9, levels = 15;
    const unit = new Float64Array(K).fill(-0.3); // −s: an adder layer's unit
    const offset = Float64Array.from({ length: K }, () => r() * 3);
    const acc = { unit, offset, accMin: new Float64Array(K), accMax: new Float64Array(K).fill(taps * levels), reach: new Float64Array(K).fill(255 * taps) };
    const a = Float64Array.from({ length: K }, () => -(0.5 + 3.5 * r()) * 0.2 / 0.3); // |A| / s_out in 0.5…4
    const d = Float64Array.from({ length: K }, () => 10 * r() - 2);
    const out = { scale: 0.2, zeroPoint: 0 };
    const rq = foldRequant("test", acc, a, d, out);
    assert.equal(rq.biasBits, 8);
    const accs = Int32Array.from({ length: 200 * K }, () => Math.floor(r() * (taps * levels + 1)));
    const q = new Uint8Array(accs.length);
    requantizeU8(accs, 200, K, rq.bias, rq.mult, rq.shift, 0, 0, levels, q, rq.biasBits);
    for (let i = 0; i < accs.length; i++) {
      const c = i % K;
      const real = (a[c]! * unit[c]! * (accs[i]! + offset[c]!) + d[c]!) / out.scale;
      const want = Math.min(levels, Math.max(0, Math.round(real)));
      const tie = Math.abs(Math.abs(real - Math.floor(real)) - 0.5) < 0.02;
      assert.ok(q[i] === want || tie, `channel ${c}: got ${q[i]}, float ${real}`);
      if (q[i] === want) exact++;
      total++;
    }
  }
  assert.ok(exact / total > 0.98, `${exact}/${total} exactly equal`);
});

test("quantizeMultiplier keeps 15 bits, rounds correctly, and refuses what it cannot hold", () => {
  const r = rng(5);
  for (let i = 0; i < 500; i++) {
    const m = (r() < 0.5 ? -1 : 1) * 2 ** (40 * r() - 30);
    const { mult, shift } = quantizeMultiplier(m);
    assert.ok(Math.abs(mult) < 2 ** 15 && shift >= 1 && shift <= 52);
    if (shift < 52) {
      assert.ok(Math.abs(mult) >= 2 ** 14, `${m}: mult ${mult} uses all 15 bits`);
      assert.ok(Math.abs(mult / 2 ** shift - m) <= 2 ** -(shift + 1) * 1.000001, `${m} ≈ ${mult}/2^${shift}`);
    }
  }
  assert.deepEqual(quantizeMultiplier(0), { mult: 0, shift: 1 });
  assert.throws(() => quantizeMultiplier(2 ** 15), /too large/);
});

test("foldRequant refuses a layer whose accumulator plus bias could overflow int32", () => {
  const acc = { unit: Float64Array.of(1e-9), offset: Float64Array.of(0), accMin: Float64Array.of(0), accMax: Float64Array.of(2 ** 30) };
  assert.throws(() => foldRequant("fc9", acc, Float64Array.of(1), Float64Array.of(5), { scale: 0.1, zeroPoint: 0 }), /layer fc9, channel 0: .*int32/);
});

test("shift packing round-trips every field width, zeros and odd counts; the layout is the documented one", () => {
  const r = rng(3);
  for (let fieldBits = 1; fieldBits <= MAX_FIELD_BITS; fieldBits++) {
    const maxShift = Math.min(2 ** fieldBits - 2, 23);
    for (const n of [0, 1, 2, 3, 7, 8, 13, 64, 101, 1000]) {
      const sign = Int8Array.from({ length: n }, () => Math.floor(r() * 3) - 1);
      const shift = Uint8Array.from(sign, (s) => (s === 0 ? 0 : Math.floor(r() * (maxShift + 1))));
      const packed = packShifts(sign, shift, fieldBits);
      assert.equal(packed.length, packedBytes(n, fieldBits));
      assert.equal(packed.length, Math.ceil((n * (fieldBits + 1)) / 8));
      const back = unpackShifts(packed, n, fieldBits);
      assert.deepEqual(back.sign, sign);
      assert.deepEqual(back.shift, shift);
    }
  }
  // layout: weight i is bits [i·B, (i+1)·B) LSB first; code = shift + 1 in the low bits, sign on top
  const packed = packShifts(Int8Array.of(1, -1, 0, 1), Uint8Array.of(0, 2, 0, 1), 2);
  // values: 0b001, 0b111, 0b000, 0b010 → bits 001 111 000 010 (LSB first per value)
  assert.deepEqual([...packed], [0b00111001, 0b0100]);
  // the official packer's bug: a zero weight must not disturb any other weight or filter
  const sign = Int8Array.of(0, 1, 1, 1, -1, 1), shift = Uint8Array.of(0, 3, 3, 3, 0, 1);
  assert.deepEqual(unpackShifts(packShifts(sign, shift, 3), 6, 3).sign, sign);
  assert.equal(fieldBitsFor(15), 4, "PS 5-bit: 15 shifts + the zero code fit 4 bits");
  assert.equal(fieldBitsFor(16), 5);
  assert.equal(fieldBitsFor(1), 1);
});

test("unpackShifts rejects bit patterns no packer writes", () => {
  assert.throws(() => unpackShifts(Uint8Array.of(0b100), 1, 2), /zero with the sign bit/);
  assert.throws(() => unpackShifts(Uint8Array.of(0b001, 0), 1, 2), /expected 1/);
  assert.throws(() => unpackShifts(Uint8Array.of(0b1000001), 1, 2), /padding bits/);
  assert.throws(() => unpackShifts(Uint8Array.of(0b011111), 1, 5), /beyond the largest shift/);
  assert.throws(() => packShifts(Int8Array.of(1), Uint8Array.of(3), 2), /more than 2 code bits/);
});

test("adder weights: the clamp correction makes the integer sum exactly the float L1 distance", () => {
  const r = rng(21);
  for (let trial = 0; trial < 200; trial++) {
    const K = 1 + Math.floor(r() * 4), taps = 1 + Math.floor(r() * 30);
    const s = 2 ** -(2 + Math.floor(r() * 6)); // a power of two keeps the float reference exact
    const zp = Math.floor(r() * 256);
    // weights on the grid inside the range (exactly representable) or anywhere outside it
    const w = Float32Array.from({ length: K * taps }, () => {
      if (r() < 0.5) return s * (Math.floor(r() * 256) - zp);
      return r() < 0.5 ? s * (-zp - 1 - 50 * r()) : s * (256 - zp + 50 * r());
    });
    const q = quantizeAdder(w, K, { scale: s, zeroPoint: zp });
    assert.equal(q.weights.kind, "adder");
    const qw = (q.weights as { w: Uint8Array }).w;
    for (let t = 0; t < 5; t++) {
      const x = Uint8Array.from({ length: taps }, () => Math.floor(r() * 256));
      for (let k = 0; k < K; k++) {
        let floatSum = 0, acc = 0;
        for (let i = 0; i < taps; i++) {
          floatSum += Math.abs(s * (x[i] - zp) - w[k * taps + i]);
          acc += Math.abs(x[i] - qw[k * taps + i]);
        }
        const intSum = -q.acc.unit[k] * (acc + q.acc.offset[k]);
        assert.ok(Math.abs(intSum - floatSum) <= 1e-9 * Math.max(1, floatSum), `trial ${trial}: ${intSum} vs ${floatSum}`);
        assert.ok(acc >= q.acc.accMin[k] && acc <= q.acc.accMax[k]);
      }
    }
  }
});

test("mul and shift weights: the accumulator model reproduces the float dot product (shift exactly)", () => {
  const r = rng(8);
  for (let trial = 0; trial < 200; trial++) {
    const K = 1 + Math.floor(r() * 4), taps = 1 + Math.floor(r() * 40);
    const input = { scale: 0.01 + r() * 0.05, zeroPoint: Math.floor(r() * 256) };
    const x = Uint8Array.from({ length: taps }, () => Math.floor(r() * 256));
    const sign = Int8Array.from({ length: K * taps }, () => Math.floor(r() * 3) - 1);
    const p = Int8Array.from({ length: K * taps }, () => -Math.floor(r() * 15));
    const qs = quantizeShift(sign, p, K, input);
    const ws = qs.weights as { sign: Int8Array; shift: Uint8Array };
    const wf = Float32Array.from({ length: K * taps }, () => r() * 2 - 1);
    const qm = quantizeMul(wf, K, input);
    const wm = (qm.weights as { w: Int8Array }).w;
    for (let k = 0; k < K; k++) {
      let shiftFloat = 0, shiftAcc = 0, mulFloat = 0, mulAcc = 0;
      for (let i = 0; i < taps; i++) {
        const xr = input.scale * (x[i] - input.zeroPoint);
        shiftFloat += xr * sign[k * taps + i] * 2 ** p[k * taps + i];
        shiftAcc += ws.sign[k * taps + i] * x[i] * 2 ** ws.shift[k * taps + i];
        mulFloat += xr * wf[k * taps + i];
        mulAcc += x[i] * wm[k * taps + i];
      }
      const shiftInt = qs.acc.unit[k] * (shiftAcc + qs.acc.offset[k]);
      assert.ok(Math.abs(shiftInt - shiftFloat) <= 1e-12 * (1 + Math.abs(shiftFloat)) + 1e-9, `shift: ${shiftInt} vs ${shiftFloat}`);
      assert.ok(shiftAcc >= qs.acc.accMin[k] && shiftAcc <= qs.acc.accMax[k]);
      // i8 weights: each weight is off by at most half a step of its channel's scale
      const step = qm.acc.unit[k] / input.scale;
      const mulInt = qm.acc.unit[k] * (mulAcc + qm.acc.offset[k]);
      let xAbs = 0;
      for (let i = 0; i < taps; i++) xAbs += Math.abs(input.scale * (x[i] - input.zeroPoint));
      assert.ok(Math.abs(mulInt - mulFloat) <= (step / 2) * xAbs + 1e-9, `mul: ${mulInt} vs ${mulFloat}`);
    }
    const used = [...p].filter((_, i) => sign[i] !== 0);
    assert.equal(qs.shift!.base, used.length ? Math.min(...used) : 0, "the base is the smallest shift used");
  }
});

test("the shift base rises (and flushes the smallest weights) when a sum could overflow int32", () => {
  const taps = 300;
  const sign = new Int8Array(taps).fill(1), p = new Int8Array(taps).fill(0);
  p[0] = -20;
  const q = quantizeShift(sign, p, 1, { scale: 1, zeroPoint: 0 });
  // 255·(299·2^20 + 1) > 2^30: the base must rise to a point where 255·Σ 2^(p−b) < 2^30
  assert.ok(q.shift!.base > -20);
  assert.equal(q.flushed, 1);
  assert.ok(q.acc.accMax[0] < 2 ** 30);
  assert.ok(q.shift!.fieldBits >= 1 && q.shift!.fieldBits <= 5);
});

test("OIHW → OHWI moves every weight to its documented place", () => {
  const K = 2, C = 3, kh = 2, kw = 3;
  const w = Float32Array.from({ length: K * C * kh * kw }, (_, i) => i);
  const out = oihwToOhwi(w, new Float32Array(w.length), K, C, kh, kw);
  for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
    assert.equal(out[((k * kh + i) * kw + j) * C + c], w[((k * C + c) * kh + i) * kw + j]);
  }
});

test("export builds a chain graph: BN folded, ReLU fused, pools and flatten kept, ReLU outputs with zero point 0", () => {
  const model = tinyChain("mul", 1);
  const { normalized } = tinyImages(64, 2);
  settle(model, normalized, 64, 3);
  const r = exportModel(model, normalized, 64, SHAPE, { mean: MEAN, std: STD });
  assert.deepEqual(r.graph.nodes.map((n) => n.op), ["input", "layer", "maxpool", "layer", "flatten", "layer", "layer"]);
  const layers = r.graph.nodes.filter((n) => n.op === "layer");
  assert.deepEqual(layers.map((l) => l.name), ["0", "4", "8", "12"]);
  for (const l of layers.slice(0, -1)) assert.equal(l.out!.zeroPoint, 0);
  assert.ok(layers[3].logitScale && !layers[3].requant);
  assert.deepEqual(layers[2].geometry.slice(0, 4), [24, 1, 1, 16], "after flatten a linear layer is a 1×1 conv");
  assert.equal(r.graph.classes, 10);
  assert.equal(r.tensors["requant.bias"].data.length, 4 + 6 + 16 + 10);
});

/** A module whose forward is a function of its children: graphs a Sequential cannot express. */
class Custom extends Module {
  constructor(readonly parts: Module[], private readonly run: (x: Tensor, parts: Module[]) => Tensor) {
    super();
  }
  override namedChildren(): Array<[string, Module]> {
    return this.parts.map((m, i): [string, Module] => [`p${i}`, m]);
  }
  forward(x: Tensor): Tensor {
    return this.run(x, this.parts);
  }
}

const exportTo = (model: Module, normalized: Float32Array) => exportModel(model, normalized, 8, SHAPE, { mean: MEAN, std: STD });

test("export refuses what has no integer graph, naming the module and the reason", () => {
  const { normalized } = tinyImages(8, 1);
  const refused = (model: Module, pattern: RegExp) => assert.throws(() => exportTo(model, normalized), (e: Error) => e instanceof ExportError && pattern.test(e.message), String(pattern));
  // a functional op other than a reshape or an add, between modules
  refused(new Custom([new Conv2d(1, 2, 3), new Flatten(), new Linear(200, 10)], (x, [c, f, l]) => l!.forward(f!.forward(relu(c!.forward(x))))),
    /p1 \(Flatten\): its input comes from a functional 'relu' between modules, which has no integer implementation/);
  refused(new Sequential(new Conv2d(1, 2, 3), new AvgPool2d(2, { padding: 1 }), new Flatten(), new Linear(72, 10)), /1 \(AvgPool2d\): only pooling without padding or ceil mode/);
  refused(new Sequential(new Conv2d(1, 2, 3), new ReLU(), new BatchNorm2d(2), new Flatten(), new Linear(200, 10)), /2 \(BatchNorm2d\): BatchNorm must directly follow a weight layer/);
  refused(new Sequential(new Flatten(), new Linear(144, 10), new ReLU()), /logits layer is followed by a ReLU/);
  refused(new Sequential(new Flatten()), /must end in a weight layer/);
  // a value used both before and after the BatchNorm that folds into its layer
  refused(new Custom([new Conv2d(1, 2, 3, { padding: 1 }), new BatchNorm2d(2), new Flatten(), new Linear(288, 10)], (x, [c, b, f, l]) => {
    const y = c!.forward(x);
    return l!.forward(f!.forward(add(b!.forward(y), y)));
  }), /reads the output of p0 before its BatchNorm, which export folds away/);
  // a ReLU of a value that can be negative and is no layer's or add's output
  refused(new Sequential(new Conv2d(1, 2, 3), new MaxPool2d(2), new ReLU(), new Flatten(), new Linear(50, 10)), /2 \(ReLU\): a ReLU that does not follow a weight layer .* cannot be fused/);
  // a branch whose output nothing reads
  refused(new Custom([new Conv2d(1, 2, 3), new Conv2d(1, 2, 3), new Flatten(), new Linear(200, 10)], (x, [a, b, f, l]) => {
    b!.forward(x);
    return l!.forward(f!.forward(a!.forward(x)));
  }), /layer p1: its output is never used/);
});

test("export of graphs: residual adds read two nodes, a strided 1×1 shortcut reads the block input, average pools keep windows", () => {
  const { normalized } = tinyImages(16, 3);
  const model = new Custom([
    new Conv2d(1, 4, 3, { padding: 1 }), new BatchNorm2d(4), new ReLU(),
    new Adder2d(4, 6, 3, { stride: 2, padding: 1 }), new BatchNorm2d(6),
    new Adder2d(4, 6, 1, { stride: 2 }), new BatchNorm2d(6), new ReLU(),
    new AvgPool2d(2), new Flatten(), new Linear(54, 10),
  ], (x, [c, b, r, a1, b1, a2, b2, r2, pool, f, l]) => {
    const h = r!.forward(b!.forward(c!.forward(x)));
    const y = r2!.forward(add(b1!.forward(a1!.forward(h)), b2!.forward(a2!.forward(h))));
    return l!.forward(f!.forward(pool!.forward(y)));
  });
  settle(model, normalized, 16, 4);
  const r = exportTo(model, normalized);
  assert.deepEqual(r.graph.nodes.map((n) => n.op), ["input", "layer", "layer", "layer", "add", "avgpool", "flatten", "layer"]);
  const [, , , shortcut, sum, pool] = r.graph.nodes as [never, LayerNode, LayerNode, LayerNode, AddNode, AvgPoolNode];
  assert.equal(shortcut.from, 1, "the 1×1 stride-2 adder reads the block input, node 1");
  assert.deepEqual(shortcut.geometry.slice(3, 8), [6, 1, 1, 2, 2]);
  assert.deepEqual(sum.from, [2, 3]);
  assert.equal(sum.out.zeroPoint, 0, "the ReLU after the add: zero point 0, clamped there");
  assert.deepEqual(sum.requant, { outZp: 0, lo: 0, hi: 255 });
  assert.deepEqual([pool.kh, pool.kw, pool.stride], [2, 2, 2]);
  // AvgPool2d over the whole image is the global pool; a flatten of C×1×1 is no node
  const global = new Sequential(new Conv2d(1, 4, 3), new BatchNorm2d(4), new ReLU(), new AvgPool2d(10), new Flatten(), new Linear(4, 10));
  settle(global, normalized, 16, 5);
  assert.deepEqual(exportTo(global, normalized).graph.nodes.map((n) => n.op === "avgpool" ? `avgpool${n.kh ?? ""}` : n.op), ["input", "layer", "avgpool", "layer"]);
});

test("BatchNorm over the logits folds into the logits layer: a 1×1 conv classifier + BN, and a linear one + BN", () => {
  const calib = tinyImages(32, 6), test = tinyImages(16, 7);
  const heads = {
    conv: () => [new Conv2d(6, 10, 1, { bias: false }), new BatchNorm2d(10), new Flatten()],
    linear: () => [new Flatten(), new Linear(6, 10), new BatchNorm1d(10)],
  };
  for (const [what, head] of Object.entries(heads)) {
    manualSeed(9);
    const model = new Sequential(new Conv2d(1, 6, 3, { padding: 1 }), new BatchNorm2d(6), new ReLU(), new GlobalAvgPool2d(), ...head());
    settle(model, calib.normalized, 32, 8);
    const r = exportModel(model, calib.normalized, 32, SHAPE, { mean: MEAN, std: STD });
    assert.deepEqual(r.graph.nodes.map((n) => n.op), ["input", "layer", "avgpool", "layer"], what);
    const m = load(encodeBundle(r.graph, r.tensors, {}), { backend: "reference" });
    const int = m.predict(test.pixels, 16).logits;
    const float = floatLogits(model, test.normalized, 16);
    let error = 0, agree = 0;
    for (let n = 0; n < 16; n++) {
      const f = Array.from(float.subarray(n * 10, n * 10 + 10)), q = Array.from(int.subarray(n * 10, n * 10 + 10));
      error += Math.max(...f.map((v, c) => Math.abs(v - q[c]!))) / (Math.max(...f) - Math.min(...f)) / 16;
      if (f.indexOf(Math.max(...f)) === q.indexOf(Math.max(...q))) agree++;
    }
    assert.ok(error < 0.05, `${what}: mean logit error ${(error * 100).toFixed(1)} % of the logit range`);
    assert.ok(agree >= 15, `${what}: ${agree}/16 top-1 classes agree`);
    m.dispose();
  }
});

test("residual add multipliers: the integer add is the real sum rounded, within 2^−15 relative", () => {
  const r = rng(31);
  for (let t = 0; t < 300; t++) {
    const q = () => ({ scale: 0.001 + r() * 0.1, zeroPoint: Math.floor(r() * 256) });
    const a = q(), b = q(), out = { scale: 0.002 + r() * 0.2, zeroPoint: Math.floor(r() * 256) };
    const { mult, shift } = addMultipliers(a, b, out, "test");
    const p = { zeroA: a.zeroPoint, multA: mult[0], zeroB: b.zeroPoint, multB: mult[1], shift, outZp: out.zeroPoint, lo: 0, hi: 255 };
    const xa = Uint8Array.from({ length: 64 }, () => Math.floor(r() * 256)), xb = Uint8Array.from({ length: 64 }, () => Math.floor(r() * 256));
    const got = new Uint8Array(64);
    addRequantU8(xa, xb, p, got);
    for (let i = 0; i < 64; i++) {
      const real = (a.scale * (xa[i]! - a.zeroPoint) + b.scale * (xb[i]! - b.zeroPoint)) / out.scale + out.zeroPoint;
      const bound = 0.5 + 510 * Math.max(a.scale, b.scale) / out.scale * 2 ** -15 + 1e-9;
      assert.ok(Math.abs(got[i]! - Math.min(255, Math.max(0, real))) <= bound, `#${t}: ${got[i]} for ${real}`);
    }
  }
  assert.throws(() => addMultipliers({ scale: 1, zeroPoint: 0 }, { scale: 1, zeroPoint: 0 }, { scale: 1e-5, zeroPoint: 0 }, "the add at node 9"), /the add at node 9: the residual add's inputs span 1.00e\+5 times its output range/);
});

const cli = mulfree;

test("mulfree export: writes a bundle that decodes, reports both size ratios, and refuses bad input in one line", () => {
  const dir = mkdtempSync(join(tmpdir(), "mulfree-export-"));
  try {
    const spec = resolveSpec({ model: "lenet5", op: "shift-ps" });
    const ckpt = join(dir, "lenet5.safetensors");
    writeFileSync(ckpt, encodeCheckpoint(spec, createModel(spec), null));
    const out = join(dir, "lenet5.mulfree.safetensors");
    const ok = cli(["export", ckpt, "-o", out, "--calibration-images", "16", "--verify", "8", "--json"]);
    assert.equal(ok.status, 0, ok.stderr);
    const report = JSON.parse(ok.stdout.trim().split("\n").pop()!);
    const bytes = new Uint8Array(readFileSync(out));
    assert.equal(report.bundleBytes, bytes.length);
    assert.equal(report.fp32Bytes, 4 * 62384, "PS shift and sign count once per weight");
    assert.equal(report.sizeRatio, bytes.length / report.fp32Bytes);
    assert.ok(report.weightsRatio < report.sizeRatio && report.sizeRatio < 0.19);
    assert.equal(report.verify.images, 8);
    assert.deepEqual(readBundle(bytes, out).layers.map((l) => l.node.kind), ["shift", "shift", "shift", "shift", "shift"]);

    // the acceptance's size bound for int8 adder LeNet-5 has little slack (the int8 weights alone are 0.246×)
    const adderSpec = resolveSpec({ model: "lenet5", op: "adder" });
    const adderCkpt = join(dir, "adder.safetensors");
    writeFileSync(adderCkpt, encodeCheckpoint(adderSpec, createModel(adderSpec), null));
    const adder = cli(["export", adderCkpt, "-o", join(dir, "adder.mulfree.safetensors"), "--calibration-images", "16", "--json"]);
    assert.equal(adder.status, 0, adder.stderr);
    const adderReport = JSON.parse(adder.stdout.trim().split("\n").pop()!);
    assert.equal(adderReport.fp32Bytes, 4 * 62374, "no fc3 bias in the adder LeNet-5");
    assert.ok(adderReport.sizeRatio <= 0.26, `adder bundle ${adderReport.sizeRatio}× the fp32 size`);

    const fail = (args: string[], status: number, re: RegExp) => {
      const r = cli(args);
      assert.equal(r.status, status, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
    };
    fail(["export", ckpt], 2, /export needs -o/);
    fail(["export", ckpt, "-o", out, "--calibration-images", "0"], 2, /calibration-images/);
    fail(["export", ckpt, "-o", ckpt], 1, /would overwrite the checkpoint/);
    fail(["export", out, "-o", join(dir, "x")], 1, /not a mulfree checkpoint/);
    fail(["export", join(dir, "missing.safetensors"), "-o", join(dir, "x")], 1, /not found/);
    const resnetSpec = resolveSpec({ model: "resnet20", op: "adder" });
    const resnet = join(dir, "resnet.safetensors");
    writeFileSync(resnet, encodeCheckpoint(resnetSpec, createModel(resnetSpec), null));
    fail(["export", resnet, "-o", join(dir, "x"), "--dataset", "mnist"], 1, /takes 3×32×32 images, mnist training data has 1×28×28/);
    fail(["export", resnet, "-o", join(dir, "x"), "--dataset", "cifar10", "--data", dir], 1, /no data_batch_N.bin/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
