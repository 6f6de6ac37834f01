// AdderNet's adaptive learning rate (paper Eqs. 12-13): each adder layer's raw gradient is
// rescaled to grad · η·√k / max(‖grad‖₂, 1e-12), k = element count of the whole layer tensor,
// so its RMS per element is exactly η at every step. It runs as a gradient hook, i.e. before the
// optimizer adds weight decay and momentum: weight decay is not rescaled and momentum
// accumulates normalised gradients, as in the official code.
import type { GradHook, HookHandle, OptimParam } from "./optimizer.js";

/** The norm floor of the official code (`adder.py`). */
export const ADAPTIVE_LR_MIN_NORM = 1e-12;

/** A gradient hook that rescales the whole gradient tensor to RMS η. The norm is computed in f64. */
export function adaptiveLrHook(eta = 0.2): GradHook {
  if (typeof eta !== "number" || !Number.isFinite(eta) || !(eta > 0)) {
    throw new Error(`adaptiveLrHook: option 'eta' must be a finite number > 0, got ${String(eta)}`);
  }
  return (grad: Float32Array) => {
    const k = grad.length;
    let sumSq = 0;
    for (let i = 0; i < k; i++) sumSq += grad[i] * grad[i];
    const scale = (eta * Math.sqrt(k)) / Math.max(Math.sqrt(sumSq), ADAPTIVE_LR_MIN_NORM);
    for (let i = 0; i < k; i++) grad[i] *= scale;
  };
}

/** Anything that accepts gradient hooks (every Optimizer). */
export interface HookTarget {
  registerGradHook(param: OptimParam, hook: GradHook): HookHandle;
}

/** Registers one adaptive-lr hook per parameter (e.g. every adder layer's weight); one handle removes all. */
export function registerAdaptiveLr(optimizer: HookTarget, params: Iterable<OptimParam>, eta = 0.2): HookHandle {
  const hook = adaptiveLrHook(eta);
  const handles = [...params].map((p) => optimizer.registerGradHook(p, hook));
  return { remove: () => handles.forEach((h) => h.remove()) };
}
