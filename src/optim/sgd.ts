// Stochastic gradient descent, exactly as torch.optim.SGD:
//   g = grad + weightDecay·p
//   buf = g                                    (first momentum step)
//   buf = momentum·buf + (1 − dampening)·g     (later steps)
//   g = nesterov ? g + momentum·buf : buf
//   p = p − lr·g
// Every intermediate is rounded to float32 where PyTorch materialises a float32 tensor.
import { Optimizer, checkStateKeys, savedArray, type OptimParam, type ParamGroup, type ParamsOrGroups, type StateRecord } from "./optimizer.js";
import { boolean, nonNegative, unitInterval } from "./validate.js";
import { fusedUpdates, newStateArray, type SgdScalars } from "./fused.js";

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

export interface SGDState {
  momentumBuffer: Float32Array;
}

const SGD_DEFAULTS: SGDOptions = { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 };
/** The options SGD takes. */
export const SGD_OPTION_KEYS: readonly string[] = Object.freeze(Object.keys(SGD_DEFAULTS));
const f32 = Math.fround;

export class SGD extends Optimizer<SGDOptions, SGDState> {
  constructor(params: ParamsOrGroups<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super("SGD", SGD_OPTION_KEYS, SGD_DEFAULTS, params, options);
  }

  protected check(o: SGDOptions, where: string): void {
    nonNegative(o.lr, "lr", where);
    unitInterval(o.momentum, "momentum", where);
    unitInterval(o.dampening, "dampening", where, true);
    boolean(o.nesterov, "nesterov", where);
    nonNegative(o.weightDecay, "weightDecay", where);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new Error(
        `${where}: option 'nesterov' requires 'momentum' > 0 and 'dampening' = 0, got momentum ${o.momentum}, dampening ${o.dampening}`,
      );
    }
  }

  protected update(group: ParamGroup<SGDOptions>, param: OptimParam, grad: Float32Array, index: number): void {
    const p = param.data;
    const useMomentum = group.momentum !== 0;
    let st = this.state[index];
    const first = useMomentum && st === undefined;
    if (useMomentum && st === undefined) st = this.state[index] = { momentumBuffer: newStateArray(p.length, p) };
    const buf = useMomentum ? st!.momentumBuffer : null;
    const s: SgdScalars = {
      negLr: f32(-group.lr),
      wd: f32(group.weightDecay),
      momentum: f32(group.momentum),
      keep: f32(1 - group.dampening),
      nesterov: group.nesterov,
      first,
    };
    if (fusedUpdates()?.sgd(p, grad, buf, s)) return;
    sgdLoop(p, grad, buf, s);
  }

  protected stateSize(s: SGDState): number {
    return s.momentumBuffer.length;
  }

  protected stateToRecord(s: SGDState): StateRecord {
    return { momentumBuffer: Float32Array.from(s.momentumBuffer) };
  }

  protected stateFromRecord(rec: StateRecord, _group: SGDOptions, param: OptimParam, where: string): SGDState | undefined {
    checkStateKeys(rec, ["momentumBuffer"], where);
    if (Object.keys(rec).length === 0) return undefined;
    return { momentumBuffer: savedArray(rec, "momentumBuffer", param, where) };
  }
}

/** The update in f32, one rounding per operation: the definition the fused engine must match. */
function sgdLoop(p: Float32Array, grad: Float32Array, buf: Float32Array | null, s: SgdScalars): void {
  const { negLr, wd, momentum: m, keep, nesterov, first } = s;
  for (let i = 0; i < p.length; i++) {
    const g = wd !== 0 ? f32(grad[i] + f32(wd * p[i])) : grad[i];
    let u = g;
    if (buf !== null) {
      const b = first ? g : f32(f32(m * buf[i]) + f32(keep * g));
      buf[i] = b;
      u = nesterov ? f32(g + f32(m * b)) : b;
    }
    p[i] = f32(p[i] + f32(negLr * u));
  }
}
