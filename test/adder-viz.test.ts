// The Figure 1 pipeline: the 2-D-feature LeNet for each op kind, feature extraction and the
// vega-lite scatter plot rendered to SVG and PNG (training itself is the trainer's, tested elsewhere).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Resvg } from "@resvg/resvg-js";
import { extractFeatures, FEATURE_MODEL, featureScatterSpec, type FeatureLeNet } from "../src/analysis/features.js";
import { renderSvg } from "../src/analysis/render.js";
import { preciseBatchNorm } from "../src/train/precise_bn.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { AdderLinear } from "../src/nn/adder.js";
import { createModel, resolveSpec } from "../src/models/zoo.js";

initRuntime({ threads: 1 });

const n = 60;
const images = Float32Array.from({ length: n * 784 }, (_, i) => Math.sin(i * 0.013) + ((i * 7919) % 13) / 13);
const labels = Int32Array.from({ length: n }, (_, i) => i % 10);

test("the feature LeNet gives n × 2 features for conv and adder; the adder one classifies by L1 distance", () => {
  for (const op of ["conv", "adder"]) {
    const model = createModel(resolveSpec({ model: FEATURE_MODEL, op })) as FeatureLeNet;
    preciseBatchNorm(model, { images, labels, n, shape: [1, 28, 28] }, { batches: 2, batchSize: 30, seed: 0 }); // running statistics of the (untrained) weights
    const f = extractFeatures(model, images, [1, 28, 28], 25);
    assert.equal(f.length, 2 * n);
    assert.ok(f.every(Number.isFinite));
    assert.ok(new Set(f).size > n, `${op}: features differ between images`);
    assert.equal(model.classifier instanceof AdderLinear, op === "adder");
  }
});

test("the scatter plot renders to an SVG with one mark per image per panel, and to a PNG", async () => {
  const features = Float32Array.from({ length: 2 * n }, (_, i) => Math.cos(i));
  const spec = featureScatterSpec([
    { title: "CNN", features, labels },
    { title: "AdderNet", features, labels },
  ]);
  const svg = await renderSvg(spec);
  assert.ok(svg.startsWith("<svg"), "an SVG document");
  assert.equal((svg.match(/<path /g) ?? []).length >= 2 * n, true, "at least one path per point");
  for (const t of ["CNN", "AdderNet", "digit"]) assert.ok(svg.includes(`>${t}<`), `has the text ${t}`);
  const png = new Resvg(svg).render().asPng();
  assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(""), "PNG");
});
