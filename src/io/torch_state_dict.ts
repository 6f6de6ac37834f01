// The state dict inside a torch.save'd object, as float32 tensors by name. Accepted: the state
// dict itself (`torch.save(model.state_dict(), f)`), or a training checkpoint dict that holds one
// under a usual key (`{"epoch": …, "state_dict": …, "optimizer": …}`). Pure: no Node imports.
import { IoError } from "./errors.js";
import { printable } from "./json.js";
import { PyDict, kind } from "./pickle.js";
import { readTorchFile } from "./torch_file.js";
import { MAX_TENSOR_ELEMENTS, tensorValues, TorchTensor, type TorchDtype } from "./torch_tensor.js";

export interface TorchStateEntry {
  dtype: TorchDtype;
  shape: number[];
  /** Row-major values as float32, whatever the stored dtype and strides. */
  data: Float32Array;
}

export interface TorchStateDict {
  container: "zip" | "legacy";
  /** Where the state dict was found: "" for the whole file, else the checkpoint key ("state_dict"). */
  key: string;
  tensors: Map<string, TorchStateEntry>;
}

/** Keys under which training scripts store the model's state dict, in the order they are tried. */
const STATE_DICT_KEYS = ["state_dict", "model_state_dict", "model", "net", "network", "state"];
const MAX_KEY = 256;

/** Read a .pth/.pt file's bytes and return its state dict. */
export function readTorchStateDict(bytes: Uint8Array, name: string): TorchStateDict {
  const file = readTorchFile(bytes, name);
  const { dict, key } = findStateDict(file.root, name);
  const tensors = new Map<string, TorchStateEntry>();
  let total = 0;
  for (const [k, t] of dict.entries as Map<string, TorchTensor>) {
    total += t.numel;
    if (total > MAX_TENSOR_ELEMENTS) throw new IoError(`${name}: its tensors hold more than ${MAX_TENSOR_ELEMENTS} values in all, more than any model mulfree builds`);
    tensors.set(k, { dtype: t.dtype, shape: [...t.shape], data: tensorValues(t, name) });
  }
  return { container: file.container, key, tensors };
}

/** A dict whose keys are all strings and whose values are all tensors. */
function isTensorDict(v: unknown): v is PyDict {
  if (!(v instanceof PyDict) || v.entries.size === 0) return false;
  for (const [k, t] of v.entries) if (typeof k !== "string" || k.length > MAX_KEY || !(t instanceof TorchTensor)) return false;
  return true;
}

function findStateDict(root: unknown, name: string): { dict: PyDict; key: string } {
  if (isTensorDict(root)) return { dict: root, key: "" };
  if (!(root instanceof PyDict)) throw new IoError(`${name}: holds ${kind(root)}, not a state dict (save one with torch.save(model.state_dict(), FILE))`);
  for (const key of STATE_DICT_KEYS) {
    const v = root.entries.get(key);
    if (isTensorDict(v)) return { dict: v, key };
  }
  if (root.entries.size === 0) throw new IoError(`${name}: holds an empty dict, not a state dict`);
  const keys = [...root.entries.keys()].slice(0, 4).map((k) => printable(String(k), 20));
  const offender = [...root.entries].find(([k, v]) => typeof k !== "string" || !(v instanceof TorchTensor));
  const why = offender ? `; its entry ${printable(String(offender[0]), 24)} is ${kind(offender[1])}, not a tensor` : "";
  throw new IoError(`${name}: a dict with keys ${keys.join(", ")}${root.entries.size > 4 ? ", …" : ""} but no state dict (looked under ${STATE_DICT_KEYS.join(", ")})${why}`);
}
