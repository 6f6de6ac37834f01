// A float model to bundle bytes that the one reader has accepted: exportModel, encodeBundle, then
// readBundle on the result. No bundle leaves export that load() would refuse.
import type { Module } from "../../nn/module.js";
import type { Bundle } from "../run/bundle.js";
import { readBundle } from "../run/decode.js";
import { encodeBundle } from "../run/encode.js";
import { ExportError } from "./errors.js";
import { exportModel, type ExportOptions, type ExportResult } from "./export_model.js";

export interface ExportedBundle {
  bytes: Uint8Array;
  /** The bytes as the reader decodes them. */
  bundle: Bundle;
  result: ExportResult;
}

/** images: n normalised NCHW calibration samples of `shape`; `source`: the provenance to record; `name`: for messages. */
export function exportBundle(
  model: Module, images: Float32Array, n: number, shape: [number, number, number], options: ExportOptions,
  source: Record<string, unknown>, name = "bundle",
): ExportedBundle {
  const result = exportModel(model, images, n, shape, options);
  const bytes = encodeBundle(result.graph, result.tensors, source);
  let bundle: Bundle;
  try {
    bundle = readBundle(bytes, name);
  } catch (e) {
    throw new ExportError(`the exported bundle fails its own checks: ${(e as Error).message}`);
  }
  return { bytes, bundle, result };
}
