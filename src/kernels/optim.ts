// The optimizers' element-wise updates as wasm kernels (assembly/optim.ts), for src/optim's Adam
// and SGD, which import nothing and take these through `useFusedUpdates`. They give the bits of
// the TypeScript loops, about ten times faster on one thread, and split big tensors across threads.
// They run only when every array lies in the kernel memory; otherwise they return false and the
// optimizer runs its own loop.
import { existingRuntime, type Runtime } from "./runtime.js";

/** Elements per thread below which an update is not worth a second thread. */
const UPDATE_GRAIN = 1 << 13;

/** Adam's scalars, computed by src/optim/adam.ts (f32 values). */
export interface AdamUpdateScalars {
  decoupled: boolean;
  decay: number;
  /** 0: no L2 term. */
  l2: number;
  amsgrad: boolean;
  w: number;
  wComplement: number;
  b2: number;
  oneMinusB2: number;
  bc2Sqrt: number;
  eps: number;
  negStepSize: number;
}

/** SGD's scalars, computed by src/optim/sgd.ts (f32 values). */
export interface SgdUpdateScalars {
  negLr: number;
  /** 0: no weight decay. */
  wd: number;
  /** false: plain SGD, no buffer. */
  useMomentum: boolean;
  momentum: number;
  keep: number;
  nesterov: boolean;
  /** The buffer's first step: buf = g. */
  first: boolean;
}

/** Wasm heap blocks of state arrays, freed once their array is garbage. */
const stateBlocks = new FinalizationRegistry<{ rt: Runtime; ptr: number }>(({ rt, ptr }) => rt.heap.free(ptr));

function flag(rt: Runtime, name: string): number {
  const g = (rt.kernels as unknown as Record<string, WebAssembly.Global | undefined>)[name];
  if (!g) throw new Error(`optimizer kernels: the wasm module has no ${name}`);
  return g.value as number;
}

/** The runtime that holds every array given, or undefined. */
function holder(...arrays: (Float32Array | null)[]): Runtime | undefined {
  const rt = existingRuntime();
  if (!rt) return undefined;
  for (const a of arrays) if (a !== null && !rt.holds(a)) return undefined;
  return rt;
}

/**
 * A zeroed array of n floats for optimizer state: in the kernel memory when `param` is (so the
 * kernels can update both), else a plain Float32Array.
 */
export function stateArray(n: number, param: Float32Array): Float32Array {
  const rt = holder(param);
  if (!rt) return new Float32Array(n);
  const ptr = rt.heap.alloc(Math.max(n, 1) * 4);
  const arr = rt.f32(ptr, n).fill(0);
  stateBlocks.register(arr, { rt, ptr });
  return arr;
}

/** One Adam update of p in place (m, v, vmax too); false when an array is outside the kernel memory. */
export function adamUpdate(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, s: AdamUpdateScalars): boolean {
  const rt = holder(p, g, m, v, vmax);
  if (!rt) return false;
  const flags =
    (s.decoupled ? flag(rt, "ADAM_DECOUPLED") : 0) |
    (s.l2 !== 0 ? flag(rt, "ADAM_L2") : 0) |
    (s.amsgrad ? flag(rt, "ADAM_AMSGRAD") : 0) |
    (Math.abs(s.w) < 0.5 ? 0 : flag(rt, "ADAM_LERP_HIGH"));
  const args = [p.byteOffset, g.byteOffset, m.byteOffset, v.byteOffset, vmax?.byteOffset ?? 0, flags];
  args.push(s.decay, s.l2, s.w, s.wComplement, s.b2, s.oneMinusB2, s.bc2Sqrt, s.eps, s.negStepSize);
  rt.parallel("adamStepF32", args, p.length, UPDATE_GRAIN, 4);
  return true;
}

/** One SGD update of p in place (and of buf with momentum); false when an array is outside the kernel memory. */
export function sgdUpdate(p: Float32Array, g: Float32Array, buf: Float32Array | null, s: SgdUpdateScalars): boolean {
  const rt = holder(p, g, buf);
  if (!rt) return false;
  if (s.useMomentum && buf === null) throw new Error("sgdUpdate: momentum needs a buffer");
  const flags =
    (s.wd !== 0 ? flag(rt, "SGD_DECAY") : 0) |
    (s.useMomentum ? flag(rt, "SGD_MOMENTUM") : 0) |
    (s.first ? flag(rt, "SGD_FIRST") : 0) |
    (s.nesterov ? flag(rt, "SGD_NESTEROV") : 0);
  const args = [p.byteOffset, g.byteOffset, buf?.byteOffset ?? 0, flags, s.negLr, s.wd, s.momentum, s.keep];
  rt.parallel("sgdStepF32", args, p.length, UPDATE_GRAIN, 4);
  return true;
}
