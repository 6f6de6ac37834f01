// Tensor: a shape over a Float32Array that lives in wasm memory, plus what autograd needs.
import { allocF32, freeBuffer } from "./storage.js";

export type Shape = readonly number[];

/** A recorded operation: how to push an output gradient back to its inputs. */
export interface GradNode {
  readonly inputs: readonly Tensor[];
  readonly backward: (gradOut: Float32Array) => void;
  readonly name: string;
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape.join(", ")}]`);
    n *= d;
  }
  return n;
}

export class Tensor {
  readonly shape: Shape;
  readonly size: number;
  data: Float32Array;
  /** Accumulated gradient, same size as data, or null before the first backward. */
  grad: Float32Array | null = null;
  requiresGrad: boolean;
  /** The op that produced this tensor (null for leaves). */
  node: GradNode | null = null;

  constructor(data: Float32Array, shape: Shape, requiresGrad = false) {
    const size = sizeOf(shape);
    if (data.length !== size) throw new Error(`data has ${data.length} elements, shape [${shape.join(", ")}] needs ${size}`);
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.size = size;
    this.requiresGrad = requiresGrad;
  }

  /** A new uninitialised tensor (arena inside a scope, heap outside). */
  static empty(shape: Shape, persistent = false): Tensor {
    return new Tensor(allocF32(sizeOf(shape), persistent), shape);
  }

  static zeros(shape: Shape, persistent = false): Tensor {
    const t = Tensor.empty(shape, persistent);
    t.data.fill(0);
    return t;
  }

  static from(values: ArrayLike<number>, shape: Shape = [values.length], persistent = false): Tensor {
    const t = Tensor.empty(shape, persistent);
    t.data.set(values);
    return t;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Plain JS copy of the data, safe to keep after the scope closes. */
  toArray(): Float32Array {
    return Float32Array.from(this.data);
  }

  item(): number {
    if (this.size !== 1) throw new Error(`item() needs a one-element tensor, got shape [${this.shape.join(", ")}]`);
    return this.data[0];
  }

  /** Free heap storage of a tensor made outside a scope. */
  dispose(): void {
    freeBuffer(this.data);
    if (this.grad) freeBuffer(this.grad);
    this.grad = null;
  }
}

/** A trainable leaf tensor: persistent storage, requiresGrad. */
export class Parameter extends Tensor {
  constructor(data: Float32Array, shape: Shape) {
    super(data, shape, true);
  }
  static create(shape: Shape): Parameter {
    return new Parameter(allocF32(sizeOf(shape), true).fill(0), shape);
  }
}

/** A persistent non-trainable state tensor (BatchNorm running statistics). */
export class Buffer extends Tensor {
  static create(shape: Shape): Buffer {
    return new Buffer(allocF32(sizeOf(shape), true).fill(0), shape);
  }
}
