// The optimizers' element-wise updates as wasm kernels (assembly/optim.ts), for src/optim's Adam,
// RAdam and SGD, which import nothing and take these through `useFusedUpdates`. They give the bits of
// the TypeScript loops, about ten times faster on one thread, and split big tensors across threads.
// They run only when every array lies in the kernel memory; otherwise they return false and the
// optimizer runs its own loop.
import { existingRuntime, type Runtime } from "./runtime.js";

/** Elements per thread below which an update is not worth a second thread. */
const UPDATE_GRAIN = 1 << 13;

/** Wasm heap blocks of state arrays, freed once their array is garbage. */
const stateBlocks = new FinalizationRegistry<{ rt: Runtime; ptr: number }>(({ rt, ptr }) => rt.heap.free(ptr));

/** The flag constants of assembly/optim.ts, read from each runtime's module once. */
const flagValues = new WeakMap<Runtime, Map<string, number>>();

function flag(rt: Runtime, name: string): number {
  let values = flagValues.get(rt);
  if (!values) flagValues.set(rt, (values = new Map()));
  let v = values.get(name);
  if (v === undefined) {
    const g = (rt.kernels as unknown as Record<string, WebAssembly.Global | undefined>)[name];
    if (!g) throw new Error(`optimizer kernels: the wasm module has no ${name}`);
    values.set(name, (v = g.value as number));
  }
  return v;
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

/**
 * One Adam update of p in place (and of m, v, and vmax with AMSGrad), with src/optim/adam.ts's
 * f32 scalars; false when an array is outside the kernel memory. L2 decay applies when l2 ≠ 0,
 * and lerp takes its w ≥ 0.5 form when |w| ≥ 0.5, as in adam.ts.
 */
export function adamUpdate(
  p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, decoupled: boolean, amsgrad: boolean,
  decay: number, l2: number, w: number, wComplement: number, b2: number, oneMinusB2: number, bc2Sqrt: number, eps: number, negStepSize: number,
): boolean {
  const rt = holder(p, g, m, v, vmax);
  if (!rt) return false;
  if (amsgrad && vmax === null) throw new Error("adamUpdate: AMSGrad needs vmax");
  const flags =
    (decoupled ? flag(rt, "ADAM_DECOUPLED") : 0) |
    (l2 !== 0 ? flag(rt, "ADAM_L2") : 0) |
    (amsgrad ? flag(rt, "ADAM_AMSGRAD") : 0) |
    (Math.abs(w) < 0.5 ? 0 : flag(rt, "ADAM_LERP_HIGH"));
  const args = [p.byteOffset, g.byteOffset, m.byteOffset, v.byteOffset, vmax?.byteOffset ?? 0, flags];
  args.push(decay, l2, w, wComplement, b2, oneMinusB2, bc2Sqrt, eps, negStepSize);
  rt.parallel("adamStepF32", args, p.length, UPDATE_GRAIN, 4);
  return true;
}

/**
 * One RAdam update of p, m and v in place, with src/optim/radam.ts's f32 scalars; `rect` is the
 * rectification term, or null for the un-rectified step. False when an array is outside the
 * kernel memory.
 */
export function radamUpdate(
  p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, decoupled: boolean,
  decay: number, l2: number, w: number, wComplement: number, b2: number, oneMinusB2: number, bc1: number, lr: number, bc2Sqrt: number, eps: number, rect: number | null,
): boolean {
  const rt = holder(p, g, m, v);
  if (!rt) return false;
  const flags =
    (decoupled ? flag(rt, "ADAM_DECOUPLED") : 0) |
    (l2 !== 0 ? flag(rt, "ADAM_L2") : 0) |
    (Math.abs(w) < 0.5 ? 0 : flag(rt, "ADAM_LERP_HIGH")) |
    (rect !== null ? flag(rt, "RADAM_RECTIFIED") : 0);
  const args = [p.byteOffset, g.byteOffset, m.byteOffset, v.byteOffset, flags];
  args.push(decay, l2, w, wComplement, b2, oneMinusB2, bc1, lr, bc2Sqrt, eps, rect ?? 0);
  rt.parallel("radamStepF32", args, p.length, UPDATE_GRAIN, 4);
  return true;
}

/**
 * One SGD update of p in place, with src/optim/sgd.ts's f32 scalars (−lr, weight decay, momentum,
 * 1 − dampening); with a momentum buffer `buf` (null: plain SGD), `first` is its first step
 * (buf = g). Weight decay applies when wd ≠ 0. False when an array is outside the kernel memory.
 */
export function sgdUpdate(
  p: Float32Array, g: Float32Array, buf: Float32Array | null, first: boolean, nesterov: boolean,
  negLr: number, wd: number, momentum: number, keep: number,
): boolean {
  const rt = holder(p, g, buf);
  if (!rt) return false;
  const flags =
    (wd !== 0 ? flag(rt, "SGD_DECAY") : 0) |
    (buf !== null ? flag(rt, "SGD_MOMENTUM") : 0) |
    (first ? flag(rt, "SGD_FIRST") : 0) |
    (nesterov ? flag(rt, "SGD_NESTEROV") : 0);
  rt.parallel("sgdStepF32", [p.byteOffset, g.byteOffset, buf?.byteOffset ?? 0, flags, negLr, wd, momentum, keep], p.length, UPDATE_GRAIN, 4);
  return true;
}
