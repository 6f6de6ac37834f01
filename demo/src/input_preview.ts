// The 28 × 28 image the models see: the drawing after pictureToInput, one canvas pixel per input
// pixel (CSS enlarges it without smoothing).
export function showInput(canvas: HTMLCanvasElement, input: Float32Array, shape: readonly [number, number, number]): void {
  const [, H, W] = shape;
  canvas.width = W;
  canvas.height = H;
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(W, H);
  for (let i = 0; i < H * W; i++) {
    const v = Math.round(255 * input[i]!);  // the first channel: the models take grey images
    img.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}
