// Classification losses over rows of logits [N, C]. Parallel kernels split over rows [start, end).
// Rows are short (C = 10 … 1000), so the work is scalar with f64 accumulation; exp is the cost.

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/**
 * Softmax cross-entropy with optional label smoothing ε (PyTorch: target = (1-ε)·onehot + ε/C):
 *   probs[r, :] = softmax(logits[r, :])
 *   losses[r]   = logsumexp - (1-ε)·logits[r, y] - (ε/C)·Σ_c logits[r, c]
 * computed around the row max. Labels must lie in [0, C) (checked by the caller).
 */
export function softmaxCrossEntropyForwardF32(
  logits: usize, labels: usize, probs: usize, losses: usize, N: i32, C: i32, smoothing: f64, start: i32, end: i32,
): void {
  for (let r = start; r < end; r++) {
    const xr = at(logits, r * C), pr = at(probs, r * C);
    let m = load<f32>(xr);
    let jm = 0;
    for (let j = 1; j < C; j++) {
      const v = load<f32>(at(xr, j));
      if (v > m || v != v) {
        m = v;
        jm = j;
      }
    }
    const mf = <f64>m;
    // Σ exp(x - max) = 1 + rest; log1p(rest) keeps the loss of a confident right answer
    let rest: f64 = 0, sx: f64 = 0;
    for (let j = 0; j < C; j++) {
      const d = <f64>load<f32>(at(xr, j)) - mf;
      const e = Math.exp(d);
      store<f32>(at(pr, j), <f32>e);
      if (j != jm) rest += e;
      sx += d;
    }
    const s = 1 + rest;
    const inv = 1.0 / s;
    for (let j = 0; j < C; j++) {
      const q = at(pr, j);
      store<f32>(q, <f32>(<f64>load<f32>(q) * inv));
    }
    const y = load<i32>(at(labels, r));
    const dy = <f64>load<f32>(at(xr, y)) - mf;
    const lse = Math.log1p(rest);
    const loss = smoothing == 0 ? lse - dy : lse - (1 - smoothing) * dy - (smoothing / <f64>C) * sx;
    store<f32>(at(losses, r), <f32>loss);
  }
}

/** dlogits = (probs - target)·scale, target = (1-ε)·onehot(label) + ε/C. */
export function softmaxCrossEntropyBackwardF32(
  probs: usize, labels: usize, dlogits: usize, N: i32, C: i32, scale: f64, smoothing: f64, start: i32, end: i32,
): void {
  const off = <f32>(smoothing / <f64>C);
  const on = <f32>(1 - smoothing + smoothing / <f64>C);
  const sc = <f32>scale;
  const voff = f32x4.splat(off), vsc = f32x4.splat(sc);
  for (let r = start; r < end; r++) {
    const pr = at(probs, r * C), gr = at(dlogits, r * C);
    let j = 0;
    for (; j + 4 <= C; j += 4) v128.store(at(gr, j), f32x4.mul(f32x4.sub(v128.load(at(pr, j)), voff), vsc));
    for (; j < C; j++) store<f32>(at(gr, j), (load<f32>(at(pr, j)) - off) * sc);
    const y = load<i32>(at(labels, r));
    store<f32>(at(gr, y), (load<f32>(at(pr, y)) - on) * sc);
  }
}

/** out[r] = index of the first maximum of row r; a NaN counts as the maximum (first NaN wins). */
export function argmaxRowsF32(x: usize, out: usize, N: i32, C: i32, start: i32, end: i32): void {
  for (let r = start; r < end; r++) {
    const xr = at(x, r * C);
    let best = load<f32>(xr);
    let bi = 0;
    if (best == best) {
      for (let j = 1; j < C; j++) {
        const v = load<f32>(at(xr, j));
        if (v > best) {
          best = v;
          bi = j;
        } else if (v != v) {
          bi = j;
          break;
        }
      }
    }
    store<i32>(at(out, r), bi);
  }
}
