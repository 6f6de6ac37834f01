// Reference pooling kernels: PyTorch's CPU loops written out plainly, the same signatures as
// ../pool.ts. The output size is computed here independently of the fast path.
import type { AvgPool2dShape, Pool2dShape } from "../pool.js";

function outSize(size: number, k: number, s: number, p: number, ceil: boolean): number {
  const num = size + 2 * p - k + (ceil ? s - 1 : 0);
  let o = Math.floor(num / s) + 1;
  if (ceil && (o - 1) * s >= size + p) o -= 1;
  return o;
}

export function pool2dOutputSize(shape: Pool2dShape): [number, number] {
  const ceil = shape.ceilMode === true;
  return [
    outSize(shape.H, shape.kh, shape.strideH, shape.padH, ceil),
    outSize(shape.W, shape.kw, shape.strideW, shape.padW, ceil),
  ];
}

export function maxPool2dForward(x: Float32Array, y: Float32Array, argmax: Int32Array, shape: Pool2dShape): void {
  const { N, C, H, W, kh: kernelH, kw: kernelW, strideH, strideW, padH, padW } = shape;
  const [OH, OW] = pool2dOutputSize(shape);
  for (let plane = 0; plane < N * C; plane++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const hstart = Math.max(oh * strideH - padH, 0);
        const wstart = Math.max(ow * strideW - padW, 0);
        const hend = Math.min(oh * strideH - padH + kernelH, H);
        const wend = Math.min(ow * strideW - padW + kernelW, W);
        let best = -Infinity;
        let index = hstart * W + wstart;
        for (let h = hstart; h < hend; h++) {
          for (let w = wstart; w < wend; w++) {
            const v = x[plane * H * W + h * W + w];
            if (v > best || Number.isNaN(v)) {
              best = v;
              index = h * W + w;
            }
          }
        }
        const o = (plane * OH + oh) * OW + ow;
        y[o] = best;
        argmax[o] = index;
      }
    }
  }
}

export function maxPool2dBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array, shape: Pool2dShape): void {
  const [OH, OW] = pool2dOutputSize(shape);
  const HW = shape.H * shape.W;
  dx.fill(0);
  for (let plane = 0; plane < shape.N * shape.C; plane++) {
    for (let o = 0; o < OH * OW; o++) {
      const i = argmax[plane * OH * OW + o];
      if (i < 0 || i >= HW) throw new Error(`maxPool2dBackward: argmax ${i} outside the ${HW}-element plane`);
      dx[plane * HW + i] += dy[plane * OH * OW + o];
    }
  }
}

/** The window, its clipped extent and its divisor, as PyTorch's avg_pool2d computes them. */
function avgWindow(shape: AvgPool2dShape, oh: number, ow: number) {
  const { H, W, kh: kernelH, kw: kernelW, strideH, strideW, padH, padW } = shape;
  let hstart = oh * strideH - padH;
  let wstart = ow * strideW - padW;
  let hend = Math.min(hstart + kernelH, H + padH);
  let wend = Math.min(wstart + kernelW, W + padW);
  const poolSize = (hend - hstart) * (wend - wstart);
  hstart = Math.max(hstart, 0);
  wstart = Math.max(wstart, 0);
  hend = Math.min(hend, H);
  wend = Math.min(wend, W);
  let divisor: number;
  if (shape.divisorOverride) divisor = shape.divisorOverride;
  else if (shape.countIncludePad !== false) divisor = poolSize;
  else divisor = (hend - hstart) * (wend - wstart);
  return { hstart, hend, wstart, wend, divisor };
}

export function avgPool2dForward(x: Float32Array, y: Float32Array, shape: AvgPool2dShape): void {
  const { N, C, H, W } = shape;
  const [OH, OW] = pool2dOutputSize(shape);
  for (let plane = 0; plane < N * C; plane++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const { hstart, hend, wstart, wend, divisor } = avgWindow(shape, oh, ow);
        let s = 0;
        for (let h = hstart; h < hend; h++) {
          for (let w = wstart; w < wend; w++) s += x[plane * H * W + h * W + w];
        }
        y[(plane * OH + oh) * OW + ow] = s / divisor;
      }
    }
  }
}

export function avgPool2dBackward(dy: Float32Array, dx: Float32Array, shape: AvgPool2dShape): void {
  const { N, C, H, W } = shape;
  const [OH, OW] = pool2dOutputSize(shape);
  dx.fill(0);
  for (let plane = 0; plane < N * C; plane++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const { hstart, hend, wstart, wend, divisor } = avgWindow(shape, oh, ow);
        const g = dy[(plane * OH + oh) * OW + ow] / divisor;
        for (let h = hstart; h < hend; h++) {
          for (let w = wstart; w < wend; w++) dx[plane * H * W + h * W + w] += g;
        }
      }
    }
  }
}

export function globalAvgPoolForward(x: Float32Array, y: Float32Array, N: number, C: number, HW: number): void {
  for (let p = 0; p < N * C; p++) {
    let s = 0;
    for (let i = 0; i < HW; i++) s += x[p * HW + i];
    y[p] = s / HW;
  }
}

export function globalAvgPoolBackward(dy: Float32Array, dx: Float32Array, N: number, C: number, HW: number): void {
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < HW; i++) dx[p * HW + i] = dy[p] / HW;
  }
}
