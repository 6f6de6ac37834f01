// The digit on the pad when the page opens, so that the three models have something to say before
// anyone draws: a "2" in canvas pixels (280 × 280), about MNIST's 20-of-28 pixel size.
import type { Stroke } from "./draw_pad.js";

const TWO: Stroke = [
  [92, 92], [102, 70], [122, 54], [148, 50], [174, 58], [190, 78], [192, 102], [182, 128], [162, 154],
  [134, 182], [108, 208], [90, 228], [120, 226], [156, 226], [196, 226],
];

export const SAMPLE_STROKES: readonly Stroke[] = [TWO];
