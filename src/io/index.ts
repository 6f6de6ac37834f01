// The io layer: safetensors encoding/decoding and (Node-only) file helpers.
export * from "./errors.js";
export * from "./safetensors.js";
export * from "./files.js";
export * from "./json.js";
