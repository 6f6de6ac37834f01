// Weight layouts: the float model stores OIHW ([K][C/groups][kh][kw]) and a linear layer after a
// flatten reads its inputs in NCHW order (c, h, w); the integer kernels want OHWI and NHWC order.

/** [K][Cg][kh][kw] → [K][kh][kw][Cg]. Works for any element type. */
export function oihwToOhwi<T extends { length: number; [i: number]: number }>(w: T, out: T, K: number, Cg: number, kh: number, kw: number): T {
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < Cg; c++) {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) out[((k * kh + i) * kw + j) * Cg + c] = w[((k * Cg + c) * kh + i) * kw + j];
      }
    }
  }
  return out;
}

/**
 * A linear layer's [K][C·H·W] weights, whose columns follow a flattened NCHW tensor, reordered to
 * follow a flattened NHWC tensor ([K][H·W·C]): the same as OIHW → OHWI with kh = H, kw = W.
 */
export function flattenedToNhwc<T extends { length: number; [i: number]: number }>(w: T, out: T, K: number, C: number, H: number, W: number): T {
  return oihwToOhwi(w, out, K, C, H, W);
}
