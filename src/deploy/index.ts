// mulfree/deploy: load and run integer deployment bundles (browser-safe; see runner.ts).
export { load, type LoadOptions, type Model, type Prediction, type BackendName } from "./run/runner.js";
export { readBundle, type Bundle, type BundleLayer } from "./run/decode.js";
export { BUNDLE_FORMAT, type IntGraph, type IntNode, type LayerNode, type InputNode, type Quant, type LayerKind, type ShiftEncoding } from "./run/format.js";
export { IoError } from "../io/errors.js";
