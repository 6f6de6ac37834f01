// One Trainer step over a dataset's batches, taken cyclically into batch buffers in wasm memory
// (kernels read tensors in place). `storage` is the build's src/tensor/storage.js, so the caller
// picks the build.

/** A function that trains one step on the next `batch` samples of `data` and returns the loss. */
export function trainerStep(trainer, data, batch, storage) {
  const sample = data.images.length / data.n;
  const images = storage.allocF32(batch * sample, true), labels = storage.allocI32(batch, true);
  let offset = 0;
  return () => {
    if (offset + batch > data.n) offset = 0;
    images.set(data.images.subarray(offset * sample, (offset + batch) * sample));
    labels.set(data.labels.subarray(offset, offset + batch));
    offset += batch;
    return trainer.trainStep(images, labels, [batch, ...data.shape]);
  };
}
