// Wires the wasm optimizer updates (src/kernels/optim.ts) into src/optim, which imports nothing:
// loading the library or the trainer installs them, so Adam and SGD steps on parameters in the
// kernel memory run in wasm, with the same bits as their TypeScript loops.
// `optim.useFusedUpdates(null)` switches them off; `optim.useFusedUpdates(wasmUpdates)` back on.
import { adamUpdate, sgdUpdate, stateArray } from "../kernels/optim.js";
import { useFusedUpdates, type FusedUpdates } from "../optim/fused.js";

export const wasmUpdates: FusedUpdates = { stateArray, adam: adamUpdate, sgd: sgdUpdate };
useFusedUpdates(wasmUpdates);
