// Synthetic CIFAR-shaped data for the ResNet-20 training benchmark. Throughput does not depend on
// pixel values, but the loss should visibly fall within a few steps (the check that both sides
// really train), which pure noise with random labels would not do: so each image is N(0,1) noise
// plus its class's fixed random template. Deterministic, so the parent (mulfree) and the tfjs child
// build the same data from the same arguments.
import { rng } from './lenet.mjs';

/** One image's NCHW shape. */
export const CIFAR_SHAPE = [3, 32, 32];
const SIZE = 3 * 32 * 32, CLASSES = 10, TEMPLATE_SCALE = 0.5;

/** {images NCHW Float32Array, labels Int32Array (uniform in 10 classes), n, shape, source}. */
export function syntheticCifar(n, seed = 123) {
  const r = rng(seed);
  const templates = Float32Array.from({ length: CLASSES * SIZE }, () => TEMPLATE_SCALE * r.normal());
  const images = new Float32Array(n * SIZE), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = (labels[i] = Math.floor(r.uniform() * CLASSES));
    for (let j = 0; j < SIZE; j++) images[i * SIZE + j] = r.normal() + templates[c * SIZE + j];
  }
  return {
    images, labels, n, shape: CIFAR_SHAPE,
    source: `synthetic CIFAR-shaped (N(0,1) noise + one of 10 fixed random class templates × ${TEMPLATE_SCALE}, random labels in 10 classes; seed ${seed})`,
  };
}

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
