// The AdderNet paper's Figure 1: the 2-D features of a LeNet-style network trained once with
// conv layers and once with adder layers. A dot-product classifier separates classes by angle
// around the origin; an L1-distance (adder) classifier, −|f − w_c|₁, makes them cluster around
// class centres w_c. This file holds the network, the feature extraction and the plot
// specification; rendering goes through vega-lite + vega (loaded on demand, so the library does
// not pull them in unless a plot is made).
import type { TopLevelSpec } from "vega-lite";
import { BatchNorm1d, BatchNorm2d } from "../nn/batchnorm.js";
import { MaxPool2d, ReLU } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { registerModel } from "../models/zoo.js";
import type { LayerFactory } from "../models/layer_factory.js";
import { noGrad } from "../tensor/autograd.js";
import { flatten } from "../tensor/ops/shape.js";
import { allocF32, scope } from "../tensor/storage.js";
import { Tensor } from "../tensor/tensor.js";

// rendering lives in ./render.ts; re-exported for the callers that still import it from here

/** The zoo name of the feature network. */
export const FEATURE_MODEL = "lenet5-2d";
export const FEATURE_DIMS = 2;

/**
 * LeNet-5-BN whose last hidden layer has 2 units: conv 6@5×5 'same' → BN → ReLU → pool →
 * conv 16@5×5 → BN → ReLU → pool → FC 120 → BN → ReLU → FC 2 → BN (the features) → FC classes.
 * Every weight layer, classifier included, takes the op kind. The features get BN but no ReLU,
 * so they can use the whole plane, and the adder classifier's centres start on their scale.
 */
export class FeatureLeNet extends Module {
  conv1: Module;
  bn1: BatchNorm2d;
  conv2: Module;
  bn2: BatchNorm2d;
  fc1: Module;
  bn3: BatchNorm1d;
  fc2: Module;
  bn4: BatchNorm1d;
  classifier: Module;
  private relu = new ReLU();
  private pool = new MaxPool2d(2);

  constructor(f: LayerFactory, opts: { inChannels?: number; numClasses?: number; inputSize?: number } = {}) {
    super();
    const size = opts.inputSize ?? 28;
    const flat = 16 * Math.floor((Math.floor(size / 2) - 4) / 2) ** 2;
    this.conv1 = f.conv(opts.inChannels ?? 1, 6, 5, { padding: 2, bias: false });
    this.bn1 = new BatchNorm2d(6);
    this.conv2 = f.conv(6, 16, 5, { bias: false });
    this.bn2 = new BatchNorm2d(16);
    this.fc1 = f.linear(flat, 120, { bias: false });
    this.bn3 = new BatchNorm1d(120);
    this.fc2 = f.linear(120, FEATURE_DIMS, { bias: false });
    this.bn4 = new BatchNorm1d(FEATURE_DIMS);
    this.classifier = f.linear(FEATURE_DIMS, opts.numClasses ?? 10);
  }

  /** [N, 2] features of a batch. */
  features(x: Tensor): Tensor {
    x = this.pool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x))));
    x = this.pool.forward(this.relu.forward(this.bn2.forward(this.conv2.forward(x))));
    x = this.relu.forward(this.bn3.forward(this.fc1.forward(flatten(x))));
    return this.bn4.forward(this.fc2.forward(x));
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features(x));
  }
}

registerModel(FEATURE_MODEL, [1, 28], (f, _edge, s) => new FeatureLeNet(f, s));

/** Features of every image (eval mode, no gradients), n × 2 row-major. `images` is n × C·H·W. */
export function extractFeatures(model: FeatureLeNet, images: Float32Array, shape: readonly [number, number, number], batchSize = 1000): Float32Array {
  const [C, H, W] = shape;
  const sample = C * H * W;
  const n = images.length / sample;
  if (!Number.isInteger(n)) throw new Error(`extractFeatures: ${images.length} values are not whole ${C}×${H}×${W} images`);
  const out = new Float32Array(n * FEATURE_DIMS);
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => {
      for (let start = 0; start < n; start += batchSize) {
        const b = Math.min(batchSize, n - start);
        scope(() => {
          const x = new Tensor(allocF32(b * sample), [b, C, H, W]);
          x.data.set(images.subarray(start * sample, (start + b) * sample));
          out.set(model.features(x).data, start * FEATURE_DIMS);
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return out;
}

export interface FeaturePanel {
  title: string;
  /** n × 2 features */
  features: Float32Array;
  labels: ArrayLike<number>;
}

/** A vega-lite figure: one scatter plot per panel, side by side, points coloured by class. */
export function featureScatterSpec(panels: FeaturePanel[], opts: { title?: string; size?: number } = {}): TopLevelSpec {
  const size = opts.size ?? 420;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    ...(opts.title ? { title: { text: opts.title, fontSize: 16 } } : {}),
    background: "white",
    config: { view: { stroke: "#888" }, axis: { gridOpacity: 0.4 } },
    hconcat: panels.map((p) => ({
      title: p.title,
      width: size,
      height: size,
      data: {
        values: Array.from({ length: p.labels.length }, (_, i) => ({ x: p.features[2 * i], y: p.features[2 * i + 1], digit: String(p.labels[i]) })),
      },
      mark: { type: "point" as const, filled: true, size: 6, opacity: 0.55 },
      encoding: {
        x: { field: "x", type: "quantitative" as const, title: "feature 1", scale: { zero: false } },
        y: { field: "y", type: "quantitative" as const, title: "feature 2", scale: { zero: false } },
        color: { field: "digit", type: "nominal" as const, title: "digit", scale: { scheme: "category10" }, sort: "ascending" as const },
      },
    })),
    resolve: { scale: { x: "independent", y: "independent" } },
  };
}
