// Depthwise conv2d: groups == C, so output channel k reads only input channel c = k / m, where
// m = K / C is the channel multiplier. Through im2col each group would be a GEMM with m rows and
// R = kh·kw, far too small to block, so these are direct loops:
//
// - the input plane is copied once into a zero-padded scratch plane (rows H + 2·ph, row stride
//   `planeW` wide enough for whole vectors), so the inner loops have no bounds checks;
// - vectors run along output columns, 8 at a time, and rows are computed into a row buffer of
//   `rowV` (OW rounded up to 8) floats so there is no partial-vector tail.
//
// Items: forward and backward-input split over (n, c) planes; backward-weight splits over output
// channels k and walks the images in order, so its bytes do not depend on the thread count.
// The shape block is ConvShape from im2col.ts (@global).
import { threadSlot } from "./gemm";

/** Four output columns' worth of input at p, p+sw, p+2sw, p+3sw. */
// @ts-ignore: decorator
@inline function loadStrided(p: usize, sw: i32): v128 {
  if (sw == 1) return v128.load(p);
  if (sw == 2) return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
  const st = <usize>sw << 2;
  let v = v128.load32_zero(p);
  v = f32x4.replace_lane(v, 1, load<f32>(p + st));
  v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * st));
  return f32x4.replace_lane(v, 3, load<f32>(p + 3 * st));
}

/** The adjoint of loadStrided: add the four lanes of v at p, p+sw, p+2sw, p+3sw. */
// @ts-ignore: decorator
@inline function addStrided(p: usize, v: v128, sw: i32): void {
  if (sw == 1) {
    v128.store(p, f32x4.add(v128.load(p), v));
    return;
  }
  const st = <usize>sw << 2;
  store<f32>(p, load<f32>(p) + f32x4.extract_lane(v, 0));
  store<f32>(p + st, load<f32>(p + st) + f32x4.extract_lane(v, 1));
  store<f32>(p + 2 * st, load<f32>(p + 2 * st) + f32x4.extract_lane(v, 2));
  store<f32>(p + 3 * st, load<f32>(p + 3 * st) + f32x4.extract_lane(v, 3));
}

function zeroF32(dst: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), zero);
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), 0);
}

function moveF32(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

/** Rows of the padded plane: every row a tap can reach, plus sh spare rows for the second
 * row of an odd last pair in the forward pass. */
// @ts-ignore: decorator
@inline function planeRows(s: ConvShape): i32 {
  return s.H + 2 * s.ph + s.sh;
}

/** xp = x plane (H×W) surrounded by zeros: xp[(ih + ph)·planeW + iw + pw] = x[ih·W + iw]. */
function padPlane(x: usize, s: ConvShape, xp: usize): void {
  zeroF32(xp, planeRows(s) * s.planeW);
  for (let ih = 0; ih < s.H; ih++) {
    moveF32(xp + (<usize>((ih + s.ph) * s.planeW + s.pw) << 2), x + (<usize>(ih * s.W) << 2), s.W);
  }
}

/**
 * Two output rows: out[r][ow] = bias + Σ_{ki,kj} wk[ki][kj] · xp[r·rowStep + ki·dh][ow·sw + kj·dw]
 * for r < 2 and ow < rowV, where `xp` points at the padded-plane row of the first tap of the
 * first row. Two rows × eight columns give four independent accumulator chains per weight
 * broadcast (one row of eight was latency-bound on the add chain). Sizes come in as arguments:
 * shape fields live in memory, and wasm would reload them on every use inside the loops.
 */
function forwardRows2(xp: usize, rowStep: usize, wk: usize, kh: i32, kw: i32, dh: i32, dw: i32, planeW: i32, sw: i32, rowV: i32, bias: f32, out: usize): void {
  const stepIn = <usize>(4 * sw) << 2; // input bytes between two groups of 4 outputs
  const tapRow = <usize>(dh * planeW) << 2, tapCol = <usize>dw << 2;
  const out1 = out + (<usize>rowV << 2);
  for (let ow = 0; ow < rowV; ow += 8) {
    let a0 = f32x4.splat(bias), a1 = a0, b0 = a0, b1 = a0;
    let row = xp + (<usize>(ow * sw) << 2);
    let wp = wk;
    for (let ki = 0; ki < kh; ki++) {
      let p = row;
      for (let kj = 0; kj < kw; kj++) {
        const wv = v128.load32_splat(wp);
        a0 = f32x4.add(a0, f32x4.mul(wv, loadStrided(p, sw)));
        a1 = f32x4.add(a1, f32x4.mul(wv, loadStrided(p + stepIn, sw)));
        b0 = f32x4.add(b0, f32x4.mul(wv, loadStrided(p + rowStep, sw)));
        b1 = f32x4.add(b1, f32x4.mul(wv, loadStrided(p + rowStep + stepIn, sw)));
        p += tapCol; wp += 4;
      }
      row += tapRow;
    }
    v128.store(out + (<usize>ow << 2), a0);
    v128.store(out + (<usize>ow << 2), a1, 16);
    v128.store(out1 + (<usize>ow << 2), b0);
    v128.store(out1 + (<usize>ow << 2), b1, 16);
  }
}

/**
 * y = depthwise conv(x, w) + bias over items (n, c) in [start, end); `bias` is 0 for none.
 * Scratch slot: padded plane (with sh spare rows for an odd last output row), then two rows of
 * rowV floats.
 */
export function depthwiseForwardF32(x: usize, w: usize, bias: usize, y: usize, shape: usize, scratch: usize, slotBytes: i32, start: i32, end: i32): void {
  const s = changetype<ConvShape>(shape);
  const xp = threadSlot(scratch, slotBytes);
  const out = xp + (<usize>(planeRows(s) * s.planeW) << 2);
  const m = s.K / s.C, taps = s.kh * s.kw, OH = s.OH, OW = s.OW, P = OH * OW;
  const rowStep = <usize>(s.sh * s.planeW) << 2;
  for (let item = start; item < end; item++) {
    const c = item % s.C, n = item / s.C;
    padPlane(x + (<usize>(item * s.H * s.W) << 2), s, xp);
    for (let j = 0; j < m; j++) {
      const k = c * m + j;
      const b: f32 = bias != 0 ? load<f32>(bias + (<usize>k << 2)) : 0;
      const wk = w + (<usize>(k * taps) << 2);
      let yrow = y + (<usize>((n * s.K + k) * P) << 2);
      let xrow = xp;
      for (let oh = 0; oh < OH; oh += 2) {
        // an odd last row computes a second row from the padded plane's spare rows and drops it
        forwardRows2(xrow, rowStep, wk, s.kh, s.kw, s.dh, s.dw, s.planeW, s.sw, s.rowV, b, out);
        moveF32(yrow, out, OW);
        if (oh + 1 < OH) moveF32(yrow + (<usize>OW << 2), out + (<usize>s.rowV << 2), OW);
        yrow += <usize>(2 * OW) << 2;
        xrow += 2 * rowStep;
      }
    }
  }
}

/**
 * dx = transposed depthwise conv(dy, w) over items (n, c) in [start, end); dx is overwritten.
 * Scratch slot: padded dx plane (accumulated, then its interior copied out), one dy row.
 */
export function depthwiseBackwardInputF32(dy: usize, w: usize, dx: usize, shape: usize, scratch: usize, slotBytes: i32, start: i32, end: i32): void {
  const s = changetype<ConvShape>(shape);
  const dxp = threadSlot(scratch, slotBytes);
  const row = dxp + (<usize>(planeRows(s) * s.planeW) << 2);
  const m = s.K / s.C, kh = s.kh, kw = s.kw, taps = kh * kw, OH = s.OH, OW = s.OW, rowV = s.rowV, sw = s.sw;
  const stepIn = <usize>(4 * sw) << 2;
  const rowStep = <usize>(s.sh * s.planeW) << 2, tapRow = <usize>(s.dh * s.planeW) << 2, tapCol = <usize>s.dw << 2;
  for (let item = start; item < end; item++) {
    const c = item % s.C, n = item / s.C;
    zeroF32(dxp, planeRows(s) * s.planeW);
    for (let j = 0; j < m; j++) {
      const k = c * m + j;
      const wk = w + (<usize>(k * taps) << 2);
      const dyk = dy + (<usize>((n * s.K + k) * OH * OW) << 2);
      let base = dxp;
      for (let oh = 0; oh < OH; oh++) {
        // a zero-padded copy of the dy row: the padding lanes add zeros past the real columns
        moveF32(row, dyk + (<usize>(oh * OW) << 2), OW);
        zeroF32(row + (<usize>OW << 2), rowV - OW);
        let tapBase = base, wp = wk;
        for (let ki = 0; ki < kh; ki++) {
          let p = tapBase;
          for (let kj = 0; kj < kw; kj++) {
            const wv = v128.load32_splat(wp);
            let q = p;
            for (let ow = 0; ow < rowV; ow += 4) {
              addStrided(q, f32x4.mul(wv, v128.load(row + (<usize>ow << 2))), sw);
              q += stepIn;
            }
            p += tapCol; wp += 4;
          }
          tapBase += tapRow;
        }
        base += rowStep;
      }
    }
    const dxc = dx + (<usize>(item * s.H * s.W) << 2);
    for (let ih = 0; ih < s.H; ih++) {
      moveF32(dxc + (<usize>(ih * s.W) << 2), dxp + (<usize>((ih + s.ph) * s.planeW + s.pw) << 2), s.W);
    }
  }
}

/**
 * dw[k] = Σ_n correlation of the padded x[n][c] plane with dy[n][k], over channels k in
 * [start, end); dw is overwritten. Scratch slot: padded x plane.
 */
export function depthwiseBackwardWeightF32(dy: usize, x: usize, dw: usize, shape: usize, scratch: usize, slotBytes: i32, start: i32, end: i32): void {
  const s = changetype<ConvShape>(shape);
  const xp = threadSlot(scratch, slotBytes);
  const m = s.K / s.C, kh = s.kh, kw = s.kw, taps = kh * kw, OH = s.OH, OW = s.OW, sw = s.sw;
  const stepIn = <usize>(4 * sw) << 2;
  const rowStep = <usize>(s.sh * s.planeW) << 2, tapRow = <usize>(s.dh * s.planeW) << 2, tapCol = <usize>s.dw << 2;
  zeroF32(dw + (<usize>(start * taps) << 2), (end - start) * taps);
  // channels k that share an input channel c reuse one padded plane per image
  for (let k0 = start; k0 < end; ) {
    const c = k0 / m, k1 = min(end, (c + 1) * m);
    for (let n = 0; n < s.N; n++) {
      padPlane(x + (<usize>((n * s.C + c) * s.H * s.W) << 2), s, xp);
      for (let k = k0; k < k1; k++) {
        const dyk = dy + (<usize>((n * s.K + k) * OH * OW) << 2);
        let t = dw + (<usize>(k * taps) << 2);
        // per tap: one lane-sum vector over the whole image, then one scalar add per image
        let tapBase = xp;
        for (let ki = 0; ki < kh; ki++) {
          let p0 = tapBase;
          for (let kj = 0; kj < kw; kj++) {
            let acc = f32x4.splat(0);
            let d = dyk, p = p0;
            for (let oh = 0; oh < OH; oh++) {
              let ow = 0, q = p;
              for (; ow + 4 <= OW; ow += 4) {
                acc = f32x4.add(acc, f32x4.mul(v128.load(d + (<usize>ow << 2)), loadStrided(q, sw)));
                q += stepIn;
              }
              // the ragged end of the row, masked so no lane reads the next dy row
              if (ow < OW) acc = f32x4.add(acc, f32x4.mul(loadRowTail(d + (<usize>ow << 2), OW - ow), loadStrided(q, sw)));
              d += <usize>OW << 2;
              p += rowStep;
            }
            store<f32>(t, load<f32>(t) + ((f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3))));
            t += 4; p0 += tapCol;
          }
          tapBase += tapRow;
        }
      }
    }
    k0 = k1;
  }
}

/** 1–3 floats at p in the low lanes, zeros above. */
function loadRowTail(p: usize, n: i32): v128 {
  let v = v128.load32_zero(p);
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}
