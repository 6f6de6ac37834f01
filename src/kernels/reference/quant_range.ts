// The affine quantization grid of a float range, shared by export (src/deploy/) and by
// quantization-aware training (src/train/qat.ts), so that QAT rounds onto the grids export uses.

/** Real value = scale · (code − zeroPoint). */
export interface AffineGrid {
  scale: number;
  zeroPoint: number;
}

/**
 * Quantization of a range that always contains 0 (so real 0, the pad value, is exact) onto the
 * codes 0 .. levels (255: u8; 2^B − 1 for B-bit activations, still stored in u8).
 */
export function quantFromRange(lo: number, hi: number, levels = 255): AffineGrid {
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  if (!(hi > lo)) return { scale: 1, zeroPoint: 0 }; // a constant 0: any scale represents it
  const scale = (hi - lo) / levels;
  return { scale, zeroPoint: Math.min(levels, Math.max(0, Math.round(-lo / scale))) };
}
