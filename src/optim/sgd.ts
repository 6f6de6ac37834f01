// Stochastic gradient descent, exactly as torch.optim.SGD:
//   g = grad + weightDecay·p
//   buf = g                                    (first momentum step)
//   buf = momentum·buf + (1 − dampening)·g     (later steps)
//   g = nesterov ? g + momentum·buf : buf
//   p = p − lr·g
// Every intermediate is rounded to float32 where PyTorch materialises a float32 tensor.
import { Optimizer, checkStateKeys, savedArray, type OptimParam, type ParamGroup, type ParamsOrGroups, type StateRecord } from "./optimizer.js";
import { boolean, nonNegative, unitInterval } from "./validate.js";

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
    const p = param.data, n = p.length;
    const negLr = f32(-group.lr), wd = f32(group.weightDecay), m = f32(group.momentum);
    if (group.momentum === 0) {
      for (let i = 0; i < n; i++) {
        const g = wd !== 0 ? f32(grad[i] + f32(wd * p[i])) : grad[i];
        p[i] = f32(p[i] + f32(negLr * g));
      }
      return;
    }
    const keep = f32(1 - group.dampening), nesterov = group.nesterov;
    let st = this.state[index];
    const first = st === undefined;
    if (st === undefined) st = this.state[index] = { momentumBuffer: new Float32Array(n) };
    const buf = st.momentumBuffer;
    for (let i = 0; i < n; i++) {
      const g = wd !== 0 ? f32(grad[i] + f32(wd * p[i])) : grad[i];
      const b = first ? g : f32(f32(m * buf[i]) + f32(keep * g));
      buf[i] = b;
      const u = nesterov ? f32(g + f32(m * b)) : b;
      p[i] = f32(p[i] + f32(negLr * u));
    }
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
