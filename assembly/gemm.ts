// f32 GEMM: C[M×N] (+)= op(A)[M×K] · op(B)[K×N], row-major.
//
// The work happens in outer-product micro-kernels that keep a 2×16 tile of C in eight f32x4
// locals: per step k they broadcast two values of A and load sixteen of B. Measured in L1 on
// this machine (V8 11.3, x64 has 16 xmm registers): 2×16 and 4×8 reach ~16 GMAC/s, while 4×12
// and 6×8 spill and drop to ~11. 2×16 also fits the small output-channel counts of LeNet (6, 16)
// with no wasted rows.
//
// A is read with scalar broadcasts at `a + i·ars + k·aks`, so any row/column stride works and
// A is never packed. B must be K rows of 16 (or 8) readable floats `bks` bytes apart: the
// general gemm packs op(B) into such panels; convolutions point straight at their im2col buffer.
//
// Every C element is one chain `acc = acc + a·b` over k in order, whatever the tile and the
// thread split, so results do not depend on the thread count.

/** Width of a packed B panel in floats. */
const PANEL: i32 = 16;

// This instance's thread: 0 on the caller, w + 1 on pool worker w (src/kernels/worker_loop.ts sets
// it once, after instantiating). wasm globals are per instance, so per thread.
let threadIndex: i32 = 0;

/** Called once by pool worker w with w + 1, before its first job. */
export function setThreadIndex(index: i32): void {
  threadIndex = index;
}

/**
 * Per-thread scratch: the TS side reserves 64 bytes and then one `bytes`-sized slot per thread.
 * A kernel call takes its thread's slot, so the calls of one job never share a slot, and a thread
 * that runs several chunks of a job (Runtime.parallel's chunked split) reuses its own.
 */
export function threadSlot(base: usize, bytes: i32): usize {
  return base + 64 + <usize>threadIndex * <usize>bytes;
}

// @ts-ignore: decorator
@inline function madd(acc: v128, a: v128, b: v128): v128 {
  // no fused multiply-add in wasm SIMD (relaxed-simd is flag-only on Node 20)
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** Store row `c[0..cols)` of a 2×16 tile from four vectors (cols ≤ 16). */
// @ts-ignore: decorator
@inline function putRow16(c: usize, v0: v128, v1: v128, v2: v128, v3: v128, cols: i32, acc: bool): void {
  if (cols == 16) {
    if (acc) {
      v0 = f32x4.add(v128.load(c), v0);
      v1 = f32x4.add(v128.load(c, 16), v1);
      v2 = f32x4.add(v128.load(c, 32), v2);
      v3 = f32x4.add(v128.load(c, 48), v3);
    }
    v128.store(c, v0);
    v128.store(c, v1, 16);
    v128.store(c, v2, 32);
    v128.store(c, v3, 48);
    return;
  }
  putPartial(c, v0, cols, acc);
  putPartial(c + 16, v1, cols - 4, acc);
  putPartial(c + 32, v2, cols - 8, acc);
  putPartial(c + 48, v3, cols - 12, acc);
}

/** Store row `c[0..cols)` of a 2×8 tile (cols ≤ 8). */
// @ts-ignore: decorator
@inline function putRow8(c: usize, v0: v128, v1: v128, cols: i32, acc: bool): void {
  putPartial(c, v0, cols, acc);
  putPartial(c + 16, v1, cols - 4, acc);
}

/** Store the first `n` lanes (n may be ≤ 0 or ≥ 4) without touching memory past them. */
function putPartial(c: usize, v: v128, n: i32, acc: bool): void {
  if (n >= 4) {
    if (acc) v = f32x4.add(v128.load(c), v);
    v128.store(c, v);
    return;
  }
  if (n <= 0) return;
  let x0 = f32x4.extract_lane(v, 0), x1 = f32x4.extract_lane(v, 1), x2 = f32x4.extract_lane(v, 2);
  if (acc) x0 += load<f32>(c);
  store<f32>(c, x0);
  if (n > 1) {
    if (acc) x1 += load<f32>(c, 4);
    store<f32>(c, x1, 4);
  }
  if (n > 2) {
    if (acc) x2 += load<f32>(c, 8);
    store<f32>(c, x2, 8);
  }
}

/** C[2×cols] (+)= A[2×K]·B[K×16], cols ≤ 16. */
function tile2x16(a: usize, ars: usize, aks: usize, b: usize, bks: usize, K: i32, c: usize, ldc: usize, cols: i32, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  let a1 = a + ars;
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16), b2 = v128.load(b, 32), b3 = v128.load(b, 48);
    const s0 = v128.load32_splat(a);
    c00 = madd(c00, s0, b0); c01 = madd(c01, s0, b1); c02 = madd(c02, s0, b2); c03 = madd(c03, s0, b3);
    const s1 = v128.load32_splat(a1);
    c10 = madd(c10, s1, b0); c11 = madd(c11, s1, b1); c12 = madd(c12, s1, b2); c13 = madd(c13, s1, b3);
    a += aks; a1 += aks; b += bks;
  }
  putRow16(c, c00, c01, c02, c03, cols, acc);
  putRow16(c + ldc, c10, c11, c12, c13, cols, acc);
}

/** C[1×cols] (+)= A[1×K]·B[K×16], cols ≤ 16: the odd last row. */
function tile1x16(a: usize, aks: usize, b: usize, bks: usize, K: i32, c: usize, cols: i32, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const s0 = v128.load32_splat(a);
    c00 = madd(c00, s0, v128.load(b));
    c01 = madd(c01, s0, v128.load(b, 16));
    c02 = madd(c02, s0, v128.load(b, 32));
    c03 = madd(c03, s0, v128.load(b, 48));
    a += aks; b += bks;
  }
  putRow16(c, c00, c01, c02, c03, cols, acc);
}

/** C[2×cols] (+)= A[2×K]·B[K×8], cols ≤ 8: a narrow last panel reads only 8 floats per row. */
function tile2x8(a: usize, ars: usize, aks: usize, b: usize, bks: usize, K: i32, c: usize, ldc: usize, cols: i32, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let a1 = a + ars;
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    const s0 = v128.load32_splat(a);
    c00 = madd(c00, s0, b0); c01 = madd(c01, s0, b1);
    const s1 = v128.load32_splat(a1);
    c10 = madd(c10, s1, b0); c11 = madd(c11, s1, b1);
    a += aks; a1 += aks; b += bks;
  }
  putRow8(c, c00, c01, cols, acc);
  putRow8(c + ldc, c10, c11, cols, acc);
}

/** C[1×cols] (+)= A[1×K]·B[K×8], cols ≤ 8. */
function tile1x8(a: usize, aks: usize, b: usize, bks: usize, K: i32, c: usize, cols: i32, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const s0 = v128.load32_splat(a);
    c00 = madd(c00, s0, v128.load(b));
    c01 = madd(c01, s0, v128.load(b, 16));
    a += aks; b += bks;
  }
  putRow8(c, c00, c01, cols, acc);
}

/**
 * Single-thread block: C[M×N] (+)= A·B with A[i][k] at `a + i·ars + k·aks` (bytes) and B[k][j]
 * at `b + k·bks + 4j`, C[i][j] at `c + i·ldc + 4j`. Each row of B must have roundUp(N, 8)
 * readable floats (lanes past N are computed but never stored). Used by the conv kernels.
 */
export function gemmBlockF32(a: usize, ars: usize, aks: usize, b: usize, bks: usize, c: usize, ldc: usize, M: i32, N: i32, K: i32, acc: bool): void {
  // Panel-outer order: one B panel (K×16 floats) stays in L1 while every row pair uses it.
  for (let j = 0; j < N; j += PANEL) {
    const cols = min(PANEL, N - j);
    const bj = b + (<usize>j << 2);
    const cj = c + (<usize>j << 2);
    let i = 0;
    if (cols > 8) {
      for (; i + 2 <= M; i += 2) tile2x16(a + <usize>i * ars, ars, aks, bj, bks, K, cj + <usize>i * ldc, ldc, cols, acc);
      if (i < M) tile1x16(a + <usize>i * ars, aks, bj, bks, K, cj + <usize>i * ldc, cols, acc);
    } else {
      for (; i + 2 <= M; i += 2) tile2x8(a + <usize>i * ars, ars, aks, bj, bks, K, cj + <usize>i * ldc, ldc, cols, acc);
      if (i < M) tile1x8(a + <usize>i * ars, aks, bj, bks, K, cj + <usize>i * ldc, cols, acc);
    }
  }
}

/**
 * Pack columns [j0, j0+cols) of op(B) (K×N) into `dst` as K rows of 16 floats, zero-filled past
 * `cols`. op(B)[k][j] is B[k·ldb + j], or B[j·ldb + k] when transposed.
 */
export function packPanel(b: usize, ldb: i32, transB: bool, K: i32, j0: i32, cols: i32, dst: usize): void {
  const zero = f32x4.splat(0);
  if (!transB) {
    for (let k = 0; k < K; k++) {
      const src = b + ((<usize>k * <usize>ldb + <usize>j0) << 2);
      const row = dst + (<usize>k << 6);
      if (cols == PANEL) {
        v128.store(row, v128.load(src));
        v128.store(row, v128.load(src, 16), 16);
        v128.store(row, v128.load(src, 32), 32);
        v128.store(row, v128.load(src, 48), 48);
      } else {
        v128.store(row, zero); v128.store(row, zero, 16); v128.store(row, zero, 32); v128.store(row, zero, 48);
        for (let j = 0; j < cols; j++) store<f32>(row + (<usize>j << 2), load<f32>(src + (<usize>j << 2)));
      }
    }
    return;
  }
  // Transposed: column j of the panel is row j0+j of B, contiguous in k.
  if (cols < PANEL) {
    for (let k = 0; k < K; k++) {
      const row = dst + (<usize>k << 6);
      v128.store(row, zero); v128.store(row, zero, 16); v128.store(row, zero, 32); v128.store(row, zero, 48);
    }
  }
  for (let j = 0; j < cols; j++) {
    const src = b + (<usize>(j0 + j) * <usize>ldb << 2);
    const col = dst + (<usize>j << 2);
    for (let k = 0; k < K; k++) store<f32>(col + (<usize>k << 6), load<f32>(src + (<usize>k << 2)));
  }
}

/**
 * Parallel GEMM. Work items are (column panel of 16, block of `rowsPerItem` rows), panel-major;
 * a thread packs each panel it meets once into its scratch slot (K·64 bytes) and then runs the
 * micro-kernels over its rows. Items write disjoint blocks of C.
 */
export function gemmF32(
  transA: bool, transB: bool, M: i32, N: i32, K: i32,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, acc: bool,
  rowsPerItem: i32, scratch: usize, slotBytes: i32, start: i32, end: i32,
): void {
  const panel = threadSlot(scratch, slotBytes);
  const ars: usize = transA ? 4 : <usize>lda << 2;
  const aks: usize = transA ? <usize>lda << 2 : 4;
  const rowBlocks = (M + rowsPerItem - 1) / rowsPerItem;
  let packed = -1;
  for (let item = start; item < end; item++) {
    const j0 = (item / rowBlocks) * PANEL;
    const i0 = (item % rowBlocks) * rowsPerItem;
    const cols = min(PANEL, N - j0);
    if (j0 != packed) {
      packPanel(b, ldb, transB, K, j0, cols, panel);
      packed = j0;
    }
    const rows = min(rowsPerItem, M - i0);
    gemmBlockF32(a + <usize>i0 * ars, ars, aks, panel, PANEL << 2,
      c + ((<usize>i0 * <usize>ldc + <usize>j0) << 2), <usize>ldc << 2, rows, cols, K, acc);
  }
}

/**
 * The per-core f32 ceiling: Σ a·b over n (a multiple of 32) f32 of two L1-resident arrays, `reps`
 * times, one f32x4.mul and one f32x4.add per 4 pairs (WebAssembly SIMD has no fused multiply-add)
 * into 8 independent accumulators, so neither the adds' latency nor the loop bounds it. The total
 * goes to out (f32) so nothing is optimised away.
 */
export function dotStreamF32(a: usize, b: usize, n: i32, reps: i32, out: usize): void {
  let total = f32x4.splat(0);
  for (let r = 0; r < reps; r++) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let s4 = f32x4.splat(0), s5 = f32x4.splat(0), s6 = f32x4.splat(0), s7 = f32x4.splat(0);
    for (let o: usize = 0; o < (<usize>n << 2); o += 128) {
      s0 = f32x4.add(s0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
      s1 = f32x4.add(s1, f32x4.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
      s2 = f32x4.add(s2, f32x4.mul(v128.load(a + o, 32), v128.load(b + o, 32)));
      s3 = f32x4.add(s3, f32x4.mul(v128.load(a + o, 48), v128.load(b + o, 48)));
      s4 = f32x4.add(s4, f32x4.mul(v128.load(a + o, 64), v128.load(b + o, 64)));
      s5 = f32x4.add(s5, f32x4.mul(v128.load(a + o, 80), v128.load(b + o, 80)));
      s6 = f32x4.add(s6, f32x4.mul(v128.load(a + o, 96), v128.load(b + o, 96)));
      s7 = f32x4.add(s7, f32x4.mul(v128.load(a + o, 112), v128.load(b + o, 112)));
    }
    total = f32x4.add(total, f32x4.add(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)), f32x4.add(f32x4.add(s4, s5), f32x4.add(s6, s7))));
  }
  v128.store(out, total);
}
