// One int8 bundle in the page, through mulfree/deploy's public entry only: load, predict, dispose.
// The input is the canvas turned into the model's [0, 1] pixels by data/preprocess.ts'
// pictureToInput, the function `mulfree predict` applies to a PNG, so both give the same logits.
import { load, type Model } from "../../src/deploy/index.js";
import { pictureToInput } from "../../src/data/preprocess.js";
import { RecentSamples, softmax } from "./stats.js";
import type { ModelInfo } from "./assets.js";

export interface Result {
  logits: number[];
  probabilities: number[];
  predicted: number;
  /** Median predict() time of the last runs, in ms. */
  latencyMs: number;
}

export class Predictor {
  private readonly model: Model;
  private readonly times = new RecentSamples(15);

  constructor(readonly info: ModelInfo, bundle: Uint8Array, wasm: BufferSource) {
    // one thread: a single image keeps LeNet-5's layers on the calling thread anyway (docs/runner.md)
    this.model = load(bundle, { threads: 1, wasm, name: info.file });
  }

  get inputShape(): readonly [number, number, number] {
    return this.model.inputShape;
  }

  get classes(): number {
    return this.model.classes;
  }

  /** The model's input for a picture of any size. */
  input(picture: ImageData): Float32Array {
    return pictureToInput(picture, this.model.inputShape);
  }

  /**
   * Run `times` times on a blank image, untimed, and forget earlier timings. The first call
   * allocates and plans (docs/runner.md); the browser compiles wasm in tiers, optimising the
   * kernels only once they have run a while, so the first few calls are slower than later ones.
   */
  warmUp(times = 1): void {
    const blank = new Float32Array(this.model.inputShape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < times; i++) this.model.predict(blank, 1);
    this.times.clear();
  }

  predict(input: Float32Array): Result {
    const t0 = performance.now();
    const { logits, classes } = this.model.predict(input, 1);
    this.times.add(performance.now() - t0);
    // copies: the model overwrites its output arrays on the next call
    const row = Array.from(logits.subarray(0, this.model.classes));
    return { logits: row, probabilities: softmax(row), predicted: classes[0]!, latencyMs: this.times.median() };
  }

  dispose(): void {
    this.model.dispose();
  }
}
