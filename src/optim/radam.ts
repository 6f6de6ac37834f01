// RAdam, exactly as torch.optim.RAdam (single-tensor path):
//   t += 1
//   g = grad + wd·p   (L2, the default)   or   p = p·(1 − lr·wd)   (decoupled)
//   m = lerp(m, g, 1 − β1);  v = β2·v + (1 − β2)·g·g
//   m̂ = m / (1 − β1^t)
//   ρ∞ = 2/(1 − β2) − 1;  ρt = ρ∞ − 2t·β2^t / (1 − β2^t)
//   ρt > 5:  r = √((ρt−4)(ρt−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρt));  p = p − m̂·lr·(√(1−β2^t) / (√v + eps))·r
//   else:    p = p − m̂·lr                     (un-rectified, bias-corrected momentum step)
import { Optimizer, checkStateKeys, savedArray, savedCount, type OptimParam, type ParamGroup, type ParamsOrGroups, type StateRecord } from "./optimizer.js";
import { betas, boolean, nonNegative } from "./validate.js";
import { momentScalars, updateMoments, type MomentOptions } from "./f32.js";
import { fusedUpdates, newStateArray, type RAdamScalars } from "./fused.js";

export type RAdamOptions = MomentOptions;

export interface RAdamState {
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
}

const RADAM_DEFAULTS: RAdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, decoupledWeightDecay: false };
/** The options RAdam takes. */
export const RADAM_OPTION_KEYS: readonly string[] = Object.freeze(Object.keys(RADAM_DEFAULTS));
const STATE_KEYS = ["step", "expAvg", "expAvgSq"];
const f32 = Math.fround;

/** The rectification term r_t, or null while ρt <= 5 (variance not yet tractable). */
export function radamRectification(beta2: number, step: number): number | null {
  const rhoInf = 2 / (1 - beta2) - 1;
  const rhoT = rhoInf - (2 * step * beta2 ** step) / (1 - beta2 ** step);
  if (!(rhoT > 5)) return null;
  return Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
}

export class RAdam extends Optimizer<RAdamOptions, RAdamState> {
  constructor(params: ParamsOrGroups<RAdamOptions>, options: Partial<RAdamOptions> = {}) {
    super("RAdam", RADAM_OPTION_KEYS, RADAM_DEFAULTS, params, options);
  }

  protected check(o: RAdamOptions, where: string): void {
    nonNegative(o.lr, "lr", where);
    betas(o.betas, "betas", where);
    nonNegative(o.eps, "eps", where);
    nonNegative(o.weightDecay, "weightDecay", where);
    boolean(o.decoupledWeightDecay, "decoupledWeightDecay", where);
  }

  protected update(group: ParamGroup<RAdamOptions>, param: OptimParam, grad: Float32Array, index: number): void {
    const p = param.data, n = p.length;
    const st = (this.state[index] ??= { step: 0, expAvg: newStateArray(n, p), expAvgSq: newStateArray(n, p) });
    const s = radamScalars(group, ++st.step);
    if (fusedUpdates()?.radam(p, grad, st.expAvg, st.expAvgSq, s)) return;
    radamLoop(p, grad, st.expAvg, st.expAvgSq, s);
  }

  protected stateSize(s: RAdamState): number {
    return s.expAvg.length;
  }

  protected stateToRecord(s: RAdamState): StateRecord {
    return { step: s.step, expAvg: Float32Array.from(s.expAvg), expAvgSq: Float32Array.from(s.expAvgSq) };
  }

  protected stateFromRecord(rec: StateRecord, _group: RAdamOptions, param: OptimParam, where: string): RAdamState | undefined {
    checkStateKeys(rec, STATE_KEYS, where);
    if (Object.keys(rec).length === 0) return undefined;
    return {
      step: savedCount(rec, "step", where, 1),
      expAvg: savedArray(rec, "expAvg", param, where),
      expAvgSq: savedArray(rec, "expAvgSq", param, where),
    };
  }
}

/** The step's scalars (f32.ts momentScalars, plus RAdam's own). */
function radamScalars(group: RAdamOptions, step: number): RAdamScalars {
  const rect = radamRectification(group.betas[1], step);
  // added to momentScalars' object, not spread into a new one (see adam.ts)
  return Object.assign(momentScalars(group, step), { bc1: f32(1 - group.betas[0] ** step), lr: f32(group.lr), rect: rect === null ? null : f32(rect) });
}

/** The update in f32, one rounding per operation: the definition the fused engine must match. */
function radamLoop(p: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, s: RAdamScalars): void {
  const { decoupled, decay, l2, w, wComplement, b2, oneMinusB2, bc1, lr, bc2Sqrt, eps, rect } = s;
  for (let i = 0; i < p.length; i++) {
    const pi = decoupled ? f32(p[i] * decay) : p[i];
    const g = l2 !== 0 ? f32(grad[i] + f32(l2 * pi)) : grad[i];
    updateMoments(m, v, i, g, w, wComplement, b2, oneMinusB2);
    const scaled = f32(f32(m[i] / bc1) * lr); // bias_corrected_exp_avg * lr
    if (rect === null) {
      p[i] = f32(pi - scaled);
    } else {
      // Python `float / tensor` is tensor.reciprocal() * float.
      const adaptive = f32(f32(1 / f32(f32(Math.sqrt(v[i])) + eps)) * bc2Sqrt);
      p[i] = f32(pi - f32(f32(scaled * adaptive) * rect));
    }
  }
}
