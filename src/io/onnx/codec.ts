// ModelProto objects to .onnx bytes and back, through protobufjs and the schema in schema.ts.
import { IoError } from "../errors.js";
import { modelProtoType } from "./schema.js";
import type { ModelProto } from "./types.js";

/** Encode a model; a field of the wrong type is refused (protobufjs's verify) instead of written. */
export function encodeOnnxModel(model: ModelProto): Uint8Array {
  const type = modelProtoType();
  const problem = type.verify(model);
  if (problem) throw new IoError(`ONNX model: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** Decode .onnx bytes (only the schema's fields; others are skipped). `name` appears in errors. */
export function decodeOnnxModel(bytes: Uint8Array, name = "ONNX model"): ModelProto {
  const type = modelProtoType();
  let message;
  try {
    message = type.decode(bytes);
  } catch (e) {
    throw new IoError(`${name}: not a valid ONNX protobuf (${(e as Error).message})`);
  }
  // int64 fields as plain numbers (every size and version mulfree writes is far below 2^53); arrays always present
  const model = type.toObject(message, { longs: Number, arrays: true, defaults: false }) as ModelProto;
  if (!model.graph) throw new IoError(`${name}: the ONNX model has no graph`);
  return model;
}
