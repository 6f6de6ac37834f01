// A decoded picture (RGBA bytes of any size) to one model input image: C×H×W floats in [0, 1],
// the pixels a dataset reader would give before normalisation. Pure, so a browser page that gets
// ImageData from a canvas prepares its input with exactly the same arithmetic.
//   1. transparency is composited over black (MNIST-style data is light ink on black);
//   2. one channel: grey = 0.299·R + 0.587·G + 0.114·B (ITU-R BT.601, what PIL's convert("L") uses);
//   3. resampling per axis: an area average when shrinking, linear interpolation when enlarging;
//   4. optional inversion (dark ink on white paper → light ink on black).

export interface Picture {
  width: number;
  height: number;
  /** width × height × 4 bytes, row-major RGBA. */
  data: Uint8Array | Uint8ClampedArray;
}

export interface PrepareOptions {
  /** 1 − v: for dark strokes on a light background when the model was trained on light-on-dark images. */
  invert?: boolean;
}

/** Planes of the picture in [0, 255] floats: C = 1 (grey) or 3 (RGB), alpha composited over black. */
function planes(p: Picture, channels: number): Float32Array[] {
  const n = p.width * p.height;
  const out = Array.from({ length: channels }, () => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    const a = p.data[4 * i + 3]! / 255;
    const r = p.data[4 * i]! * a, g = p.data[4 * i + 1]! * a, b = p.data[4 * i + 2]! * a;
    if (channels === 1) out[0]![i] = 0.299 * r + 0.587 * g + 0.114 * b;
    else {
      out[0]![i] = r;
      out[1]![i] = g;
      out[2]![i] = b;
    }
  }
  return out;
}

/** Weights of each output sample over the input samples along one axis. */
function axisWeights(from: number, to: number): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [];
  const scale = from / to;
  for (let o = 0; o < to; o++) {
    const taps: Array<[number, number]> = [];
    if (scale >= 1) {
      // area: the input interval [o·scale, (o+1)·scale), each sample weighted by its overlap
      const a = o * scale, b = a + scale;
      for (let i = Math.floor(a); i < Math.min(from, Math.ceil(b)); i++) {
        const w = Math.min(b, i + 1) - Math.max(a, i);
        if (w > 0) taps.push([i, w / scale]);
      }
    } else {
      // linear between the two nearest input centres
      const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), from - 1);
      const i = Math.floor(x), f = x - i;
      taps.push([i, 1 - f]);
      if (f > 0 && i + 1 < from) taps.push([i + 1, f]);
    }
    out.push(taps);
  }
  return out;
}

function resize(src: Float32Array, w: number, h: number, W: number, H: number): Float32Array {
  const xs = axisWeights(w, W), ys = axisWeights(h, H);
  const rows = new Float32Array(h * W);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (const [i, wt] of xs[x]!) s += wt * src[y * w + i]!;
      rows[y * W + x] = s;
    }
  }
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (const [i, wt] of ys[y]!) s += wt * rows[i * W + x]!;
      out[y * W + x] = s;
    }
  }
  return out;
}

/** One C×H×W image of [0, 1] floats (NCHW) from a picture of any size. */
export function pictureToInput(p: Picture, shape: readonly [number, number, number], options: PrepareOptions = {}): Float32Array {
  const [C, H, W] = shape;
  if (C !== 1 && C !== 3) throw new Error(`pictures become 1- or 3-channel inputs, the model takes ${C} channels`);
  if (!(p.width >= 1 && p.height >= 1) || p.data.length !== 4 * p.width * p.height) throw new Error(`a ${p.width}×${p.height} RGBA picture needs ${4 * p.width * p.height} bytes, got ${p.data.length}`);
  const out = new Float32Array(C * H * W);
  planes(p, C).forEach((plane, c) => {
    const resized = resize(plane, p.width, p.height, W, H);
    for (let i = 0; i < H * W; i++) {
      const v = Math.min(Math.max(resized[i]! / 255, 0), 1);
      out[c * H * W + i] = options.invert ? 1 - v : v;
    }
  });
  return out;
}

/** Mean of the outermost pixels of an input image (C×H×W, [0, 1]): tells a light background from a dark one. */
export function borderMean(x: Float32Array, shape: readonly [number, number, number]): number {
  const [C, H, W] = shape;
  let s = 0, n = 0;
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      for (let xx = 0; xx < W; xx++) {
        if (y !== 0 && y !== H - 1 && xx !== 0 && xx !== W - 1) continue;
        s += x[c * H * W + y * W + xx]!;
        n++;
      }
    }
  }
  return s / n;
}
