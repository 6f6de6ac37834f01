// Optimizers, learning-rate schedules and gradient hooks over plain Float32Array parameters.
export {
  Optimizer,
  type BaseOptimOptions,
  type GradHook,
  type GroupStateDict,
  type HookHandle,
  type JsonOption,
  type OptimParam,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupInput,
  type ParamsOrGroups,
  type StateRecord,
} from "./optimizer.js";
export { useFusedUpdates, fusedUpdates, type FusedUpdates, type AdamScalars, type SgdScalars } from "./fused.js";
export { SGD, SGD_OPTION_KEYS, type SGDOptions, type SGDState } from "./sgd.js";
export { Adam, ADAM_OPTION_KEYS, type AdamOptions, type AdamState } from "./adam.js";
export { RAdam, RADAM_OPTION_KEYS, radamRectification, type RAdamOptions, type RAdamState } from "./radam.js";
export { ADAPTIVE_LR_MIN_NORM, adaptiveLrHook, registerAdaptiveLr, type HookTarget } from "./adaptive_lr.js";
export {
  ConstantLR,
  CosineAnnealingLR,
  LinearWarmupLR,
  LRScheduler,
  MultiStepLR,
  StepLR,
  type JsonValue,
  type LrGroups,
  type SchedulerStateDict,
} from "./schedule.js";
export {
  makeOptimizer,
  makeScheduler,
  optimizerOptionKeys,
  schedulerOptionKeys,
  OPTIMIZER_NAMES,
  SCHEDULER_NAMES,
  type AnyOptimizer,
  type OptimizerFactoryOptions,
  type OptimizerFactoryParams,
  type OptimizerName,
  type SchedulerFactoryOptions,
  type SchedulerName,
} from "./factory.js";
