// A checkpoint to a float ONNX model (`mulfree export CHECKPOINT --format onnx -o MODEL.onnx`).
// The graph input is the normalised image batch [N, C, H, W], as the model's forward takes it;
// the normalisation and class names travel in the model's metadata_props.
import { writeFileAtomic } from "../io/files.js";
import { encodeOnnxModel } from "../io/onnx/codec.js";
import { initRuntime } from "../kernels/runtime.js";
import type { ModelSpec } from "../models/zoo.js";
import { MULFREE_DOMAIN, ONNX_IR_VERSION, ONNX_OPSET } from "../onnx/context.js";
import { OnnxExportError } from "../onnx/errors.js";
import { INPUT_NAME, OUTPUT_NAME, modelToOnnx } from "../onnx/export.js";
import { loadModel } from "../train/load_model.js";

export interface OnnxExportRequest {
  /** The .onnx file to write. */
  out: string;
  /** ModelProto.producer_version (the CLI passes the package version). */
  producerVersion?: string;
  threads?: number;
}

export interface OnnxExportSummary {
  spec: ModelSpec;
  out: string;
  bytes: number;
  /** Nodes of the main graph. */
  nodes: number;
  /** Model-local functions (one per adder layer, domain ai.mulfree). */
  functions: number;
  irVersion: number;
  opset: number;
  input: string;
  output: string;
}

export function exportOnnx(checkpointPath: string, req: OnnxExportRequest): OnnxExportSummary {
  initRuntime({ threads: req.threads });
  const { spec, model, dataset } = loadModel(checkpointPath);
  const metadata: Record<string, string> = { "mulfree.spec": JSON.stringify(spec) };
  if (dataset) {
    metadata["mulfree.dataset"] = dataset.name;
    metadata["mulfree.normalization"] = JSON.stringify(dataset.normalization);
    metadata["mulfree.classes"] = JSON.stringify(dataset.classNames);
  }
  let proto;
  try {
    proto = modelToOnnx(model, [spec.inChannels, spec.inputSize, spec.inputSize], { metadata, ...(req.producerVersion ? { producerVersion: req.producerVersion } : {}) });
  } catch (e) {
    if (e instanceof OnnxExportError) throw new OnnxExportError(`${checkpointPath}: cannot export ${spec.model} (${spec.op}) to ONNX: ${e.message}`);
    throw e;
  }
  const bytes = encodeOnnxModel(proto);
  writeFileAtomic(req.out, bytes);
  return {
    spec, out: req.out, bytes: bytes.length, nodes: proto.graph.node.length,
    functions: (proto.functions ?? []).filter((f) => f.domain === MULFREE_DOMAIN).length,
    irVersion: ONNX_IR_VERSION, opset: ONNX_OPSET, input: INPUT_NAME, output: OUTPUT_NAME,
  };
}
