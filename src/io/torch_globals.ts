// The globals a torch.save'd state dict may name, and nothing else:
// - collections.OrderedDict (the state dict itself, and the empty backward-hooks dict);
// - torch._utils._rebuild_tensor_v2 (every tensor since PyTorch 0.4), _rebuild_tensor (older
//   files) and _rebuild_parameter (a dict of nn.Parameters rather than a state dict);
// - the storage classes torch.FloatStorage … torch.BoolStorage, which only name a dtype inside
//   a persistent id and are never called.
// Deliberately refused: torch.storage._load_from_bytes (it runs torch.load on nested bytes),
// torch.nn.* module classes (a pickled model object, not a state dict), torch.Size, torch.device,
// argparse.Namespace, numpy scalars, and of course builtins, os, subprocess and the like. The
// state dict's `_metadata` (module versions) arrives through BUILD on the OrderedDict, which the
// interpreter allows and ignores: it names no global. Tensor hooks must be empty.
import { PyCallable, PyDict, PyTuple, kind } from "./pickle.js";
import { STORAGE_TYPES, StorageType, makeTensor, TorchTensor } from "./torch_tensor.js";

function orderedDict(args: readonly unknown[]): PyDict {
  const d = new PyDict();
  if (args.length === 0) return d;
  const pairs = args[0];
  if (args.length > 1 || !Array.isArray(pairs)) throw new Error("takes no arguments or one list of pairs");
  for (const p of pairs) {
    const kv = p instanceof PyTuple ? p.items : p;
    if (!Array.isArray(kv) || kv.length !== 2 || (typeof kv[0] === "object" && kv[0] !== null)) throw new Error("takes a list of (key, value) pairs");
    d.entries.set(kv[0], kv[1]);
  }
  return d;
}

function checkHooks(hooks: unknown): void {
  if (!(hooks instanceof PyDict) || hooks.entries.size > 0) throw new Error(`tensor backward hooks must be an empty OrderedDict, got ${kind(hooks)}`);
}

function rebuildTensorV2(args: readonly unknown[]): TorchTensor {
  // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata (PyTorch ≥ 1.13, ignored)])
  if (args.length !== 6 && args.length !== 7) throw new Error(`takes 6 or 7 arguments, got ${args.length}`);
  const [storage, offset, size, stride, requiresGrad, hooks] = args;
  if (typeof requiresGrad !== "boolean") throw new Error("requires_grad is not a bool");
  checkHooks(hooks);
  return makeTensor(storage, offset, size, stride, requiresGrad);
}

function rebuildTensor(args: readonly unknown[]): TorchTensor {
  if (args.length !== 4) throw new Error(`takes 4 arguments, got ${args.length}`);
  return makeTensor(args[0], args[1], args[2], args[3], false);
}

function rebuildParameter(args: readonly unknown[]): TorchTensor {
  if (args.length !== 3) throw new Error(`takes 3 arguments, got ${args.length}`);
  const [data, , hooks] = args;
  if (!(data instanceof TorchTensor)) throw new Error(`the data is ${kind(data)}, not a tensor`);
  checkHooks(hooks);
  data.isParameter = true;
  return data;
}

const CALLABLES = new Map<string, PyCallable>(
  ([
    ["collections.OrderedDict", orderedDict],
    ["torch._utils._rebuild_tensor_v2", rebuildTensorV2],
    ["torch._utils._rebuild_tensor", rebuildTensor],
    ["torch._utils._rebuild_parameter", rebuildParameter],
  ] as const).map(([name, f]) => [name, new PyCallable(name, f)]),
);

/** The allowlist, as the interpreter's resolver: a callable, a storage type, or undefined (refused). */
export function torchGlobal(module: string, name: string): PyCallable | StorageType | undefined {
  const callable = CALLABLES.get(`${module}.${name}`);
  if (callable) return callable;
  const storage = module === "torch" && Object.prototype.hasOwnProperty.call(STORAGE_TYPES, name) ? STORAGE_TYPES[name] : undefined;
  return storage && new StorageType(name, storage.dtype, storage.bytes);
}

/**
 * Why a refused global may be innocent: a class (a capitalised name, or anything from torch.nn,
 * TorchScript or torchvision) means a pickled object, typically a whole model from
 * torch.save(model), as AdderNet's main.py and DeepShift's model.pth save them.
 */
export function torchRefusalHint(module: string, name: string): string | undefined {
  if (/^[A-Z]/.test(name) || /^(torch\.nn|__torch__|torchvision)(\.|$)/.test(module)) return "a pickled object such as a whole model: save model.state_dict() with torch.save instead";
  return undefined;
}
