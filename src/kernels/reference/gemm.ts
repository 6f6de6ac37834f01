// Reference GEMM: the oracle for the wasm kernel. Plain loops, written for clarity.
import { checkGemm } from "../gemm.js";

/** C[M×N] (+)= op(A)[M×K] · op(B)[K×N], row-major; op(X) is X or its transpose. */
export function gemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, lda: number, B: Float32Array, ldb: number,
  C: Float32Array, ldc: number, accumulate: boolean,
): void {
  checkGemm(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
  const a = (i: number, k: number) => (transA ? A[k * lda + i] : A[i * lda + k]);
  const b = (k: number, j: number) => (transB ? B[j * ldb + k] : B[k * ldb + j]);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += a(i, k) * b(k, j);
      C[i * ldc + j] = accumulate ? C[i * ldc + j] + sum : sum;
    }
  }
}
