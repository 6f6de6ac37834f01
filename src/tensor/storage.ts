// Where tensor memory comes from. Everything lives in the shared wasm memory so kernels can use it
// in place. Long-lived buffers (parameters, their gradients, running statistics) come from the
// heap; everything made while a `scope` is open comes from the arena and is freed when the
// outermost scope closes, so a training step allocates nothing on the heap.
import { runtime } from "../kernels/runtime.js";
import type { ArenaMark } from "../kernels/memory.js";

let scopeDepth = 0;

/** Run `fn` with arena allocation; everything allocated inside is released afterwards. */
export function scope<T>(fn: () => T): T {
  const arena = runtime().arena;
  const mark: ArenaMark = arena.mark();
  scopeDepth++;
  try {
    return fn();
  } finally {
    scopeDepth--;
    if (scopeDepth === 0) arena.reset();
    else arena.rollback(mark);
  }
}

export function inScope(): boolean {
  return scopeDepth > 0;
}

/** A float buffer of `n` elements: arena inside a scope, heap outside (or when `persistent`). */
export function allocF32(n: number, persistent = false): Float32Array {
  const rt = runtime();
  const ptr = persistent || scopeDepth === 0 ? rt.heap.alloc(n * 4) : rt.arena.alloc(n * 4);
  return rt.f32(ptr, n);
}

export function allocI32(n: number, persistent = false): Int32Array {
  const rt = runtime();
  const ptr = persistent || scopeDepth === 0 ? rt.heap.alloc(n * 4) : rt.arena.alloc(n * 4);
  return rt.i32(ptr, n);
}

export function allocU8(n: number, persistent = false): Uint8Array {
  const rt = runtime();
  const ptr = persistent || scopeDepth === 0 ? rt.heap.alloc(n) : rt.arena.alloc(n);
  return rt.u8(ptr, n);
}

/** Return a heap buffer made outside any scope. Arena buffers need no freeing. */
export function freeBuffer(buf: ArrayBufferView): void {
  const rt = runtime();
  if (rt.heap.sizeOf(buf.byteOffset) > 0) rt.heap.free(buf.byteOffset);
}
