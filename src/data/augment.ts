// Standard CIFAR augmentation: random crop of the image padded by `padding` on every side, then
// a random horizontal flip. The random draws are made by the caller (the loader) so that the
// result is a pure function of (image, dy, dx, flip).

export interface AugmentOptions {
  /** Pad every side by this many pixels, then crop back to H×W at a random offset. 0 = no crop. */
  cropPadding: number;
  /** Flip horizontally with probability 1/2. */
  flip: boolean;
}

/** The usual CIFAR-10 recipe: RandomCrop(32, padding=4) + RandomHorizontalFlip(). */
export const CIFAR_AUGMENT: AugmentOptions = { cropPadding: 4, flip: true };

/**
 * Write one augmented C×H×W sample from `src` (at `srcOffset`) into `dst` (at `dstOffset`).
 * Output pixel (y, x) is input pixel (y + dy − padding, x' + dx − padding), where x' = W−1−x when
 * flipped, and padValue[c] outside the image. dy, dx are in [0, 2·padding].
 */
export function cropFlip(
  src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number,
  channels: number, height: number, width: number,
  padding: number, dy: number, dx: number, flip: boolean, padValue: readonly number[] | undefined,
): void {
  const oy = dy - padding;
  const ox = dx - padding;
  // Valid output columns are those whose source column lies inside the image.
  const x0 = Math.max(0, -ox);
  const x1 = Math.min(width, width - ox);
  for (let c = 0; c < channels; c++) {
    const fill = padValue?.[c] ?? 0;
    const srcPlane = srcOffset + c * height * width;
    const dstPlane = dstOffset + c * height * width;
    for (let y = 0; y < height; y++) {
      const sy = y + oy;
      const row = dstPlane + y * width;
      if (sy < 0 || sy >= height || x0 >= x1) {
        dst.fill(fill, row, row + width);
        continue;
      }
      const srcRow = srcPlane + sy * width;
      if (!flip) {
        if (x0 > 0) dst.fill(fill, row, row + x0);
        dst.set(src.subarray(srcRow + x0 + ox, srcRow + x1 + ox), row + x0);
        if (x1 < width) dst.fill(fill, row + x1, row + width);
      } else {
        // Cropped column x lands at width-1-x.
        for (let x = 0; x < width; x++) {
          dst[row + width - 1 - x] = x >= x0 && x < x1 ? src[srcRow + x + ox]! : fill;
        }
      }
    }
  }
}
