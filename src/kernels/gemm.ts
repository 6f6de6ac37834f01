// f32 GEMM entry point: C[M×N] (+)= op(A)[M×K] · op(B)[K×N], row-major, on the wasm kernels.
// Linear uses it as y = x·Wᵀ (NT), dX = dY·W (NN) and dW = dYᵀ·X (TN).
import { Runtime, runtime } from "./runtime.js";

/** Knobs for the thread split; tests lower `minMacsPerThread` to force threading on tiny shapes. */
export const tuning = {
  /** Below this many multiply-adds per thread, a job runs on the caller alone. */
  minMacsPerThread: 1 << 17,
};

/** Scratch slot ids used by the f32 GEMM and conv kernels (see Runtime.scratch). */
export const SCRATCH_THREADS = 0;
export const SCRATCH_PARAMS = 1;

const PANEL = 16;

/**
 * C[M×N] (+)= op(A)[M×K] · op(B)[K×N], row-major with leading dimensions lda, ldb, ldc (in
 * elements); op(X) is X, or Xᵀ when its trans flag is set (then X is stored K×M or N×K).
 * With `accumulate` false, C is overwritten. C must not overlap A or B. All three arrays must
 * live in the runtime's wasm memory. Each element is one f32 chain over k in order, so the
 * result does not depend on the thread count.
 */
export function gemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, lda: number, B: Float32Array, ldb: number,
  C: Float32Array, ldc: number, accumulate: boolean,
): void {
  checkGemm(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
  if (M === 0 || N === 0) return;
  const rt = runtime();
  inMemory(rt, "gemm", { A, B, C });
  const panels = Math.ceil(N / PANEL);
  const rowsPerItem = rowsPerPanelItem(rt, M, panels);
  const items = panels * Math.ceil(M / rowsPerItem);
  const macsPerItem = rowsPerItem * PANEL * Math.max(K, 1);
  const slotBytes = alignUp(K * PANEL * 4, 64);
  const scratch = threadScratch(rt, slotBytes);
  rt.parallel(
    "gemmF32",
    [+transA, +transB, M, N, K, A.byteOffset, lda, B.byteOffset, ldb, C.byteOffset, ldc, +accumulate, rowsPerItem, scratch, slotBytes],
    items, grainFor(macsPerItem), 1, true,
  );
}

/** Validate sizes and strides; names the bad argument. */
export function checkGemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, lda: number, B: Float32Array, ldb: number, C: Float32Array, ldc: number,
): void {
  for (const [name, v] of [["M", M], ["N", N], ["K", K]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`gemm: ${name} must be a non-negative integer, got ${v}`);
  }
  checkMatrix("A", A, transA ? K : M, transA ? M : K, lda);
  checkMatrix("B", B, transB ? N : K, transB ? K : N, ldb);
  checkMatrix("C", C, M, N, ldc);
}

function checkMatrix(name: string, X: Float32Array, rows: number, cols: number, ld: number): void {
  if (!(X instanceof Float32Array)) throw new Error(`gemm: ${name} must be a Float32Array`);
  if (!Number.isInteger(ld) || ld < Math.max(cols, 1)) {
    throw new Error(`gemm: ld${name.toLowerCase()} = ${ld} is smaller than the ${cols} columns of stored ${name}`);
  }
  const need = rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
  if (X.length < need) {
    throw new Error(`gemm: ${name} has ${X.length} elements, needs ${need} for ${rows}×${cols} with leading dimension ${ld}`);
  }
}

/** Throw unless every array is a view of the runtime's wasm memory (kernels read it in place). */
export function inMemory(rt: Runtime, op: string, arrays: Record<string, Float32Array | null>): void {
  for (const [name, x] of Object.entries(arrays)) {
    if (x === null) continue;
    if (!rt.holds(x)) {
      throw new Error(`${op}: ${name} is not in the kernel runtime's memory; allocate it with runtime().heap and view it with runtime().f32()`);
    }
  }
}

/**
 * Per-thread scratch for one job: 64 bytes, then one slot of `slotBytes` per thread. Each kernel
 * call takes its thread's slot with `threadSlot` in assembly/gemm.ts.
 */
export function threadScratch(rt: Runtime, slotBytes: number): number {
  return rt.scratch(SCRATCH_THREADS, 64 + rt.threads * slotBytes);
}

/**
 * Rows of a work item for a job of `panels` column panels × M rows: with few panels (small N), M
 * is cut into row blocks too, so that the threads' chunks (8 per thread) can even out their time.
 */
export function rowsPerPanelItem(rt: Runtime, M: number, panels: number): number {
  const wanted = 8 * rt.threads;
  if (rt.threads <= 1 || panels >= wanted) return M;
  const blocks = Math.ceil(wanted / panels);
  return Math.min(M, Math.max(16, 2 * Math.ceil(M / blocks / 2)));
}

/** Smallest number of work items worth a thread. */
export function grainFor(macsPerItem: number): number {
  return Math.max(1, Math.ceil(tuning.minMacsPerThread / Math.max(macsPerItem, 1)));
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
