// Fused element-wise updates: an optional faster engine for the inner loops of Adam, RAdam and
// SGD. optim imports nothing, so the engine is handed in (the library's entry point hands in the
// wasm kernels of src/kernels/optim.ts). An engine must give the same bits as the loops in
// adam.ts, radam.ts and sgd.ts; it returns false for arrays it cannot reach, and the optimizer
// then runs its own loop.

/**
 * What Adam and RAdam share, for one parameter and step, f32 values (f32.ts momentScalars):
 * the weight decay and the moment estimates' coefficients.
 */
export interface MomentScalars {
  decoupled: boolean;
  decay: number;
  /** 0: no L2 term. */
  l2: number;
  w: number;
  wComplement: number;
  b2: number;
  oneMinusB2: number;
  bc2Sqrt: number;
  eps: number;
}

/** Adam's scalars (adam.ts derives them). */
export interface AdamScalars extends MomentScalars {
  amsgrad: boolean;
  negStepSize: number;
}

/** RAdam's scalars (radam.ts derives them). */
export interface RAdamScalars extends MomentScalars {
  bc1: number;
  lr: number;
  /** The rectification term, or null for the un-rectified step. */
  rect: number | null;
}

/** SGD's scalars for one parameter and step, f32 values (sgd.ts derives them). */
export interface SgdScalars {
  negLr: number;
  /** 0: no weight decay. */
  wd: number;
  momentum: number;
  keep: number;
  nesterov: boolean;
  /** The momentum buffer's first step: buf = g. */
  first: boolean;
}

export interface FusedUpdates {
  /** A zeroed state array of n floats that the engine can reach when it can reach `param`. */
  stateArray(n: number, param: Float32Array): Float32Array;
  adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, s: AdamScalars): boolean;
  radam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: RAdamScalars): boolean;
  /** `buf` is the momentum buffer, null for plain SGD. */
  sgd(p: Float32Array, g: Float32Array, buf: Float32Array | null, s: SgdScalars): boolean;
}

let engine: FusedUpdates | null = null;

/** Sets (or, with null, removes) the engine every optimizer uses from its next step on. */
export function useFusedUpdates(updates: FusedUpdates | null): void {
  engine = updates;
}

/** The engine in use, or null. */
export function fusedUpdates(): FusedUpdates | null {
  return engine;
}

/** A zeroed state array for `param`: the engine's when there is one, else a plain Float32Array. */
export function newStateArray(n: number, param: Float32Array): Float32Array {
  return engine !== null ? engine.stateArray(n, param) : new Float32Array(n);
}
