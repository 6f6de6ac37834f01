// Reference losses: plain f64 loops, the same signatures as ../loss.ts.

export function softmaxCrossEntropyForward(
  logits: Float32Array, labels: Int32Array, probs: Float32Array, losses: Float32Array, N: number, C: number, labelSmoothing = 0,
): number {
  let total = 0;
  for (let r = 0; r < N; r++) {
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, logits[r * C + j]);
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(logits[r * C + j] - m);
    const logZ = m + Math.log(s);
    let loss = 0;
    for (let j = 0; j < C; j++) {
      probs[r * C + j] = Math.exp(logits[r * C + j] - m) / s;
      const target = (j === labels[r] ? 1 - labelSmoothing : 0) + labelSmoothing / C;
      loss -= target * (logits[r * C + j] - logZ);
    }
    losses[r] = loss;
    total += losses[r];
  }
  return total / N;
}

export function softmaxCrossEntropyBackward(
  probs: Float32Array, labels: Int32Array, dlogits: Float32Array, N: number, C: number, scale: number, labelSmoothing = 0,
): void {
  for (let r = 0; r < N; r++) {
    for (let j = 0; j < C; j++) {
      const target = (j === labels[r] ? 1 - labelSmoothing : 0) + labelSmoothing / C;
      dlogits[r * C + j] = (probs[r * C + j] - target) * scale;
    }
  }
}

export function argmaxRows(x: Float32Array, out: Int32Array, N: number, C: number): void {
  for (let r = 0; r < N; r++) {
    let best = 0;
    for (let j = 0; j < C; j++) {
      const v = x[r * C + j];
      if (Number.isNaN(v)) {
        best = j;
        break;
      }
      if (v > x[r * C + best]) best = j;
    }
    out[r] = best;
  }
}

export function countCorrect(logits: Float32Array, labels: Int32Array, N: number, C: number): number {
  const pred = new Int32Array(N);
  argmaxRows(logits, pred, N, C);
  let correct = 0;
  for (let r = 0; r < N; r++) if (pred[r] === labels[r]) correct++;
  return correct;
}
