// Wires the wasm optimizer updates (src/kernels/optim.ts) into src/optim, which imports nothing:
// loading the library or the trainer installs them, so Adam, RAdam and SGD steps on parameters in
// the kernel memory run in wasm, with the same bits as their TypeScript loops.
// `optim.useFusedUpdates(null)` switches them off; `optim.useFusedUpdates(wasmUpdates)` back on.
import { adamUpdate, radamUpdate, sgdUpdate, stateArray } from "../kernels/optim.js";
import { useFusedUpdates, type FusedUpdates } from "../optim/fused.js";

export const wasmUpdates: FusedUpdates = {
  stateArray,
  adam: (p, g, m, v, vmax, s) =>
    adamUpdate(p, g, m, v, vmax, s.decoupled, s.amsgrad, s.decay, s.l2, s.w, s.wComplement, s.b2, s.oneMinusB2, s.bc2Sqrt, s.eps, s.negStepSize),
  radam: (p, g, m, v, s) =>
    radamUpdate(p, g, m, v, s.decoupled, s.decay, s.l2, s.w, s.wComplement, s.b2, s.oneMinusB2, s.bc1, s.lr, s.bc2Sqrt, s.eps, s.rect),
  sgd: (p, g, buf, s) => sgdUpdate(p, g, buf, s.first, s.nesterov, s.negLr, s.wd, s.momentum, s.keep),
};
useFusedUpdates(wasmUpdates);
