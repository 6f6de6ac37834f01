// The commands as library functions: each composes the layers below, the CLI only parses flags and prints.
export { trainRun, defaultRunDir, type TrainRequest, type TrainResult, type TrainRunEvents, type TrainStart } from "./train.js";
export { evaluateCheckpoint, type EvaluateRequest, type EvaluateResult } from "./evaluate.js";
export { exportCheckpoint, fp32Bytes, type ExportRequest, type ExportSummary } from "./export.js";
export { runBundle, type RunBundleRequest, type RunBundleResult } from "./run_bundle.js";
export { predictFile, type PredictRequest, type PredictResult, type ClassScore } from "./predict.js";
export { convertCheckpoint, convertedPath } from "./convert.js";
export { featuresFigure, type FeaturesRequest } from "./viz_features.js";
export { importCheckpoint, type ImportRequest, type ImportSummary } from "./import_torch.js";
