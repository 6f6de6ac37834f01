// Operation counts of a model file: a training checkpoint gives the float graph (./ops.ts), a
// deployment bundle the integer graph (./ops_int.ts). The two are told apart by the format in
// the safetensors metadata. A bundle is read with the one strict reader (readBundle), so a bundle
// that `mulfree run` refuses is refused here too, with the same message.
import { readBundle } from "../deploy/run/decode.js";
import { BUNDLE_FORMAT } from "../deploy/run/format.js";
import { IoError } from "../io/errors.js";
import { readFileChecked } from "../io/files.js";
import { decodeSafetensorsHeader } from "../io/safetensors.js";
import { runtime } from "../kernels/runtime.js";
import { CHECKPOINT_FORMAT } from "../train/checkpoint.js";
import { loadModelBytes } from "../train/load_model.js";
import { countFloatOps } from "./ops.js";
import { countIntOps } from "./ops_int.js";
import type { OpsReport } from "./op_counts.js";

function floatReport(bytes: Uint8Array, name: string): OpsReport {
  // counting runs the model once; a runtime the caller set up keeps its thread count
  runtime();
  const { model, spec } = loadModelBytes(bytes, name);
  return countFloatOps(model, spec);
}

function integerReport(bytes: Uint8Array, name: string): OpsReport {
  const bundle = readBundle(bytes, name);
  const source = bundle.source as { model?: unknown; op?: unknown; spec?: { model?: unknown; op?: unknown } };
  const spec = source.spec ?? source;
  return countIntOps(bundle, {
    model: typeof spec.model === "string" ? spec.model : undefined,
    op: typeof spec.op === "string" ? spec.op : undefined,
    fileBytes: bytes.length,
  });
}

/** The report of a checkpoint's or a bundle's bytes; `name` (a path) appears in every error. */
export function opsReportOf(bytes: Uint8Array, name: string): OpsReport {
  const header = decodeSafetensorsHeader(bytes, name);
  const format = header.metadata.format;
  if (format === CHECKPOINT_FORMAT) return floatReport(bytes, name);
  if (format === BUNDLE_FORMAT) return integerReport(bytes, name);
  throw new IoError(
    `${name}: neither a mulfree checkpoint ('${CHECKPOINT_FORMAT}') nor a deployment bundle ('${BUNDLE_FORMAT}'); ` +
      (format === undefined ? "its metadata has no format" : `its metadata format is '${format}'`),
  );
}

/** The report of a checkpoint or bundle file (Node: reads the file). */
export function opsReport(path: string): OpsReport {
  return opsReportOf(readFileChecked(path, "model file"), path);
}
