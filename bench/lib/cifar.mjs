// Synthetic CIFAR-shaped data for the ResNet-20 training benchmark: the library's own synthetic
// CIFAR-10 records (a class tint and a bright square per image, so the loss visibly falls within a
// few steps: the check that both sides really train). Deterministic, so the parent (mulfree) and
// the tfjs child build the same data from the same arguments.
import { syntheticCifarData } from './mulfree.mjs';

/** One image's NCHW shape. */
export const CIFAR_SHAPE = [3, 32, 32];

/** {images NCHW Float32Array, labels Int32Array (10 classes), n, shape, source}. */
export const syntheticCifar = (n, seed = 123) => syntheticCifarData(n, seed);

/** Images in the pool for batch size `batch`: about 1024, in whole batches, so that mulfree's feeder
 *  (wraps per image) and tfjs's (wraps per batch) see the same batches. */
export const poolSize = (batch) => batch * Math.ceil(1024 / batch);

/** NCHW → NHWC copy of n images of shape [C, H, W]. */
export function nchwToNhwc(x, n, [C, H, W]) {
  const out = new Float32Array(n * C * H * W);
  for (let b = 0; b < n; b++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++)
    out[((b * H + h) * W + w) * C + c] = x[((b * C + c) * H + h) * W + w];
  return out;
}
