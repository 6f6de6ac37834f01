// PyTorch tensors as torch.save stores them: a storage (a typed run of little-endian bytes,
// shared by every tensor that views it) plus an offset, a size and a stride per dimension. A
// view that is transposed, sliced or expanded is saved as such, so values are gathered through
// the strides, never read as if contiguous. Pure: no Node imports.
import { IoError } from "./errors.js";
import { printable } from "./json.js";
import { PyTuple } from "./pickle.js";
import { bf16ToF32, f16ToF32 } from "./safetensors.js";

export type TorchDtype = "float32" | "float64" | "float16" | "bfloat16" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";

/** torch.<Name>Storage → element type and size. */
export const STORAGE_TYPES: Readonly<Record<string, { dtype: TorchDtype; bytes: number }>> = {
  FloatStorage: { dtype: "float32", bytes: 4 },
  DoubleStorage: { dtype: "float64", bytes: 8 },
  HalfStorage: { dtype: "float16", bytes: 2 },
  BFloat16Storage: { dtype: "bfloat16", bytes: 2 },
  LongStorage: { dtype: "int64", bytes: 8 },
  IntStorage: { dtype: "int32", bytes: 4 },
  ShortStorage: { dtype: "int16", bytes: 2 },
  CharStorage: { dtype: "int8", bytes: 1 },
  ByteStorage: { dtype: "uint8", bytes: 1 },
  BoolStorage: { dtype: "bool", bytes: 1 },
};

/** A storage type named by a pickle (inert: it is never called). */
export class StorageType {
  constructor(readonly name: string, readonly dtype: TorchDtype, readonly bytes: number) {}
}

/** One storage: its elements come from the container (a zip entry, or a record after the legacy pickles). */
export class TorchStorage {
  /** The raw little-endian bytes, numel × element size, once the container has supplied them. */
  bytes: Uint8Array | null = null;
  /** Its values as float32, converted once for all the tensors that view it. */
  floats: Float32Array | null = null;
  constructor(readonly type: StorageType, readonly key: string, readonly numel: number) {}
}

/**
 * The most elements a file may make us materialize, per tensor and in all (32 Mi floats, 128 MB):
 * seven times the largest zoo model, and a bound on what an expanded (stride 0) view can cost.
 */
export const MAX_TENSOR_ELEMENTS = 1 << 25;
const MAX_DIMS = 16;

export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
    /** Saved as an nn.Parameter (torch._utils._rebuild_parameter). */
    public isParameter = false,
  ) {}

  get dtype(): TorchDtype {
    return this.storage.type.dtype;
  }

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/**
 * A tensor from _rebuild_tensor's arguments, checked: integer sizes and strides of one rank,
 * and every element it views inside its storage. Throws a plain Error (the caller names the file).
 */
export function makeTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown, requiresGrad: boolean): TorchTensor {
  if (!(storage instanceof TorchStorage)) throw new Error("the first argument is not a storage");
  const shape = intList(size, "size");
  const strides = intList(stride, "stride");
  if (!isCount(offset)) throw new Error("the storage offset is not a non-negative integer");
  if (shape.length !== strides.length) throw new Error(`${shape.length} sizes but ${strides.length} strides`);
  let numel = 1;
  let last = offset;
  for (let d = 0; d < shape.length; d++) {
    numel *= shape[d]!;
    last += (shape[d]! - 1) * strides[d]!;
  }
  if (numel > MAX_TENSOR_ELEMENTS) throw new Error(`a tensor of ${numel} elements is larger than the ${MAX_TENSOR_ELEMENTS} read`);
  if (numel > 0 && last >= storage.numel) throw new Error(`a [${shape.join(", ")}] view at offset ${offset} with strides [${strides.join(", ")}] reaches element ${last} of a storage of ${storage.numel}`);
  return new TorchTensor(storage, offset, shape, strides, requiresGrad);
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** A tuple (or list) of non-negative safe integers. */
function intList(v: unknown, what: string): number[] {
  const items = v instanceof PyTuple ? v.items : v;
  if (!Array.isArray(items) || items.length > MAX_DIMS || !items.every(isCount)) throw new Error(`the ${what} is not a tuple of at most ${MAX_DIMS} non-negative integers`);
  return items as number[];
}

/** The tensor's values in row-major order, converted to float32 (int64 beyond 2^24 rounds). */
export function tensorValues(t: TorchTensor, name: string): Float32Array {
  const storage = t.storage;
  if (!storage.bytes) throw new IoError(`${name}: the data of storage ${printable(storage.key)} is missing`);
  const src = (storage.floats ??= storageFloats(storage.type.dtype, storage.bytes));
  const out = new Float32Array(t.numel);
  if (out.length === 0) return out;
  const { shape, stride } = t;
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let at = t.offset;
  for (let i = 0; i < out.length; i++) {
    out[i] = src[at]!;
    // odometer over the dimensions, last one fastest
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) {
        at += stride[d]!;
        break;
      }
      at -= (shape[d]! - 1) * stride[d]!;
      index[d] = 0;
    }
  }
  return out;
}

/** Little-endian storage bytes as float32 values (copied first: typed arrays need aligned offsets). */
function storageFloats(dtype: TorchDtype, bytes: Uint8Array): Float32Array {
  const buffer = bytes.slice().buffer;
  switch (dtype) {
    case "float32": return new Float32Array(buffer);
    case "float64": return Float32Array.from(new Float64Array(buffer));
    case "float16": return f16ToF32(new Uint16Array(buffer));
    case "bfloat16": return bf16ToF32(new Uint16Array(buffer));
    case "int64": return Float32Array.from(new BigInt64Array(buffer), Number);
    case "int32": return Float32Array.from(new Int32Array(buffer));
    case "int16": return Float32Array.from(new Int16Array(buffer));
    case "int8": return Float32Array.from(new Int8Array(buffer));
    case "uint8": return Float32Array.from(new Uint8Array(buffer));
    case "bool": return Float32Array.from(new Uint8Array(buffer), (v) => (v ? 1 : 0));
  }
}
