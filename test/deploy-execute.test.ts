import { test } from "node:test";
import assert from "node:assert/strict";
import { BundleError } from "../src/deploy/run/bundle.js";
import { readBundle } from "../src/deploy/run/decode.js";
import { encodeBundle, sealBundle } from "../src/deploy/run/encode.js";
import { exportModel } from "../src/deploy/export/export_model.js";
import type { InputNode } from "../src/deploy/run/format.js";
import { quantizeInput } from "../src/deploy/run/input_quantizer.js";
import { load } from "../src/deploy/run/runner.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { encodeSafetensors } from "../src/io/safetensors.js";
import { rng } from "./random.js";
import { floatLogits, MEAN, SHAPE, STD, settle, tinyChain, tinyDepthwise, tinyImages, type TinyKind } from "./deploy-tiny-models.js";

initRuntime({ threads: 1 });

const CALIBRATION = 96, TEST = 48;

function exportTiny(build: (k: TinyKind, seed: number) => ReturnType<typeof tinyChain>, kind: TinyKind, seed: number) {
  const model = build(kind, seed);
  const calib = tinyImages(CALIBRATION, seed + 100);
  settle(model, calib.normalized, CALIBRATION, seed + 200);
  const r = exportModel(model, calib.normalized, CALIBRATION, SHAPE, { mean: MEAN, std: STD });
  const bytes = encodeBundle(r.graph, r.tensors, { model: "tiny", op: kind });
  return { model, r, bytes, bundle: readBundle(bytes, `tiny-${kind}`) };
}

/** The integer logits of n images of [0, 1] pixels through the reference engine (the oracle). */
function referenceLogits(bytes: Uint8Array, pixels: Float32Array, n: number): Float32Array {
  const m = load(bytes, { backend: "reference" });
  const logits = m.predict(pixels, n).logits.slice();
  m.dispose();
  return logits;
}

/** Class index of the largest logit per image. */
function argmax(logits: Float32Array, N: number, classes: number): Int32Array {
  const out = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[n * classes + c]! > logits[n * classes + best]!) best = c;
    out[n] = best;
  }
  return out;
}

// Each activation is rounded to 1/255 of its calibrated range (plus ½ accumulator unit of bias
// rounding), and test images can exceed the ranges seen on the 96 calibration images, which
// clips them. Through three or four layers that is about 1 % of an image's logit range on
// average (measured over 4 seeds × 6 models: mean 0.5–1.6 %, worst image 1–11 %). So: mean error
// under 3 %, every image under 15 %, and the same class wherever the float model's top-two
// margin exceeds 30 % of the range (twice the worst error, so a flip there would be a bug).
function compare(kind: string, float: Float32Array, int: Float32Array, N: number, classes: number) {
  let agree = 0, decisive = 0, worst = 0, sum = 0;
  const pf = argmax(float, N, classes), pi = argmax(int, N, classes);
  for (let n = 0; n < N; n++) {
    const row = float.subarray(n * classes, (n + 1) * classes);
    const range = Math.max(...row) - Math.min(...row);
    let err = 0;
    for (let c = 0; c < classes; c++) err = Math.max(err, Math.abs(int[n * classes + c] - row[c]));
    worst = Math.max(worst, err / range);
    sum += err / range;
    const sorted = [...row].sort((a, b) => b - a);
    if (sorted[0] - sorted[1] > 0.3 * range) {
      decisive++;
      if (pf[n] === pi[n]) agree++;
    }
  }
  assert.ok(sum / N < 0.03, `${kind}: mean logit error ${((sum / N) * 100).toFixed(2)} % of the logit range`);
  assert.ok(worst < 0.15, `${kind}: worst logit error ${(worst * 100).toFixed(2)} % of the logit range`);
  assert.equal(agree, decisive, `${kind}: ${agree}/${decisive} decisive predictions agree`);
  let same = 0;
  for (let n = 0; n < N; n++) if (pf[n] === pi[n]) same++;
  assert.ok(same >= 0.9 * N, `${kind}: ${same}/${N} predictions agree`);
}

for (const kind of ["mul", "adder", "shift"] as const) {
  test(`a ${kind} chain (conv, BN, ReLU, pool, stride, bias, flatten, linear) runs as integers close to the float model`, () => {
    const { model, bytes } = exportTiny(tinyChain, kind, kind.length);
    const { pixels, normalized } = tinyImages(TEST, 7);
    compare(kind, floatLogits(model, normalized, TEST), referenceLogits(bytes, pixels, TEST), TEST, 10);
  });
  test(`a ${kind} depthwise + pointwise model with global average pooling runs close to the float model`, () => {
    const { model, bundle, bytes } = exportTiny(tinyDepthwise, kind, 40 + kind.length);
    assert.ok(bundle.graph.nodes.some((n) => n.op === "avgpool"));
    const { pixels, normalized } = tinyImages(TEST, 9);
    compare(kind, floatLogits(model, normalized, TEST), referenceLogits(bytes, pixels, TEST), TEST, 10);
  });
}

test("a batch gives the same logits as its images one by one (no state between runs)", () => {
  const { bytes } = exportTiny(tinyChain, "shift", 3);
  const { pixels } = tinyImages(5, 4);
  const all = referenceLogits(bytes, pixels, 5);
  const size = SHAPE[0] * SHAPE[1] * SHAPE[2];
  for (let n = 0; n < 5; n++) assert.deepEqual(referenceLogits(bytes, pixels.slice(n * size, (n + 1) * size), 1), all.slice(n * 10, (n + 1) * 10));
});

test("bundle round trip: the decoded graph equals the exported one, and derivable fields are not stored", () => {
  for (const kind of ["mul", "adder", "shift"] as const) {
    const { r, bytes, bundle } = exportTiny(tinyChain, kind, 5);
    assert.deepEqual(bundle.graph, r.graph);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true)));
    assert.ok(!header.includes("channelOffset") && !header.includes("requant\\\"") && !header.includes("logitScale"), "defaults are left out");
    for (const layer of bundle.layers) assert.equal(layer.bias.length, layer.node.geometry[3]);
    if (kind === "shift") {
      for (const l of bundle.layers) assert.ok(l.node.shift && l.weights.kind === "shift");
    }
  }
});

test("input quantization: q = clamp(floor((x − mean)/std/s + zp + ½), 0, 255), NCHW → NHWC", () => {
  const r = rng(2);
  const node: InputNode = { op: "input", shape: [3, 4, 5], mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3], out: { scale: 0.02, zeroPoint: 120 } };
  const N = 3, size = 60;
  const pixels = Float32Array.from({ length: N * size }, () => r());
  const out = new Uint8Array(N * size);
  quantizeInput(node, pixels, N, out);
  for (let n = 0; n < N; n++) for (let c = 0; c < 3; c++) for (let i = 0; i < 20; i++) {
    const v = (pixels[(n * 3 + c) * 20 + i] - node.mean[c]) / node.std[c] / node.out.scale + node.out.zeroPoint;
    const want = Math.min(255, Math.max(0, Math.floor(v + 0.5)));
    const got = out[(n * 20 + i) * 3 + c];
    assert.ok(Math.abs(got - want) <= (Math.abs(v + 0.5 - Math.round(v + 0.5)) < 1e-9 ? 1 : 0), `${got} vs ${want}`);
  }
});

test("corrupt, truncated, oversized-header and foreign files get a clear error", () => {
  const { bytes } = exportTiny(tinyChain, "adder", 7);
  const fails = (b: Uint8Array, re: RegExp) => assert.throws(() => readBundle(b, "m.mulfree.safetensors"), (e: Error) => {
    assert.ok(e instanceof BundleError && re.test(e.message) && e.message.startsWith("m.mulfree.safetensors: "), `${re}: got "${e.message}"`);
    return true;
  });
  fails(bytes.subarray(0, 5), /too short/);
  fails(bytes.subarray(0, bytes.length - 10), /truncated|belong to no tensor|out of range/);
  fails(bytes.subarray(0, 200), /larger than the file|truncated/);
  const huge = bytes.slice();
  new DataView(huge.buffer).setUint32(0, 0xfffffff0, true);
  new DataView(huge.buffer).setUint32(4, 0x10, true);
  fails(huge, /exceeds the .*limit/);
  const notObject = bytes.slice();
  notObject[8] = 0x5b; // '['
  fails(notObject, /not a JSON object/);
  const garbled = bytes.slice();
  garbled[new TextDecoder().decode(bytes.subarray(0, 400)).indexOf("nodes") - 3] = 0x3a; // {"nodes → :"nodes: the inner JSON breaks
  fails(garbled, /the graph metadata is not valid JSON/);
  fails(encodeSafetensors({ w: { dtype: "F32", shape: [1], data: Float32Array.of(1) } }, { format: "mulfree-checkpoint/1" }), /unsupported bundle format "mulfree-checkpoint\/1"/);
  fails(encodeSafetensors({ w: { dtype: "F32", shape: [1], data: Float32Array.of(1) } }), /not a mulfree deployment bundle/);
  // a graph whose shapes do not chain, and packed codes that are not valid
  const { r } = exportTiny(tinyChain, "shift", 8);
  const bad = structuredClone(r.graph);
  (bad.nodes[3] as { geometry: number[] }).geometry[0] = 5;
  fails(sealBundle({ graph: JSON.stringify(bad) }, r.tensors), /layer "4" \(graph.nodes\[3\]\) expects a 5×6×6 \(C×H×W\) input, but its input node produces 4×6×6/);
  const tensors = { ...r.tensors, "0.weight": { ...r.tensors["0.weight"], data: r.tensors["0.weight"].data.slice(1) } };
  tensors["0.weight"].shape = [tensors["0.weight"].data.length];
  fails(encodeBundle(r.graph, tensors, {}), /tensor "0.weight" has \d+ bytes; \d+ shift weights of \d\+1 bits pack into \d+/);
  const missing = { ...r.tensors };
  delete missing["requant.mult"];
  fails(encodeBundle(r.graph, missing, {}), /tensor "requant.mult" is missing/);
});
