// f32 conv2d (NCHW, zero padding, stride, dilation, groups) as im2col + GEMM, for training.
//
// Per image n and group g the convolution is Y_g[Kg×P] = W_g[Kg×R] · col[R×P], where
// R = (C/G)·kh·kw indexes (c, ki, kj) and P = OH·OW indexes output positions.
//
// - The group's input planes are first copied into a zero-padded scratch copy (H+2ph rows of
//   W+2pw), so building col needs no bounds logic: every output row of every col row is one
//   plain (or strided) copy. That matters: LeNet's conv2 has 10-float output rows, and with
//   the bounds logic im2col cost as much as the GEMM.
// - col is built in blocks of `blockP` positions (so a block stays in L2) in a per-thread scratch
//   slot, with rows padded to a multiple of 8 floats so the micro-kernels never read past them.
//
//   forward         items (n, g, block):  col = im2col(x);  y  = W·col (+ bias)
//   backward input  items (n, g):          dcol = Wᵀ·dy;     dx = col2im(dcol)   (blocks in order)
//   backward weight items (g, r):          dW[:, r] = Σ_n Σ_p dy[:, p]·col[r, p]   (images in order)
//
// Backward-weight reduces over images, so it is split over the columns r of dW and every thread
// walks all images in the same order: the bytes do not depend on the thread count.
import { gemmBlockF32, threadSlot } from "./gemm";

/**
 * Convolution geometry, written as 21 i32 by src/kernels/conv2d.ts in this order.
 * @global lets depthwise.ts read it too without an export (AS warns on exported classes).
 */
// @ts-ignore: decorator
@global @unmanaged class ConvShape {
  N: i32; C: i32; H: i32; W: i32; K: i32;
  kh: i32; kw: i32; sh: i32; sw: i32; ph: i32; pw: i32; dh: i32; dw: i32;
  G: i32; OH: i32; OW: i32;
  /** im2col: output positions per block, a multiple of 16 */
  blockP: i32;
  /** im2col: floats reserved for the group's padded planes, a multiple of 16 */
  padFloats: i32;
  /** depthwise: row stride of the zero-padded input plane, in floats */
  planeW: i32;
  /** depthwise: OW rounded up to a multiple of 8 */
  rowV: i32;
  /** backward weight: columns of dW per pass over the images (≤ R), bounding the accumulators */
  dwCols: i32;
}

// ---- small memory helpers ----
// Rows here are short (an output row of LeNet's conv2 is 10 floats), so the copies use
// overlapping vectors instead of a scalar tail: the last vector ends exactly at n.

// @ts-ignore: decorator
@inline export function fillZero(dst: usize, n: i32): void {
  const zero = f32x4.splat(0);
  if (n >= 4) {
    let i = 0;
    for (; i + 4 < n; i += 4) v128.store(dst + (<usize>i << 2), zero);
    v128.store(dst + (<usize>(n - 4) << 2), zero);
  } else {
    for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), 0);
  }
}

// @ts-ignore: decorator
@inline function copyF32(dst: usize, src: usize, n: i32): void {
  if (n >= 4) {
    let i = 0;
    for (; i + 4 < n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
    v128.store(dst + (<usize>(n - 4) << 2), v128.load(src + (<usize>(n - 4) << 2)));
  } else {
    for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
  }
}

/** dst[i] += src[i] for i < n (no overlap trick here: an add must happen once). */
// @ts-ignore: decorator
@inline function addF32To(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

/** Sum of n floats: four lane sums, then the lanes, then the tail (a fixed order). */
function sumF32(src: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, v128.load(src + (<usize>i << 2)));
  let s = hsum(acc);
  for (; i < n; i++) s += load<f32>(src + (<usize>i << 2));
  return s;
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// ---- padded planes, im2col and col2im over one block of output positions ----
//
// Row r = (c, ki, kj) of col holds, for each output position (oh, ow), the padded-plane pixel
// xp[c][oh·sh + ki·dh][ow·sw + kj·dw]: one copy per output row, strided when sw > 1.
// A block may start and end inside an output row.

/** Copy channels [c0, c1) of the group's H×W planes into zero-bordered (H+2ph)×(W+2pw) planes. */
export function padPlanes(x: usize, s: ConvShape, c0: i32, c1: i32, xp: usize): void {
  const H = s.H, W = s.W, Wp = W + 2 * s.pw, Hp = H + 2 * s.ph;
  for (let c = c0; c < c1; c++) {
    const plane = xp + (<usize>(c * Hp * Wp) << 2);
    const src = x + (<usize>(c * H * W) << 2);
    fillZero(plane, s.ph * Wp + s.pw); // top border and the left border of the first row
    for (let ih = 0; ih < H; ih++) {
      const row = plane + (<usize>((ih + s.ph) * Wp + s.pw) << 2);
      copyF32(row, src + (<usize>(ih * W) << 2), W);
      // right border of this row and left border of the next one
      fillZero(row + (<usize>W << 2), ih + 1 < H ? 2 * s.pw : s.pw + s.ph * Wp);
    }
  }
}

/** The interior of the padded planes back to H×W planes: the end of col2im. */
export function unpadPlanes(xp: usize, s: ConvShape, C: i32, dx: usize): void {
  const H = s.H, W = s.W, Wp = W + 2 * s.pw, Hp = H + 2 * s.ph;
  for (let c = 0; c < C; c++) {
    for (let ih = 0; ih < H; ih++) {
      copyF32(dx + (<usize>((c * H + ih) * W) << 2), xp + (<usize>((c * Hp + ih + s.ph) * Wp + s.pw) << 2), W);
    }
  }
}

/** d[t] = src[t·sw] for t < n. */
// @ts-ignore: decorator
@inline function gatherRow(d: usize, src: usize, n: i32, sw: i32): void {
  if (sw == 1) {
    copyF32(d, src, n);
  } else if (sw == 2) {
    let t = 0;
    for (; t + 4 <= n; t += 4) {
      const p = src + (<usize>t << 3); // 8 floats hold 4 stride-2 samples
      v128.store(d + (<usize>t << 2), v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6));
    }
    for (; t < n; t++) store<f32>(d + (<usize>t << 2), load<f32>(src + (<usize>t << 3)));
  } else {
    for (let t = 0; t < n; t++) store<f32>(d + (<usize>t << 2), load<f32>(src + (<usize>(t * sw) << 2)));
  }
}

/** dst[t·sw] += d[t] for t < n. */
// @ts-ignore: decorator
@inline function scatterAddRow(dst: usize, d: usize, n: i32, sw: i32): void {
  if (sw == 1) {
    addF32To(dst, d, n);
  } else {
    for (let t = 0; t < n; t++) {
      const p = dst + (<usize>(t * sw) << 2);
      store<f32>(p, load<f32>(p) + load<f32>(d + (<usize>t << 2)));
    }
  }
}

/**
 * col[r − r0][q] = xp[c][oh·sh + ki·dh][ow·sw + kj·dw] for rows r = (c, ki, kj) in [r0, r1) and
 * positions p0 + q = oh·OW + ow, q < np; zero in columns [np, ldcol). `xp` holds padded planes.
 */
export function im2colBlock(xp: usize, s: ConvShape, r0: i32, r1: i32, p0: i32, np: i32, col: usize, ldcol: i32): void {
  // shape fields in locals: wasm reloads anything read from (shared) memory
  const kh = s.kh, kw = s.kw, khw = kh * kw, OW = s.OW, sw = s.sw;
  const Wp = s.W + 2 * s.pw, Hp = s.H + 2 * s.ph;
  const rowStep = <usize>(s.sh * Wp) << 2; // one output row down
  const oh0 = p0 / OW, ow0 = p0 % OW;
  for (let r = r0; r < r1; r++) {
    const c = r / khw, ki = (r / kw) % kh, kj = r % kw;
    // padded-plane address of output position (oh0, 0) for this tap
    let src = xp + (<usize>((c * Hp + oh0 * s.sh + ki * s.dh) * Wp + kj * s.dw) << 2);
    let d = col + (<usize>(r - r0) * <usize>ldcol << 2);
    let ow = ow0;
    for (let q = 0; q < np; ) {
      const n = min(OW - ow, np - q);
      gatherRow(d, src + (<usize>(ow * sw) << 2), n, sw);
      d += <usize>n << 2;
      q += n; ow = 0; src += rowStep;
    }
    fillZero(d, ldcol - np);
  }
}

/** The adjoint of im2colBlock over all R rows: xp[c][ih][iw] += col[r][q] on padded planes. */
export function col2imBlock(col: usize, ldcol: i32, s: ConvShape, R: i32, p0: i32, np: i32, xp: usize): void {
  const kh = s.kh, kw = s.kw, khw = kh * kw, OW = s.OW, sw = s.sw;
  const Wp = s.W + 2 * s.pw, Hp = s.H + 2 * s.ph;
  const rowStep = <usize>(s.sh * Wp) << 2;
  const oh0 = p0 / OW, ow0 = p0 % OW;
  for (let r = 0; r < R; r++) {
    const c = r / khw, ki = (r / kw) % kh, kj = r % kw;
    let dst = xp + (<usize>((c * Hp + oh0 * s.sh + ki * s.dh) * Wp + kj * s.dw) << 2);
    let d = col + (<usize>r * <usize>ldcol << 2);
    let ow = ow0;
    for (let q = 0; q < np; ) {
      const n = min(OW - ow, np - q);
      scatterAddRow(dst + (<usize>(ow * sw) << 2), d, n, sw);
      d += <usize>n << 2;
      q += n; ow = 0; dst += rowStep;
    }
  }
}

// ---- forward ----

/** y[k][q] += bias[k] for Kg rows of np positions, row stride P floats. */
export function addBias(y: usize, P: i32, bias: usize, Kg: i32, np: i32): void {
  for (let k = 0; k < Kg; k++) {
    const row = y + (<usize>k * <usize>P << 2);
    const b = v128.load32_splat(bias + (<usize>k << 2));
    let q = 0;
    for (; q + 4 <= np; q += 4) {
      const p = row + (<usize>q << 2);
      v128.store(p, f32x4.add(v128.load(p), b));
    }
    const bs = load<f32>(bias + (<usize>k << 2));
    for (; q < np; q++) {
      const p = row + (<usize>q << 2);
      store<f32>(p, load<f32>(p) + bs);
    }
  }
}

/**
 * y = conv(x, w) + bias over items (n, g, block) in [start, end). `bias` is 0 for none.
 * Scratch slot: padded planes (padFloats), then R × blockP floats of col.
 */
export function conv2dForwardF32(x: usize, w: usize, bias: usize, y: usize, shape: usize, scratch: usize, slotBytes: i32, start: i32, end: i32): void {
  const s = changetype<ConvShape>(shape);
  const xp = threadSlot(scratch, slotBytes);
  const col = xp + (<usize>s.padFloats << 2);
  const Cg = s.C / s.G, Kg = s.K / s.G;
  const R = Cg * s.kh * s.kw, P = s.OH * s.OW, HW = s.H * s.W;
  const blocks = (P + s.blockP - 1) / s.blockP;
  let padded = -1; // the (n, g) whose planes xp holds: consecutive blocks reuse them
  for (let item = start; item < end; item++) {
    const b = item % blocks, ng = item / blocks, g = ng % s.G, n = ng / s.G;
    if (ng != padded) {
      padPlanes(x + (<usize>((n * s.C + g * Cg) * HW) << 2), s, 0, Cg, xp);
      padded = ng;
    }
    const p0 = b * s.blockP, np = min(s.blockP, P - p0), ldcol = (np + 7) & ~7;
    im2colBlock(xp, s, 0, R, p0, np, col, ldcol);
    const yb = y + (<usize>((n * s.K + g * Kg) * P + p0) << 2);
    gemmBlockF32(w + (<usize>(g * Kg * R) << 2), <usize>R << 2, 4, col, <usize>ldcol << 2, yb, <usize>P << 2, Kg, np, R, false);
    if (bias != 0) addBias(yb, P, bias + (<usize>(g * Kg) << 2), Kg, np);
  }
}

// ---- backward input ----

/**
 * dx = conv_transpose(dy, w) over items (n, g) in [start, end); dx is overwritten.
 * Scratch slot: padded dx planes (padFloats), then Kg × blockP floats of dy, then R × blockP of dcol.
 */
export function conv2dBackwardInputF32(dy: usize, w: usize, dx: usize, shape: usize, scratch: usize, slotBytes: i32, start: i32, end: i32): void {
  const s = changetype<ConvShape>(shape);
  const dxp = threadSlot(scratch, slotBytes);
  const Cg = s.C / s.G, Kg = s.K / s.G;
  const R = Cg * s.kh * s.kw, P = s.OH * s.OW, HW = s.H * s.W;
  const dyp = dxp + (<usize>s.padFloats << 2), dcol = dyp + (<usize>(Kg * s.blockP) << 2);
  for (let item = start; item < end; item++) {
    const g = item % s.G, n = item / s.G;
    fillZero(dxp, s.padFloats);
    for (let p0 = 0; p0 < P; p0 += s.blockP) {
      const np = min(s.blockP, P - p0), ld = (np + 7) & ~7;
      // dy rows are not padded to 8 floats: copy the block into a padded panel for the GEMM
      for (let k = 0; k < Kg; k++) {
        const d = dyp + (<usize>(k * ld) << 2);
        copyF32(d, dy + (<usize>((n * s.K + g * Kg + k) * P + p0) << 2), np);
        fillZero(d + (<usize>np << 2), ld - np);
      }
      // dcol[r][q] = Σ_k W[g·Kg + k][r] · dy[k][q]: A = Wᵀ, read down the columns of W
      gemmBlockF32(w + (<usize>(g * Kg * R) << 2), 4, <usize>R << 2, dyp, <usize>ld << 2, dcol, <usize>ld << 2, R, np, Kg, false);
      col2imBlock(dcol, ld, s, R, p0, np, dxp);
    }
    unpadPlanes(dxp, s, Cg, dx + (<usize>((n * s.C + g * Cg) * HW) << 2));
  }
}

// ---- backward weight ----

/** Up to 3 floats at p into the low lanes, zeros above: the masked tail of a dy row. */
function loadTail(p: usize, n: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/**
 * acc[i][j] += d_i · c_j along np positions, as f32x4 lane sums, for 2 dy rows × 4 col rows.
 * When Kg is odd the last tile has nk = 1: d1 aliases d0 and its sums are dropped. col rows are
 * zero-padded to a multiple of 8 floats, so only dy needs a masked tail.
 */
function dotTile2x4(d0: usize, d1: usize, c0: usize, c1: usize, c2: usize, c3: usize, np: i32, acc: usize, ldacc: usize, nk: i32): void {
  const zero = f32x4.splat(0);
  const r1 = acc + ldacc;
  let a00 = v128.load(acc), a01 = v128.load(acc, 16), a02 = v128.load(acc, 32), a03 = v128.load(acc, 48);
  let a10 = zero, a11 = zero, a12 = zero, a13 = zero;
  if (nk > 1) {
    a10 = v128.load(r1); a11 = v128.load(r1, 16); a12 = v128.load(r1, 32); a13 = v128.load(r1, 48);
  }
  let q = 0;
  for (; q + 4 <= np; q += 4) {
    const o = <usize>q << 2;
    const x0 = v128.load(d0 + o), x1 = v128.load(d1 + o);
    const y0 = v128.load(c0 + o), y1 = v128.load(c1 + o), y2 = v128.load(c2 + o), y3 = v128.load(c3 + o);
    a00 = f32x4.add(a00, f32x4.mul(x0, y0)); a01 = f32x4.add(a01, f32x4.mul(x0, y1));
    a02 = f32x4.add(a02, f32x4.mul(x0, y2)); a03 = f32x4.add(a03, f32x4.mul(x0, y3));
    a10 = f32x4.add(a10, f32x4.mul(x1, y0)); a11 = f32x4.add(a11, f32x4.mul(x1, y1));
    a12 = f32x4.add(a12, f32x4.mul(x1, y2)); a13 = f32x4.add(a13, f32x4.mul(x1, y3));
  }
  if (q < np) {
    const o = <usize>q << 2;
    const x0 = loadTail(d0 + o, np - q), x1 = loadTail(d1 + o, np - q);
    const y0 = v128.load(c0 + o), y1 = v128.load(c1 + o), y2 = v128.load(c2 + o), y3 = v128.load(c3 + o);
    a00 = f32x4.add(a00, f32x4.mul(x0, y0)); a01 = f32x4.add(a01, f32x4.mul(x0, y1));
    a02 = f32x4.add(a02, f32x4.mul(x0, y2)); a03 = f32x4.add(a03, f32x4.mul(x0, y3));
    a10 = f32x4.add(a10, f32x4.mul(x1, y0)); a11 = f32x4.add(a11, f32x4.mul(x1, y1));
    a12 = f32x4.add(a12, f32x4.mul(x1, y2)); a13 = f32x4.add(a13, f32x4.mul(x1, y3));
  }
  v128.store(acc, a00); v128.store(acc, a01, 16); v128.store(acc, a02, 32); v128.store(acc, a03, 48);
  if (nk > 1) {
    v128.store(r1, a10); v128.store(r1, a11, 16); v128.store(r1, a12, 32); v128.store(r1, a13, 48);
  }
}

/** acc[i] += d_i · c along np positions for 2 dy rows × 1 col row: the columns left over after 2×4 tiles. */
function dotTile2x1(d0: usize, d1: usize, c0: usize, np: i32, acc: usize, ldacc: usize, nk: i32): void {
  let a00 = v128.load(acc), a10 = nk > 1 ? v128.load(acc + ldacc) : f32x4.splat(0);
  let q = 0;
  for (; q + 4 <= np; q += 4) {
    const o = <usize>q << 2;
    const y0 = v128.load(c0 + o);
    a00 = f32x4.add(a00, f32x4.mul(v128.load(d0 + o), y0));
    a10 = f32x4.add(a10, f32x4.mul(v128.load(d1 + o), y0));
  }
  if (q < np) {
    const o = <usize>q << 2;
    const y0 = v128.load(c0 + o);
    a00 = f32x4.add(a00, f32x4.mul(loadTail(d0 + o, np - q), y0));
    a10 = f32x4.add(a10, f32x4.mul(loadTail(d1 + o, np - q), y0));
  }
  v128.store(acc, a00);
  if (nk > 1) v128.store(acc + ldacc, a10);
}

/**
 * acc[k][j] += Σ_q dy[k][q] · col[j][q] for Kg × rs lane-sum accumulators (row stride rs).
 * Every accumulator sees the same sequence of adds whichever tile computes it, so the split of
 * columns between threads does not change a bit.
 */
function dotBlock(dy: usize, P: i32, col: usize, ldcol: i32, Kg: i32, rs: i32, np: i32, acc: usize): void {
  const ldc = <usize>ldcol << 2, ldd = <usize>P << 2, lda = <usize>rs << 4;
  let j = 0;
  for (; j + 4 <= rs; j += 4) {
    const c0 = col + <usize>j * ldc;
    for (let k = 0; k < Kg; k += 2) {
      const nk = min(2, Kg - k);
      const d0 = dy + <usize>k * ldd, d1 = nk > 1 ? d0 + ldd : d0;
      dotTile2x4(d0, d1, c0, c0 + ldc, c0 + 2 * ldc, c0 + 3 * ldc, np, acc + (<usize>(k * rs + j) << 4), lda, nk);
    }
  }
  for (; j < rs; j++) {
    const c0 = col + <usize>j * ldc;
    for (let k = 0; k < Kg; k += 2) {
      const nk = min(2, Kg - k);
      const d0 = dy + <usize>k * ldd, d1 = nk > 1 ? d0 + ldd : d0;
      dotTile2x1(d0, d1, c0, np, acc + (<usize>(k * rs + j) << 4), lda, nk);
    }
  }
}

/**
 * dw = Σ_n dy_n · col_nᵀ over items (g, r) in [start, end) of G·R; dw is overwritten.
 * Scratch slot: padded planes (padFloats), Kg × dwCols f32x4 accumulators, dwCols × blockP
 * floats of col.
 *
 * rowSum (0 for none; only with one group): also rowSum[k] = Σ_n Σ_p dy[n][k][p], the AdderNet
 * weight gradient's row term and a conv bias gradient, in conv2dBackwardBiasF32's order (so the
 * same bits) but in this pass, while each image's dy rows are in cache for the GEMM. Each thread
 * takes the channels in the same share of [0, K) as its items are of [0, R), in its first run.
 */
export function conv2dBackwardWeightF32(dy: usize, x: usize, dw: usize, rowSum: usize, shape: usize, scratch: usize, slotBytes: i32, start: i32, end: i32): void {
  const s = changetype<ConvShape>(shape);
  const xp = threadSlot(scratch, slotBytes);
  const Cg = s.C / s.G, Kg = s.K / s.G, khw = s.kh * s.kw;
  const R = Cg * khw, P = s.OH * s.OW, HW = s.H * s.W;
  const acc = xp + (<usize>s.padFloats << 2), col = acc + (<usize>(Kg * s.dwCols) << 4);
  const total = s.G * R;
  const k0 = rowSum == 0 ? 0 : shareOf(start, s.K, total), k1 = rowSum == 0 ? 0 : shareOf(end, s.K, total);
  for (let k = k0; k < k1; k++) store<f32>(rowSum + (<usize>k << 2), 0);
  for (let item = start; item < end; ) {
    // the next run of at most dwCols columns [r0, r1) of group g inside this slice, and the
    // channels they read; each run is one pass over all images
    const g = item / R, r0 = item % R, r1 = min(R, r0 + min(end - item, s.dwCols)), rs = r1 - r0;
    const c0 = r0 / khw, c1 = (r1 - 1) / khw + 1;
    const sums = item == start ? k1 : k0; // the row sums ride on the slice's first run only
    fillZero(acc, Kg * rs * 4);
    for (let n = 0; n < s.N; n++) {
      padPlanes(x + (<usize>((n * s.C + g * Cg) * HW) << 2), s, c0, c1, xp);
      const dyg = dy + (<usize>((n * s.K + g * Kg) * P) << 2);
      for (let p0 = 0; p0 < P; p0 += s.blockP) {
        const np = min(s.blockP, P - p0), ld = (np + 7) & ~7;
        im2colBlock(xp, s, r0, r1, p0, np, col, ld);
        dotBlock(dyg + (<usize>p0 << 2), P, col, ld, Kg, rs, np, acc);
      }
      for (let k = k0; k < sums; k++) {
        const at = rowSum + (<usize>k << 2);
        store<f32>(at, load<f32>(at) + sumF32(dyg + (<usize>(k * P) << 2), P));
      }
    }
    for (let k = 0; k < Kg; k++) {
      const dst = dw + (<usize>((g * Kg + k) * R + r0) << 2);
      for (let j = 0; j < rs; j++) store<f32>(dst + (<usize>j << 2), hsum(v128.load(acc + (<usize>(k * rs + j) << 4))));
    }
    item += rs;
  }
}

/** round(i · K / total): slices that partition [0, total) map to ranges that partition [0, K). */
// @ts-ignore: decorator
@inline function shareOf(i: i32, K: i32, total: i32): i32 {
  return <i32>((<i64>i * K + (total >> 1)) / total);
}

// ---- backward bias ----

/** db[k] = Σ_n Σ_p dy[n][k][p] for k in [start, end); images summed in order. */
export function conv2dBackwardBiasF32(dy: usize, db: usize, N: i32, K: i32, P: i32, start: i32, end: i32): void {
  for (let k = start; k < end; k++) {
    let s: f32 = 0;
    for (let n = 0; n < N; n++) s += sumF32(dy + (<usize>((n * K + k) * P) << 2), P);
    store<f32>(db + (<usize>k << 2), s);
  }
}
