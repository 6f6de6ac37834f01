// f32 AdderNet kernels for training: Y = −Σ|X − W| and the gradients of docs/addernet.md ("Gradients").
// They mirror the conv kernels and reuse their pieces: padded planes, im2col and col2im
// (im2col.ts), panel packing and per-thread scratch slots (gemm.ts).
//
//   forward         an "L1-GEMM": the 2×16 / 2×8 tiles of gemmBlockF32 with acc − |a − b| in
//                   place of acc + a·b.
//                     conv   items (n, g, block): col = im2col(x); y = −L1(W, col) (+ bias)
//                     linear items (panel, rows): y = −L1(X, Wᵀ)
//   backward input  dX = Σ dY · f(W − X), f = clamp(·, −1, 1) (the paper) or sgn (true gradient):
//                     conv   items (n, g): dcol[r][p] = Σ_k dy[k][p]·f(W[k][r] − col[r][p]) in
//                            place of col, then col2im (padding taps are dropped there)
//                     linear items (panel, rows): dX[n][i] = Σ_o dY[n][o]·f(W[o][i] − X[n][i])
//   backward weight paper rule: Σ dY·(X − W) = GEMM − W·rowsum(dY). The TS side runs the conv /
//                   linear weight-gradient GEMM and the bias sum; adderRowCorrectionF32 subtracts.
//                   sign rule (ablations): dW = Σ dY·sgn(X − W), kernels below.
//
// The reduction never runs along vector lanes (it walks broadcast scalars), so it is never padded
// for alignment. Lanes run over positions or columns; lanes past the end read zeros from padded
// panels and their results are never stored. Spatial zero padding is real zeros in the padded
// planes, so a padded tap contributes −|w| in the forward pass and X = 0 in the weight gradient.
//
// Every output element is one chain over the reduction in a fixed order, whatever the tile or
// the thread split, so results do not depend on the thread count.
import { packPanel, threadSlot } from "./gemm";
import { addBias, col2imBlock, fillZero, im2colBlock, padPlanes, unpadPlanes } from "./im2col";

const PANEL: i32 = 16;

// ---- stores and loads of partial vectors ----

/** Store the first `n` lanes of v (n may be ≤ 0 or ≥ 4) without touching memory past them. */
function storeLanes(c: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(c, v);
    return;
  }
  if (n <= 0) return;
  store<f32>(c, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(c, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(c, f32x4.extract_lane(v, 2), 8);
}

// @ts-ignore: decorator
@inline function storeRow16(c: usize, v0: v128, v1: v128, v2: v128, v3: v128, cols: i32): void {
  if (cols == 16) {
    v128.store(c, v0); v128.store(c, v1, 16); v128.store(c, v2, 32); v128.store(c, v3, 48);
    return;
  }
  storeLanes(c, v0, cols);
  storeLanes(c + 16, v1, cols - 4);
  storeLanes(c + 32, v2, cols - 8);
  storeLanes(c + 48, v3, cols - 12);
}

// @ts-ignore: decorator
@inline function storeRow8(c: usize, v0: v128, v1: v128, cols: i32): void {
  if (cols >= 8) {
    v128.store(c, v0); v128.store(c, v1, 16);
    return;
  }
  storeLanes(c, v0, cols);
  storeLanes(c + 16, v1, cols - 4);
}

/** 1–3 floats at p in the low lanes, zeros above: the ragged end of a dy row. */
function loadFirst(p: usize, n: i32): v128 {
  let v = v128.load32_zero(p);
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** dst[i] = src[i] for i < n, vectors then a scalar tail. */
function copyRow(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// ---- forward: the L1-GEMM, C[M×N] = −Σ_k |A[i][k] − B[k][j]| ----
//
// Two forms of the same sum (spec.opOptions.form, docs/addernet.md "Two forms of the sum"):
//   direct  acc − |a − b| per term: two subtractions per term, both on the FP adders.
//   min     |a − b| = a + b − 2·min(a, b), so −Σ|a − b| = 2·Σ min(a, b) − Σa − Σb: one min and one
//           add per term, like a multiply-add, and the sums Σa (rows of A) and Σb (columns of B)
//           are taken once per block (minEpilogue). pmin is one instruction; inputs are never NaN.
// The min form's terms come two ways, with the same bits:
//   FP_MIN    f32 pmin.
//   BITS_MIN  the signed integer min of the bit patterns, when no lane of x has its sign bit set
//             (x ≥ +0, as after a ReLU: most adder layers): non-negative floats order like their
//             bits, and a w with its sign bit set is a negative integer, below every x. Where pmin
//             gives +0 (x = +0, w = −0) it gives −0; a sum that starts at +0 is the same after
//             either. The integer min issues on other pipes than the FP min, which on the Zen 3 host
//             runs slower than a multiply (BENCHMARKS.md). The sums' pass checks the sign bits.

const DIRECT = 0, FP_MIN = 1, BITS_MIN = 2;

/** acc − |a − b| (direct) or acc + min(a, b) (min form); `form` is a constant at every call. */
// @ts-ignore: decorator
@inline function l1(acc: v128, a: v128, b: v128, form: i32): v128 {
  if (form == BITS_MIN) return f32x4.add(acc, i32x4.min_s(a, b));
  if (form == FP_MIN) return f32x4.add(acc, f32x4.pmin(a, b));
  return f32x4.sub(acc, f32x4.abs(f32x4.sub(a, b)));
}

// @ts-ignore: decorator
@inline function l1Tile2x16(a: usize, ars: usize, aks: usize, b: usize, bks: usize, K: i32, c: usize, ldc: usize, cols: i32, form: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  let a1 = a + ars;
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16), b2 = v128.load(b, 32), b3 = v128.load(b, 48);
    const s0 = v128.load32_splat(a);
    c00 = l1(c00, s0, b0, form); c01 = l1(c01, s0, b1, form); c02 = l1(c02, s0, b2, form); c03 = l1(c03, s0, b3, form);
    const s1 = v128.load32_splat(a1);
    c10 = l1(c10, s1, b0, form); c11 = l1(c11, s1, b1, form); c12 = l1(c12, s1, b2, form); c13 = l1(c13, s1, b3, form);
    a += aks; a1 += aks; b += bks;
  }
  storeRow16(c, c00, c01, c02, c03, cols);
  storeRow16(c + ldc, c10, c11, c12, c13, cols);
}

// @ts-ignore: decorator
@inline function l1Tile1x16(a: usize, aks: usize, b: usize, bks: usize, K: i32, c: usize, cols: i32, form: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const s0 = v128.load32_splat(a);
    c00 = l1(c00, s0, v128.load(b), form);
    c01 = l1(c01, s0, v128.load(b, 16), form);
    c02 = l1(c02, s0, v128.load(b, 32), form);
    c03 = l1(c03, s0, v128.load(b, 48), form);
    a += aks; b += bks;
  }
  storeRow16(c, c00, c01, c02, c03, cols);
}

// @ts-ignore: decorator
@inline function l1Tile2x8(a: usize, ars: usize, aks: usize, b: usize, bks: usize, K: i32, c: usize, ldc: usize, cols: i32, form: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let a1 = a + ars;
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    const s0 = v128.load32_splat(a);
    c00 = l1(c00, s0, b0, form); c01 = l1(c01, s0, b1, form);
    const s1 = v128.load32_splat(a1);
    c10 = l1(c10, s1, b0, form); c11 = l1(c11, s1, b1, form);
    a += aks; a1 += aks; b += bks;
  }
  storeRow8(c, c00, c01, cols);
  storeRow8(c + ldc, c10, c11, cols);
}

// @ts-ignore: decorator
@inline function l1Tile1x8(a: usize, aks: usize, b: usize, bks: usize, K: i32, c: usize, cols: i32, form: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const s0 = v128.load32_splat(a);
    c00 = l1(c00, s0, v128.load(b), form);
    c01 = l1(c01, s0, v128.load(b, 16), form);
    a += aks; b += bks;
  }
  storeRow8(c, c00, c01, cols);
}

/**
 * C[M×N] = −Σ_k |A[i][k] − B[k][j]| (direct) or Σ_k min(A[i][k], B[k][j]) (min form, before its
 * epilogue), the layout contract of gemmBlockF32: A[i][k] at `a + i·ars + k·aks`, B[k][j] at
 * `b + k·bks + 4j` with roundUp(N, 8) readable floats per row.
 */
// @ts-ignore: decorator
@inline function l1GemmBlock(a: usize, ars: usize, aks: usize, b: usize, bks: usize, c: usize, ldc: usize, M: i32, N: i32, K: i32, form: i32): void {
  for (let j = 0; j < N; j += PANEL) {
    const cols = min<i32>(PANEL, N - j);
    const bj = b + (<usize>j << 2), cj = c + (<usize>j << 2);
    let i = 0;
    if (cols > 8) {
      for (; i + 2 <= M; i += 2) l1Tile2x16(a + <usize>i * ars, ars, aks, bj, bks, K, cj + <usize>i * ldc, ldc, cols, form);
      if (i < M) l1Tile1x16(a + <usize>i * ars, aks, bj, bks, K, cj + <usize>i * ldc, cols, form);
    } else {
      for (; i + 2 <= M; i += 2) l1Tile2x8(a + <usize>i * ars, ars, aks, bj, bks, K, cj + <usize>i * ldc, ldc, cols, form);
      if (i < M) l1Tile1x8(a + <usize>i * ars, aks, bj, bks, K, cj + <usize>i * ldc, cols, form);
    }
  }
}

function l1GemmDirect(a: usize, ars: usize, aks: usize, b: usize, bks: usize, c: usize, ldc: usize, M: i32, N: i32, K: i32): void {
  l1GemmBlock(a, ars, aks, b, bks, c, ldc, M, N, K, DIRECT);
}

// One function per form, each with its constant: with both forms inlined under one branch, the
// optimizer merged them into one loop that tested the form per term (2.4× slower).
function l1GemmFpMin(a: usize, ars: usize, aks: usize, b: usize, bks: usize, c: usize, ldc: usize, M: i32, N: i32, K: i32): void {
  l1GemmBlock(a, ars, aks, b, bks, c, ldc, M, N, K, FP_MIN);
}

function l1GemmBitsMin(a: usize, ars: usize, aks: usize, b: usize, bks: usize, c: usize, ldc: usize, M: i32, N: i32, K: i32): void {
  l1GemmBlock(a, ars, aks, b, bks, c, ldc, M, N, K, BITS_MIN);
}

/** The min form's Σ min(a, b); `signs` says whether any x operand has its sign bit set (see l1). */
// @ts-ignore: decorator
@inline function l1GemmMin(a: usize, ars: usize, aks: usize, b: usize, bks: usize, c: usize, ldc: usize, M: i32, N: i32, K: i32, signs: bool): void {
  if (signs) l1GemmFpMin(a, ars, aks, b, bks, c, ldc, M, N, K);
  else l1GemmBitsMin(a, ars, aks, b, bks, c, ldc, M, N, K);
}

/**
 * out[i] = Σ_k A[i][k] for M contiguous rows of K floats, row stride ars bytes (4 lane sums, then
 * hsum). Returns whether any element has its sign bit set.
 * Four rows at a time: each row's sum is one chain of adds whose latency, not the adder's
 * throughput, bounds a lone row; four independent chains keep every row's order (and bits).
 */
function rowSums(a: usize, ars: usize, K: i32, M: i32, out: usize): bool {
  let bits = i32x4.splat(0), tailBits: u32 = 0;
  let i = 0;
  for (; i + 4 <= M; i += 4, a += ars << 2) {
    const a1 = a + ars, a2 = a1 + ars, a3 = a2 + ars;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      const o = <usize>k << 2;
      const v0 = v128.load(a + o), v1 = v128.load(a1 + o), v2 = v128.load(a2 + o), v3 = v128.load(a3 + o);
      s0 = f32x4.add(s0, v0); s1 = f32x4.add(s1, v1); s2 = f32x4.add(s2, v2); s3 = f32x4.add(s3, v3);
      bits = v128.or(bits, v128.or(v128.or(v0, v1), v128.or(v2, v3)));
    }
    let t0: f32 = 0, t1: f32 = 0, t2: f32 = 0, t3: f32 = 0;
    for (; k < K; k++) {
      const o = <usize>k << 2;
      t0 += load<f32>(a + o); t1 += load<f32>(a1 + o); t2 += load<f32>(a2 + o); t3 += load<f32>(a3 + o);
      tailBits |= load<u32>(a + o) | load<u32>(a1 + o) | load<u32>(a2 + o) | load<u32>(a3 + o);
    }
    const d = out + (<usize>i << 2);
    store<f32>(d, hsum(s0) + t0); store<f32>(d, hsum(s1) + t1, 4);
    store<f32>(d, hsum(s2) + t2, 8); store<f32>(d, hsum(s3) + t3, 12);
  }
  for (; i < M; i++, a += ars) {
    let acc = f32x4.splat(0), t: f32 = 0;
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      const v = v128.load(a + (<usize>k << 2));
      acc = f32x4.add(acc, v);
      bits = v128.or(bits, v);
    }
    for (; k < K; k++) {
      t += load<f32>(a + (<usize>k << 2));
      tailBits |= load<u32>(a + (<usize>k << 2));
    }
    store<f32>(out + (<usize>i << 2), hsum(acc) + t);
  }
  return i32x4.bitmask(bits) != 0 || (tailBits >> 31) != 0;
}

/**
 * out[j] = Σ_r B[r][j] for R rows of ld floats (ld a multiple of 8), rows in order. Returns
 * whether any element has its sign bit set.
 * Sixteen columns (four vectors, four independent chains) at a time, then eight: one vector's
 * chain alone waits on the add's latency at every row (it cost about a quarter of the L1-GEMM's
 * time on LeNet's convs).
 */
function columnSums(b: usize, ld: i32, R: i32, out: usize): bool {
  const ldb = <usize>ld << 2;
  let bits = i32x4.splat(0);
  let j = 0;
  for (; j + 16 <= ld; j += 16) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let p = b + (<usize>j << 2);
    for (let r = 0; r < R; r++, p += ldb) {
      const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
      s0 = f32x4.add(s0, v0); s1 = f32x4.add(s1, v1); s2 = f32x4.add(s2, v2); s3 = f32x4.add(s3, v3);
      bits = v128.or(bits, v128.or(v128.or(v0, v1), v128.or(v2, v3)));
    }
    const d = out + (<usize>j << 2);
    v128.store(d, s0); v128.store(d, s1, 16); v128.store(d, s2, 32); v128.store(d, s3, 48);
  }
  for (; j < ld; j += 8) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
    let p = b + (<usize>j << 2);
    for (let r = 0; r < R; r++, p += ldb) {
      const v0 = v128.load(p), v1 = v128.load(p, 16);
      s0 = f32x4.add(s0, v0); s1 = f32x4.add(s1, v1);
      bits = v128.or(bits, v128.or(v0, v1));
    }
    const d = out + (<usize>j << 2);
    v128.store(d, s0); v128.store(d, s1, 16);
  }
  return i32x4.bitmask(bits) != 0;
}

/** The min form's last step: C[i][j] ← (2·C[i][j] − rowSum[i]) − colSum[j] for M rows of N. */
function minEpilogue(c: usize, ldc: usize, M: i32, N: i32, rowSum: usize, colSum: usize): void {
  for (let i = 0; i < M; i++, c += ldc) {
    const rs = load<f32>(rowSum + (<usize>i << 2)), rv = f32x4.splat(rs);
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const o = <usize>j << 2, v = v128.load(c + o);
      v128.store(c + o, f32x4.sub(f32x4.sub(f32x4.add(v, v), rv), v128.load(colSum + o)));
    }
    for (; j < N; j++) {
      const o = <usize>j << 2, v = load<f32>(c + o);
      store<f32>(c + o, (v + v - rs) - load<f32>(colSum + o));
    }
  }
}

/**
 * y = −Σ|x − w| (+ bias) for a conv over items (n, g, block) in [start, end); `bias` is 0 for none.
 * Scratch slot: padded planes (padFloats), R × blockP floats of col, then for the min form blockP
 * column sums and Kg row sums of w (taken once per group a thread meets).
 */
export function adder2dForwardF32(x: usize, w: usize, bias: usize, y: usize, shape: usize, minForm: bool, scratch: usize, slotBytes: i32, start: i32, end: i32): void {
  const s = changetype<ConvShape>(shape);
  const xp = threadSlot(scratch, slotBytes);
  const Cg = s.C / s.G, Kg = s.K / s.G;
  const R = Cg * s.kh * s.kw, P = s.OH * s.OW, HW = s.H * s.W;
  const col = xp + (<usize>s.padFloats << 2), colSum = col + (<usize>(R * s.blockP) << 2), wSum = colSum + (<usize>s.blockP << 2);
  const blocks = (P + s.blockP - 1) / s.blockP;
  let padded = -1, summed = -1; // the (n, g) whose planes xp holds, the g whose sums wSum holds
  for (let item = start; item < end; item++) {
    const b = item % blocks, ng = item / blocks, g = ng % s.G, n = ng / s.G;
    if (ng != padded) {
      padPlanes(x + (<usize>((n * s.C + g * Cg) * HW) << 2), s, 0, Cg, xp);
      padded = ng;
    }
    const p0 = b * s.blockP, np = min(s.blockP, P - p0), ldcol = (np + 7) & ~7;
    im2colBlock(xp, s, 0, R, p0, np, col, ldcol);
    const yb = y + (<usize>((n * s.K + g * Kg) * P + p0) << 2), wg = w + (<usize>(g * Kg * R) << 2);
    if (minForm) {
      if (g != summed) {
        rowSums(wg, <usize>R << 2, R, Kg, wSum);
        summed = g;
      }
      const signs = columnSums(col, ldcol, R, colSum);
      l1GemmMin(wg, <usize>R << 2, 4, col, <usize>ldcol << 2, yb, <usize>P << 2, Kg, np, R, signs);
      minEpilogue(yb, <usize>P << 2, Kg, np, wSum, colSum);
    } else {
      l1GemmDirect(wg, <usize>R << 2, 4, col, <usize>ldcol << 2, yb, <usize>P << 2, Kg, np, R);
    }
    if (bias != 0) addBias(yb, P, bias + (<usize>(g * Kg) << 2), Kg, np);
  }
}

/**
 * y[M×N] = −Σ_k |x[m][k] − w[n][k]| for a fully connected layer (x [M×K], w [N×K], y [M×N]).
 * Items (column panel of 16 output features, block of rowsPerItem rows), panel-major; a thread
 * packs each panel of wᵀ it meets once into its slot (K·64 bytes), then for the min form the
 * panel's 16 column sums (Σ of each packed weight row) and rowsPerItem row sums of x.
 */
export function adderLinearForwardF32(M: i32, N: i32, K: i32, x: usize, w: usize, y: usize, minForm: bool, rowsPerItem: i32, scratch: usize, slotBytes: i32, start: i32, end: i32): void {
  const panel = threadSlot(scratch, slotBytes);
  const wSum = panel + (<usize>K << 6), xSum = wSum + (PANEL << 2);
  const rowBlocks = (M + rowsPerItem - 1) / rowsPerItem;
  let packed = -1;
  for (let item = start; item < end; item++) {
    const j0 = (item / rowBlocks) * PANEL, i0 = (item % rowBlocks) * rowsPerItem;
    const cols = min(PANEL, N - j0), rows = min(rowsPerItem, M - i0);
    if (j0 != packed) {
      packPanel(w, K, true, K, j0, cols, panel);
      if (minForm) columnSums(panel, PANEL, K, wSum);
      packed = j0;
    }
    const xi = x + (<usize>(i0 * K) << 2), yi = y + (<usize>(i0 * N + j0) << 2);
    if (minForm) {
      // recomputed for every panel the row block meets: 1/16 of the panel's min-adds
      const signs = rowSums(xi, <usize>K << 2, K, rows, xSum);
      l1GemmMin(xi, <usize>K << 2, 4, panel, PANEL << 2, yi, <usize>N << 2, rows, cols, K, signs);
      minEpilogue(yi, <usize>N << 2, rows, cols, xSum, wSum);
    } else {
      l1GemmDirect(xi, <usize>K << 2, 4, panel, PANEL << 2, yi, <usize>N << 2, rows, cols, K);
    }
  }
}

// ---- the surrogate f(d) of the input gradient ----

/**
 * clamp(d, −1, 1) (HardTanh, the paper's rule) or sgn(d) (the true derivative, for ablations).
 * Callers pass a constant `sign` into @inline code, so each variant compiles to its own loop.
 *
 * The clamp runs on the bit patterns, as two integer mins (inputs here are never NaN):
 *   min_s(d, bits(1))    a float with its sign bit set is a negative i32, below bits(1); two
 *                        non-negative floats order as their bits do; so this is min(d, 1);
 *   min_u(·, bits(−1))   as u32, non-negative floats lie below 0x80000000 and negative ones
 *                        rise with their magnitude, so this is max(·, −1).
 * Same bits as pmax(pmin(d, 1), −1), −0 included. On the Zen 3 host the FP min and max share
 * the FP add pipes with the loop's sub and add (4 of the 5 ops per term), while integer mins
 * issue on any vector pipe (bench/kernels/pipes.mjs measures both).
 */
// @ts-ignore: decorator
@inline function surrogate(d: v128, sign: bool): v128 {
  if (sign) {
    // ±1 with the sign bit of d, and 0 where d == 0
    const one = v128.or(v128.and(d, i32x4.splat(0x80000000)), f32x4.splat(1));
    return v128.and(one, f32x4.ne(d, f32x4.splat(0)));
  }
  return i32x4.min_u(i32x4.min_s(d, f32x4.splat(1)), f32x4.splat(-1));
}

// @ts-ignore: decorator
@inline function gradStep(acc: v128, g: v128, d: v128, sign: bool): v128 {
  return f32x4.add(acc, f32x4.mul(g, surrogate(d, sign)));
}

// ---- backward input, conv: col[r][j] ← Σ_k dy[k][j] · f(W[k][r] − col[r][j]) ----
//
// A tile row is 8 positions under one tap. Its x values and its results are either a row of col
// (the im2col path) or 8 floats of the padded planes (the direct path, convGradBlockDirect). In
// the direct path a strip that runs past the end of an output row ("split") has lanes [0, cut)
// at a and lanes [cut, 8) at a + jump, the step from one output row to the next in the planes;
// lanes ≥ valid lie past the block's last position: they read up to 10 floats past the x planes,
// into their zeroed slack and the dx planes' first floats (adder2dBackwardInputF32), take dy = 0
// (the clamp and sgn map any bits into [−1, 1]), and are never stored. Their x still takes part
// in a row's zero test, so that slack is zeroed: what it holds then never depends on earlier
// kernels, and with `masked` neither does which rows are left out.

/** Lanes 4·hi + i < n. */
// @ts-ignore: decorator
@inline function lanesBelow(n: i32, hi: bool): v128 {
  return i32x4.lt_s(hi ? i32x4(4, 5, 6, 7) : i32x4(0, 1, 2, 3), i32x4.splat(n));
}

/** Four lanes of a tile row's x, from a (lanes 4·hi …) or, past the cut, from a + jump. */
// @ts-ignore: decorator
@inline function loadStripHalf(a: usize, jump: usize, cut: i32, split: bool, hi: bool): v128 {
  const here = v128.load(a);
  return split ? v128.bitselect(here, v128.load(a + jump), lanesBelow(cut, hi)) : here;
}

/** h[lanes in mask] += acc; the other lanes keep their bits. */
// @ts-ignore: decorator
@inline function addMasked(h: usize, acc: v128, mask: v128): void {
  const old = v128.load(h);
  v128.store(h, v128.bitselect(f32x4.add(old, acc), old, mask));
}

/** A tile row's 8 results: stored into col, or added into the padded dx planes. */
// @ts-ignore: decorator
@inline function putStrip(h: usize, a0: v128, a1: v128, addInto: bool, split: bool, jump: usize, cut: i32, valid: i32): void {
  if (!addInto) {
    v128.store(h, a0); v128.store(h, a1, 16);
  } else if (!split) {
    v128.store(h, f32x4.add(v128.load(h), a0)); v128.store(h, f32x4.add(v128.load(h, 16), a1), 16);
  } else {
    const n = min(cut, valid);
    addMasked(h, a0, lanesBelow(n, false));
    addMasked(h + 16, a1, lanesBelow(n, true));
    if (valid > cut) {
      // lanes [cut, valid): the next output row's first positions
      addMasked(h + jump, a0, v128.andnot(lanesBelow(valid, false), lanesBelow(cut, false)));
      addMasked(h + jump + 16, a1, v128.andnot(lanesBelow(valid, true), lanesBelow(cut, true)));
    }
  }
}


/**
 * Two rows × 8 columns of dcol at h (row stride ldh), from the 8 + 8 inputs x at xa and xa1 (col
 * itself, updated in place, or the padded planes: convGradBlockDirect). W[k][r] is at s + k·sks
 * (row r + 1 at s + sars); f(W)[k][r] at the same offsets from s + fws; dy[k][j] at v + k·ldv.
 * The sixteen x values stay in registers over k.
 *
 * Zero rows: where all 8 x values of a row are +0 (a ReLU's zeros, padding taps), W − x is W to
 * the bit, so each term is dy·f(W), with f(W) taken once per group in each thread's run of items:
 * a multiply and an add per term instead of five ops, with the same bits in the same order.
 * A −0 takes the general loop. A tile with one zero row runs both kinds of term in one loop.
 */
// @ts-ignore: decorator
@inline function convGradTile2x8(s: usize, sars: usize, sks: usize, fws: usize, v: usize, ldv: usize, xa: usize, xa1: usize, h: usize, h1: usize, addInto: bool, split: bool, jump: usize, cut: i32, valid: i32, K: i32, sign: bool, masked: bool): void {
  const x00 = loadStripHalf(xa, jump, cut, split, false), x01 = loadStripHalf(xa + 16, jump, cut, split, true);
  const x10 = loadStripHalf(xa1, jump, cut, split, false), x11 = loadStripHalf(xa1 + 16, jump, cut, split, true);
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let s1 = s + sars;
  const zero0 = !v128.any_true(v128.or(x00, x01)), zero1 = !v128.any_true(v128.or(x10, x11));
  if (masked && (zero0 || zero1)) {
    // dx is not needed where x = +0: a zero row's terms reach only such dx, so they are left out
    // (in col its lanes keep their +0, which col2im adds there); the other row runs alone
    if (!zero0) convGradTile1x8(s, sks, fws, v, ldv, xa, h, addInto, split, jump, cut, valid, K, sign, false);
    else if (!zero1) convGradTile1x8(s1, sks, fws, v, ldv, xa1, h1, addInto, split, jump, cut, valid, K, sign, false);
    return;
  }
  if (zero0 && zero1) {
    s += fws; s1 += fws;
    for (let k = 0; k < K; k++) {
      const g0 = v128.load(v), g1 = v128.load(v, 16);
      const f0 = v128.load32_splat(s), f1 = v128.load32_splat(s1);
      a00 = f32x4.add(a00, f32x4.mul(g0, f0));
      a01 = f32x4.add(a01, f32x4.mul(g1, f0));
      a10 = f32x4.add(a10, f32x4.mul(g0, f1));
      a11 = f32x4.add(a11, f32x4.mul(g1, f1));
      v += ldv; s += sks; s1 += sks;
    }
  } else if (zero0 || zero1) {
    // one zero row: dy·f(W) for it, the general terms for the other, one pass over dy
    let sz = zero0 ? s + fws : s1 + fws, sg = zero0 ? s1 : s;
    const xg0 = zero0 ? x10 : x00, xg1 = zero0 ? x11 : x01;
    let z0 = f32x4.splat(0), z1 = f32x4.splat(0), q0 = f32x4.splat(0), q1 = f32x4.splat(0);
    for (let k = 0; k < K; k++) {
      const g0 = v128.load(v), g1 = v128.load(v, 16);
      const f = v128.load32_splat(sz), wg = v128.load32_splat(sg);
      z0 = f32x4.add(z0, f32x4.mul(g0, f));
      z1 = f32x4.add(z1, f32x4.mul(g1, f));
      q0 = gradStep(q0, g0, f32x4.sub(wg, xg0), sign);
      q1 = gradStep(q1, g1, f32x4.sub(wg, xg1), sign);
      v += ldv; sz += sks; sg += sks;
    }
    if (zero0) { a00 = z0; a01 = z1; a10 = q0; a11 = q1; } else { a00 = q0; a01 = q1; a10 = z0; a11 = z1; }
  } else {
    for (let k = 0; k < K; k++) {
      const g0 = v128.load(v), g1 = v128.load(v, 16);
      const w0 = v128.load32_splat(s), w1 = v128.load32_splat(s1);
      a00 = gradStep(a00, g0, f32x4.sub(w0, x00), sign);
      a01 = gradStep(a01, g1, f32x4.sub(w0, x01), sign);
      a10 = gradStep(a10, g0, f32x4.sub(w1, x10), sign);
      a11 = gradStep(a11, g1, f32x4.sub(w1, x11), sign);
      v += ldv; s += sks; s1 += sks;
    }
  }
  // row r before row r + 1: where their outputs overlap, the order col2im adds them in
  putStrip(h, a00, a01, addInto, split, jump, cut, valid);
  putStrip(h1, a10, a11, addInto, split, jump, cut, valid);
}

// @ts-ignore: decorator
@inline function convGradTile1x8(s: usize, sks: usize, fws: usize, v: usize, ldv: usize, xa: usize, h: usize, addInto: bool, split: bool, jump: usize, cut: i32, valid: i32, K: i32, sign: bool, masked: bool): void {
  const x00 = loadStripHalf(xa, jump, cut, split, false), x01 = loadStripHalf(xa + 16, jump, cut, split, true);
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
  if (!v128.any_true(v128.or(x00, x01))) {
    if (masked) return; // as in convGradTile2x8
    s += fws;
    for (let k = 0; k < K; k++) {
      const f0 = v128.load32_splat(s);
      a00 = f32x4.add(a00, f32x4.mul(v128.load(v), f0));
      a01 = f32x4.add(a01, f32x4.mul(v128.load(v, 16), f0));
      v += ldv; s += sks;
    }
  } else {
    for (let k = 0; k < K; k++) {
      const w0 = v128.load32_splat(s);
      a00 = gradStep(a00, v128.load(v), f32x4.sub(w0, x00), sign);
      a01 = gradStep(a01, v128.load(v, 16), f32x4.sub(w0, x01), sign);
      v += ldv; s += sks;
    }
  }
  putStrip(h, a00, a01, addInto, split, jump, cut, valid);
}

/**
 * R rows × ld columns (ld a multiple of 8) of col, in place; W of the group at w (row stride
 * R floats), f(W) at fw (same layout), dy rows of ld floats. Strip-outer, so one 8-column strip
 * of dy stays in L1.
 */
// @ts-ignore: decorator
@inline function convGradBlock(w: usize, fw: usize, R: i32, dy: usize, col: usize, ld: i32, Kg: i32, sign: bool, masked: bool): void {
  const ldb = <usize>ld << 2, wks = <usize>R << 2, fws = fw - w;
  for (let j = 0; j < ld; j += 8) {
    const dj = dy + (<usize>j << 2), cj = col + (<usize>j << 2);
    let r = 0;
    for (; r + 2 <= R; r += 2) {
      const h = cj + <usize>r * ldb;
      convGradTile2x8(w + (<usize>r << 2), 4, wks, fws, dj, ldb, h, h + ldb, h, h + ldb, false, false, 0, 8, 8, Kg, sign, masked);
    }
    if (r < R) {
      const h = cj + <usize>r * ldb;
      convGradTile1x8(w + (<usize>r << 2), wks, fws, dj, ldb, h, h, false, false, 0, 8, 8, Kg, sign, masked);
    }
  }
}

/**
 * convGradBlock without im2col and col2im, for stride 1 and OW ≥ 8 (a strip of 8 positions then
 * spans at most two output rows). A strip's x under tap r is 8 floats of the padded x planes at
 * xp + tap[r] + (oh·Wp + ow)·4, or two runs of them where the strip crosses the end of an output
 * row, and its dcol goes to the same floats of the padded dx planes at dxp + … . The tiles add it
 * there, in the order col2im adds: in a block, each dx element takes its terms in ascending r.
 * A higher r reads an earlier position for the same element (its tap offset is larger), so the
 * strips walk down, the row pairs up, and a tile adds row r before row r + 1. The values, and so
 * the bits, are those of the im2col path. np positions from p0; ld = np rounded up to 8.
 */
// @ts-ignore: decorator
@inline function convGradBlockDirect(w: usize, fw: usize, R: i32, khw: i32, dy: usize, ld: i32, np: i32, xp: usize, dxp: usize, tap: usize, p0: i32, OW: i32, Wp: i32, Kg: i32, sign: bool, masked: bool): void {
  const jump = <usize>(Wp - OW) << 2;
  for (let j = ld - 8; j >= 0; j -= 8) {
    const p = p0 + j, cut = OW - p % OW, valid = min(8, np - j);
    const xj = xp + (<usize>((p / OW) * Wp + p % OW) << 2);
    const dj = dy + (<usize>j << 2), dxs = dxp - xp;
    if (cut >= 8 && valid == 8) {
      if (sign) directStripSign(w, fw, R, khw, dj, ld, xj, dxs, tap, Kg, masked);
      else directStripClamp(w, fw, R, khw, dj, ld, xj, dxs, tap, Kg, masked);
    } else {
      if (sign) directSplitStripSign(w, fw, R, khw, dj, ld, xj, dxs, tap, jump, min(cut, 8), valid, Kg, masked);
      else directSplitStripClamp(w, fw, R, khw, dj, ld, xj, dxs, tap, jump, min(cut, 8), valid, Kg, masked);
    }
  }
}

/** All R rows of one strip: the x planes at xj + tap[r], dx at the same place + dxs. */
// @ts-ignore: decorator
@inline function directStrip(w: usize, fw: usize, R: i32, khw: i32, dj: usize, ld: i32, xj: usize, dxs: usize, tap: usize, split: bool, jump: usize, cut: i32, valid: i32, Kg: i32, sign: bool, masked: bool): void {
  const ldb = <usize>ld << 2, wks = <usize>R << 2, fws = fw - w, pair = <usize>khw << 2;
  // a tile takes the same tap of two channels: its rows' dx never overlap, so its second add
  // never waits on its first (a store then a load 4 bytes on stalls store forwarding), and
  // each channel's rows still come in ascending order
  let r = 0;
  for (; r + khw < R; r += khw) {
    for (const end = r + khw; r < end; r++) {
      const t = tap + (<usize>r << 2), xa = xj + load<u32>(t), xa1 = xj + load<u32>(t + pair);
      convGradTile2x8(w + (<usize>r << 2), pair, wks, fws, dj, ldb, xa, xa1, xa + dxs, xa1 + dxs, true, split, jump, cut, valid, Kg, sign, masked);
    }
  }
  for (; r < R; r++) {
    const xa = xj + load<u32>(tap + (<usize>r << 2));
    convGradTile1x8(w + (<usize>r << 2), wks, fws, dj, ldb, xa, xa + dxs, true, split, jump, cut, valid, Kg, sign, masked);
  }
}

/** dst[i] = f(src[i] − 0) for n floats: the terms of a zero tile, taken as the general loop takes them. */
function surrogateOfWeights(src: usize, n: i32, dst: usize, sign: bool): void {
  for (let i = 0; i < n; i += 4) {
    const p = <usize>i << 2;
    const d = f32x4.sub(n - i >= 4 ? v128.load(src + p) : loadFirst(src + p, n - i), f32x4.splat(0));
    storeLanes(dst + p, sign ? surrogate(d, true) : surrogate(d, false), n - i);
  }
}

// One function per rule, not inlined into the caller, so that each keeps its own loop (and see
// heldBlockClamp).
function convGradBlockClamp(w: usize, fw: usize, R: i32, dy: usize, col: usize, ld: i32, Kg: i32, masked: bool): void { convGradBlock(w, fw, R, dy, col, ld, Kg, false, masked); }
function convGradBlockSign(w: usize, fw: usize, R: i32, dy: usize, col: usize, ld: i32, Kg: i32, masked: bool): void { convGradBlock(w, fw, R, dy, col, ld, Kg, true, masked); }
// One function per kind of strip and rule, not inlined, so that each keeps its own loops.
function directStripClamp(w: usize, fw: usize, R: i32, khw: i32, dj: usize, ld: i32, xj: usize, dxs: usize, tap: usize, Kg: i32, masked: bool): void {
  directStrip(w, fw, R, khw, dj, ld, xj, dxs, tap, false, 0, 8, 8, Kg, false, masked);
}
function directStripSign(w: usize, fw: usize, R: i32, khw: i32, dj: usize, ld: i32, xj: usize, dxs: usize, tap: usize, Kg: i32, masked: bool): void {
  directStrip(w, fw, R, khw, dj, ld, xj, dxs, tap, false, 0, 8, 8, Kg, true, masked);
}
function directSplitStripClamp(w: usize, fw: usize, R: i32, khw: i32, dj: usize, ld: i32, xj: usize, dxs: usize, tap: usize, jump: usize, cut: i32, valid: i32, Kg: i32, masked: bool): void {
  directStrip(w, fw, R, khw, dj, ld, xj, dxs, tap, true, jump, cut, valid, Kg, false, masked);
}
function directSplitStripSign(w: usize, fw: usize, R: i32, khw: i32, dj: usize, ld: i32, xj: usize, dxs: usize, tap: usize, jump: usize, cut: i32, valid: i32, Kg: i32, masked: bool): void {
  directStrip(w, fw, R, khw, dj, ld, xj, dxs, tap, true, jump, cut, valid, Kg, true, masked);
}
function convGradBlockDirectClamp(w: usize, fw: usize, R: i32, khw: i32, dy: usize, ld: i32, np: i32, xp: usize, dxp: usize, tap: usize, p0: i32, OW: i32, Wp: i32, Kg: i32, masked: bool): void {
  convGradBlockDirect(w, fw, R, khw, dy, ld, np, xp, dxp, tap, p0, OW, Wp, Kg, false, masked);
}
function convGradBlockDirectSign(w: usize, fw: usize, R: i32, khw: i32, dy: usize, ld: i32, np: i32, xp: usize, dxp: usize, tap: usize, p0: i32, OW: i32, Wp: i32, Kg: i32, masked: bool): void {
  convGradBlockDirect(w, fw, R, khw, dy, ld, np, xp, dxp, tap, p0, OW, Wp, Kg, true, masked);
}

/** tap[r] = byte offset of tap r = (c, ki, kj) in the padded planes, for convGradBlockDirect. */
function tapOffsets(s: ConvShape, R: i32, tap: usize): void {
  const kh = s.kh, kw = s.kw, Wp = s.W + 2 * s.pw, Hp = s.H + 2 * s.ph;
  for (let r = 0; r < R; r++) {
    const c = r / (kh * kw), ki = (r / kw) % kh, kj = r % kw;
    store<u32>(tap + (<usize>r << 2), <u32>(((c * Hp + ki * s.dh) * Wp + kj * s.dw) << 2));
  }
}

/**
 * dx = Σ dy · f(w − x) scattered through col2im, over items (n, g) in [start, end); dx is
 * overwritten. `sign` selects f = sgn instead of clamp(·, −1, 1). `masked`: the caller drops dx
 * wherever x is +0 (x is a ReLU's output), so tile rows whose 8 inputs are all +0 are left out;
 * dx there then holds only part of its sum, and every other dx keeps its bits.
 * Scratch slot: padded x planes, padded dx planes (padFloats each), Kg × blockP floats of dy,
 * R × blockP floats of col (overwritten by dcol), Kg × R floats of f(W) for the zero tiles, R
 * u32 tap offsets for the direct path.
 */
export function adder2dBackwardInputF32(x: usize, dy: usize, w: usize, dx: usize, shape: usize, sign: bool, masked: bool, scratch: usize, slotBytes: i32, start: i32, end: i32): void {
  const s = changetype<ConvShape>(shape);
  const xp = threadSlot(scratch, slotBytes);
  const Cg = s.C / s.G, Kg = s.K / s.G;
  const R = Cg * s.kh * s.kw, P = s.OH * s.OW, HW = s.H * s.W;
  const dxp = xp + (<usize>s.padFloats << 2), dyp = dxp + (<usize>s.padFloats << 2), col = dyp + (<usize>(Kg * s.blockP) << 2);
  const fw = col + (<usize>(R * s.blockP) << 2), tap = fw + (<usize>(Kg * R) << 2);
  // stride 1, output rows of 8 or more: the tiles read x and add into dx in place
  const direct = s.sh == 1 && s.sw == 1 && s.OW >= 8;
  if (direct) {
    tapOffsets(s, R, tap);
    // the slack after the x planes, which padPlanes never writes (see the strips' ragged lanes)
    const planes = Cg * (s.H + 2 * s.ph) * (s.W + 2 * s.pw);
    fillZero(xp + (<usize>planes << 2), s.padFloats - planes);
  }
  const OW = s.OW, Wp = s.W + 2 * s.pw;
  for (let item = start; item < end; item++) {
    const g = item % s.G, n = item / s.G;
    padPlanes(x + (<usize>((n * s.C + g * Cg) * HW) << 2), s, 0, Cg, xp);
    fillZero(dxp, s.padFloats);
    const wg = w + (<usize>(g * Kg * R) << 2);
    // f(W) serves the zero rows' loops, which `masked` leaves out
    if (!masked && (item == start || g != (item - 1) % s.G)) surrogateOfWeights(wg, Kg * R, fw, sign);
    for (let p0 = 0; p0 < P; p0 += s.blockP) {
      const np = min(s.blockP, P - p0), ld = (np + 7) & ~7;
      // dy rows padded with zeros to ld floats: the extra lanes then add nothing. A block, not dy
      // in place: rows P floats apart alias in L1 when P·4 is a multiple of 4 KiB (32×32 maps).
      for (let k = 0; k < Kg; k++) {
        const d = dyp + (<usize>(k * ld) << 2);
        copyRow(d, dy + (<usize>((n * s.K + g * Kg + k) * P + p0) << 2), np);
        fillZero(d + (<usize>np << 2), ld - np);
      }
      if (direct) {
        if (sign) convGradBlockDirectSign(wg, fw, R, s.kh * s.kw, dyp, ld, np, xp, dxp, tap, p0, OW, Wp, Kg, masked);
        else convGradBlockDirectClamp(wg, fw, R, s.kh * s.kw, dyp, ld, np, xp, dxp, tap, p0, OW, Wp, Kg, masked);
        continue;
      }
      im2colBlock(xp, s, 0, R, p0, np, col, ld);
      if (sign) convGradBlockSign(wg, fw, R, dyp, col, ld, Kg, masked);
      else convGradBlockClamp(wg, fw, R, dyp, col, ld, Kg, masked);
      col2imBlock(col, ld, s, R, p0, np, dxp);
    }
    unpadPlanes(dxp, s, Cg, dx + (<usize>((n * s.C + g * Cg) * HW) << 2));
  }
}

// ---- linear: out[r][j] = Σ_k S[r][k] · f(V[k][j] − H[r][j]) ----
//
// backward input:      out = dX, S = dY, V = W, H = X   (f = clamp, or sgn for ablations)
// sign weight gradient: out = dW, S = dYᵀ, V = X, H = W  (f = sgn)

/** Two rows × 8 columns; H and V are packed panels (64-byte rows), out gets `cols` columns. */
// @ts-ignore: decorator
@inline function heldTile2x8(s: usize, sars: usize, sks: usize, v: usize, h: usize, K: i32, out: usize, ldo: usize, cols: i32, sign: bool): void {
  const x00 = v128.load(h), x01 = v128.load(h, 16), x10 = v128.load(h, 64), x11 = v128.load(h, 80);
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let s1 = s + sars;
  for (let k = 0; k < K; k++) {
    const v0 = v128.load(v), v1 = v128.load(v, 16);
    const g0 = v128.load32_splat(s), g1 = v128.load32_splat(s1);
    a00 = gradStep(a00, g0, f32x4.sub(v0, x00), sign);
    a01 = gradStep(a01, g0, f32x4.sub(v1, x01), sign);
    a10 = gradStep(a10, g1, f32x4.sub(v0, x10), sign);
    a11 = gradStep(a11, g1, f32x4.sub(v1, x11), sign);
    v += PANEL << 2; s += sks; s1 += sks;
  }
  storeRow8(out, a00, a01, cols);
  storeRow8(out + ldo, a10, a11, cols);
}

// @ts-ignore: decorator
@inline function heldTile1x8(s: usize, sks: usize, v: usize, h: usize, K: i32, out: usize, cols: i32, sign: bool): void {
  const x00 = v128.load(h), x01 = v128.load(h, 16);
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const g0 = v128.load32_splat(s);
    a00 = gradStep(a00, g0, f32x4.sub(v128.load(v), x00), sign);
    a01 = gradStep(a01, g0, f32x4.sub(v128.load(v, 16), x01), sign);
    v += PANEL << 2; s += sks;
  }
  storeRow8(out, a00, a01, cols);
}

// @ts-ignore: decorator
@inline function heldBlock(s: usize, sars: usize, sks: usize, vp: usize, hp: usize, K: i32, out: usize, ldo: usize, rows: i32, cols: i32, sign: bool): void {
  for (let j = 0; j < cols; j += 8) {
    const c = cols - j, vj = vp + (<usize>j << 2), hj = hp + (<usize>j << 2), oj = out + (<usize>j << 2);
    let i = 0;
    for (; i + 2 <= rows; i += 2) heldTile2x8(s + <usize>i * sars, sars, sks, vj, hj + (<usize>i << 6), K, oj + <usize>i * ldo, ldo, c, sign);
    if (i < rows) heldTile1x8(s + <usize>i * sars, sks, vj, hj + (<usize>i << 6), K, oj + <usize>i * ldo, c, sign);
  }
}

// One function per rule: inlined into one caller, the optimizer merged the two calls into one loop
// that tested the rule on every term, at half the speed.
function heldBlockClamp(s: usize, sars: usize, sks: usize, vp: usize, hp: usize, K: i32, out: usize, ldo: usize, rows: i32, cols: i32): void {
  heldBlock(s, sars, sks, vp, hp, K, out, ldo, rows, cols, false);
}
function heldBlockSign(s: usize, sars: usize, sks: usize, vp: usize, hp: usize, K: i32, out: usize, ldo: usize, rows: i32, cols: i32): void {
  heldBlock(s, sars, sks, vp, hp, K, out, ldo, rows, cols, true);
}

/**
 * out[M×N] = Σ_k S[r][k] · f(V[k][j] − H[r][j]) with S[r][k] at `s + r·sars + k·saks` (bytes),
 * V [K×N] and H [M×N] row-major with row strides ldv and ldh floats, out row stride ldo floats.
 * Items (column panel of 16, block of rowsPerItem rows), panel-major. Scratch slot: K × 16
 * floats of V, then rowsPerItem × 16 floats of H.
 */
export function adderLinearGradF32(
  s: usize, sars: i32, saks: i32, v: usize, ldv: i32, h: usize, ldh: i32, out: usize, ldo: i32,
  M: i32, N: i32, K: i32, sign: bool, rowsPerItem: i32, scratch: usize, slotBytes: i32, start: i32, end: i32,
): void {
  const vp = threadSlot(scratch, slotBytes);
  const hp = vp + (<usize>K << 6);
  const rowBlocks = (M + rowsPerItem - 1) / rowsPerItem;
  let packed = -1;
  for (let item = start; item < end; item++) {
    const j0 = (item / rowBlocks) * PANEL, i0 = (item % rowBlocks) * rowsPerItem;
    const cols = min(PANEL, N - j0), rows = min(rowsPerItem, M - i0);
    if (j0 != packed) {
      packPanel(v, ldv, false, K, j0, cols, vp);
      packed = j0;
    }
    packPanel(h + (<usize>(i0 * ldh) << 2), ldh, false, rows, j0, cols, hp);
    const si = s + <usize>i0 * <usize>sars, oi = out + (<usize>(i0 * ldo + j0) << 2);
    if (sign) heldBlockSign(si, sars, saks, vp, hp, K, oi, <usize>ldo << 2, rows, cols);
    else heldBlockClamp(si, sars, saks, vp, hp, K, oi, <usize>ldo << 2, rows, cols);
  }
}

// ---- backward weight ----

/**
 * dw[k][r] −= w[k][r] · rowSum[k] for rows k in [start, end) of R columns: with rowSum = Σ dy
 * over images and positions, this turns the GEMM Σ dy·x into the paper's Σ dy·(x − w).
 */
export function adderRowCorrectionF32(dw: usize, w: usize, rowSum: usize, R: i32, start: i32, end: i32): void {
  for (let k = start; k < end; k++) {
    const gs = load<f32>(rowSum + (<usize>k << 2));
    const g = f32x4.splat(gs);
    const d = dw + (<usize>(k * R) << 2), ww = w + (<usize>(k * R) << 2);
    let r = 0;
    for (; r + 4 <= R; r += 4) {
      const o = <usize>r << 2;
      v128.store(d + o, f32x4.sub(v128.load(d + o), f32x4.mul(v128.load(ww + o), g)));
    }
    for (; r < R; r++) {
      const o = <usize>r << 2;
      store<f32>(d + o, load<f32>(d + o) - load<f32>(ww + o) * gs);
    }
  }
}

/**
 * acc[j] += Σ_q dy[q] · sgn(c_j[q] − w_j) over np positions for one dy row and four col rows
 * (f32x4 lane sums). col rows are zero-padded to a multiple of 8 floats; dy gets a masked tail.
 */
function signDotTile1x4(d: usize, c0: usize, ldc: usize, w: usize, np: i32, acc: usize): void {
  const c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
  const w0 = v128.load32_splat(w), w1 = v128.load32_splat(w, 4), w2 = v128.load32_splat(w, 8), w3 = v128.load32_splat(w, 12);
  let a0 = v128.load(acc), a1 = v128.load(acc, 16), a2 = v128.load(acc, 32), a3 = v128.load(acc, 48);
  for (let q = 0; q < np; q += 4) {
    const o = <usize>q << 2;
    const g = q + 4 <= np ? v128.load(d + o) : loadFirst(d + o, np - q);
    a0 = gradStep(a0, g, f32x4.sub(v128.load(c0 + o), w0), true);
    a1 = gradStep(a1, g, f32x4.sub(v128.load(c1 + o), w1), true);
    a2 = gradStep(a2, g, f32x4.sub(v128.load(c2 + o), w2), true);
    a3 = gradStep(a3, g, f32x4.sub(v128.load(c3 + o), w3), true);
  }
  v128.store(acc, a0); v128.store(acc, a1, 16); v128.store(acc, a2, 32); v128.store(acc, a3, 48);
}

function signDotTile1x1(d: usize, c0: usize, w: usize, np: i32, acc: usize): void {
  const w0 = v128.load32_splat(w);
  let a0 = v128.load(acc);
  for (let q = 0; q < np; q += 4) {
    const o = <usize>q << 2;
    const g = q + 4 <= np ? v128.load(d + o) : loadFirst(d + o, np - q);
    a0 = gradStep(a0, g, f32x4.sub(v128.load(c0 + o), w0), true);
  }
  v128.store(acc, a0);
}

/**
 * dw = Σ_n Σ_p dy · sgn(col − w) (the true weight gradient) over items (g, r) in [start, end) of
 * G·R; dw is overwritten. Split and scratch exactly as conv2dBackwardWeightF32: padded planes,
 * Kg × dwCols f32x4 accumulators, dwCols × blockP floats of col; images in order.
 */
export function adder2dSignWeightF32(dy: usize, x: usize, w: usize, dw: usize, shape: usize, scratch: usize, slotBytes: i32, start: i32, end: i32): void {
  const s = changetype<ConvShape>(shape);
  const xp = threadSlot(scratch, slotBytes);
  const Cg = s.C / s.G, Kg = s.K / s.G, khw = s.kh * s.kw;
  const R = Cg * khw, P = s.OH * s.OW, HW = s.H * s.W;
  const acc = xp + (<usize>s.padFloats << 2), col = acc + (<usize>(Kg * s.dwCols) << 4);
  for (let item = start; item < end; ) {
    const g = item / R, r0 = item % R, r1 = min(R, r0 + min(end - item, s.dwCols)), rs = r1 - r0;
    const c0 = r0 / khw, c1 = (r1 - 1) / khw + 1;
    fillZero(acc, Kg * rs * 4);
    for (let n = 0; n < s.N; n++) {
      padPlanes(x + (<usize>((n * s.C + g * Cg) * HW) << 2), s, c0, c1, xp);
      const dyg = dy + (<usize>((n * s.K + g * Kg) * P) << 2);
      for (let p0 = 0; p0 < P; p0 += s.blockP) {
        const np = min(s.blockP, P - p0), ld = (np + 7) & ~7, ldc = <usize>ld << 2;
        im2colBlock(xp, s, r0, r1, p0, np, col, ld);
        for (let k = 0; k < Kg; k++) {
          const d = dyg + (<usize>(k * P + p0) << 2);
          const wk = w + (<usize>((g * Kg + k) * R + r0) << 2);
          const ak = acc + (<usize>(k * rs) << 4);
          let j = 0;
          for (; j + 4 <= rs; j += 4) signDotTile1x4(d, col + <usize>j * ldc, ldc, wk + (<usize>j << 2), np, ak + (<usize>j << 4));
          for (; j < rs; j++) signDotTile1x1(d, col + <usize>j * ldc, wk + (<usize>j << 2), np, ak + (<usize>j << 4));
        }
      }
    }
    for (let k = 0; k < Kg; k++) {
      const dst = dw + (<usize>((g * Kg + k) * R + r0) << 2);
      for (let j = 0; j < rs; j++) store<f32>(dst + (<usize>j << 2), hsum(v128.load(acc + (<usize>(k * rs + j) << 4))));
    }
    item += rs;
  }
}
