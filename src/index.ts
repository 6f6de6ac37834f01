// mulfree: the public API.
export { initRuntime, runtime, type RuntimeOptions } from "./kernels/runtime.js";
export { Tensor, Parameter, Buffer } from "./tensor/tensor.js";
export { backward, noGrad } from "./tensor/autograd.js";
export { scope } from "./tensor/storage.js";
export { manualSeed } from "./tensor/random.js";
export * as ops from "./tensor/ops/index.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
export * as data from "./data/index.js";
export { createModel, resolveSpec, modelNames, registerModel, type ModelSpec } from "./models/zoo.js";
export { layerFactory, registerOpKind, opKinds, type LayerFactory } from "./models/layer_factory.js";
export { encodeSafetensors, decodeSafetensors } from "./io/safetensors.js";
export { Conv2dShift, LinearShift, ShiftLayer, type ShiftOptions, type ShiftsAndSigns } from "./nn/shift.js";
export * as deploy from "./deploy/index.js";
