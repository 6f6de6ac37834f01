// mulfree/deploy: read, write and run integer deployment bundles. Browser-safe: everything here
// comes from ./run/, which imports no Node module (see run/runner.ts). Exporting a bundle from a
// float model is ./export/ (Node or browser, but it needs the training stack): `mulfree export`.
export { load, type LoadOptions, type Model, type Prediction, type BackendName } from "./run/runner.js";
export { readBundle } from "./run/decode.js";
export { encodeBundle } from "./run/encode.js";
export { BundleError, type Bundle, type BundleLayer, type LayerWeights } from "./run/bundle.js";
export type { NodeShape } from "./run/shapes.js";
export {
  BUNDLE_FORMAT, type IntGraph, type IntNode, type LayerNode, type InputNode, type Quant, type LayerKind, type ShiftEncoding,
} from "./run/format.js";
export { IoError } from "../io/errors.js";
