// Classification losses over logits [N, C]: softmax cross-entropy (optionally label-smoothed),
// row argmax and the count of correct predictions. Threads split over rows.
import { checkSizes, checkView } from "./elementwise.js";
import { runtime } from "./runtime.js";

/** Scratch slot for countCorrect's argmax. */
const ARGMAX_SLOT = 6;

function checkLabels(k: string, labels: Int32Array, N: number, C: number): void {
  checkView(k, "labels", labels, N);
  for (let i = 0; i < N; i++) {
    const y = labels[i];
    if (y < 0 || y >= C) throw new Error(`${k}: labels[${i}] = ${y} is outside [0, ${C})`);
  }
}

function checkSmoothing(k: string, s: number): void {
  if (typeof s !== "number" || !(s >= 0 && s <= 1)) throw new Error(`${k}: labelSmoothing must be in [0, 1], got ${s}`);
}

/** Rows per thread: exp costs ~10 ns, so split once a thread has a few thousand logits. */
const rowGrain = (C: number, elems: number): number => Math.max(1, Math.ceil(elems / C));

/**
 * probs = softmax(logits) row-wise (saved for backward), losses[r] = cross-entropy of row r
 * against labels[r] with target (1-ε)·onehot + ε/C (PyTorch label_smoothing = ε). Returns the mean loss.
 */
export function softmaxCrossEntropyForward(
  logits: Float32Array, labels: Int32Array, probs: Float32Array, losses: Float32Array, N: number, C: number, labelSmoothing = 0,
): number {
  const k = "softmaxCrossEntropyForward";
  checkSizes(k, { N, C });
  checkSmoothing(k, labelSmoothing);
  checkView(k, "logits", logits, N * C);
  checkView(k, "probs", probs, N * C);
  checkView(k, "losses", losses, N);
  checkLabels(k, labels, N, C);
  runtime().parallel(
    "softmaxCrossEntropyForwardF32",
    [logits.byteOffset, labels.byteOffset, probs.byteOffset, losses.byteOffset, N, C, labelSmoothing],
    N, rowGrain(C, 4096),
  );
  let s = 0;
  for (let i = 0; i < N; i++) s += losses[i];
  return s / N;
}

/**
 * dlogits = (probs - target)·scale with target = (1-ε)·onehot(label) + ε/C. For the mean loss,
 * scale = upstream gradient / N.
 */
export function softmaxCrossEntropyBackward(
  probs: Float32Array, labels: Int32Array, dlogits: Float32Array, N: number, C: number, scale: number, labelSmoothing = 0,
): void {
  const k = "softmaxCrossEntropyBackward";
  checkSizes(k, { N, C });
  checkSmoothing(k, labelSmoothing);
  if (!Number.isFinite(scale)) throw new Error(`${k}: scale must be finite, got ${scale}`);
  checkView(k, "probs", probs, N * C);
  checkView(k, "dlogits", dlogits, N * C);
  checkLabels(k, labels, N, C);
  runtime().parallel(
    "softmaxCrossEntropyBackwardF32",
    [probs.byteOffset, labels.byteOffset, dlogits.byteOffset, N, C, scale, labelSmoothing],
    N, rowGrain(C, 32768),
  );
}

/** out[r] = index of the first maximum of row r (a NaN counts as the maximum). */
export function argmaxRows(x: Float32Array, out: Int32Array, N: number, C: number): void {
  const k = "argmaxRows";
  checkSizes(k, { N, C });
  checkView(k, "x", x, N * C);
  checkView(k, "out", out, N);
  runtime().parallel("argmaxRowsF32", [x.byteOffset, out.byteOffset, N, C], N, rowGrain(C, 32768));
}

/** How many rows have argmax(logits[r]) === labels[r]. */
export function countCorrect(logits: Float32Array, labels: Int32Array, N: number, C: number): number {
  const k = "countCorrect";
  checkSizes(k, { N, C });
  checkView(k, "logits", logits, N * C);
  checkView(k, "labels", labels, N);
  const rt = runtime();
  const pred = rt.i32(rt.scratch(ARGMAX_SLOT, N * 4), N);
  argmaxRows(logits, pred, N, C);
  let correct = 0;
  for (let i = 0; i < N; i++) if (pred[i] === labels[i]) correct++;
  return correct;
}
