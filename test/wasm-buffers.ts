// Test buffers inside wasm memory, tracked so a test can free them all at once.
import type { Runtime } from "../src/kernels/runtime.js";

export class WasmBuffers {
  private live: number[] = [];
  constructor(private readonly rt: Runtime) {}

  private alloc(bytes: number): number {
    const p = this.rt.heap.alloc(Math.max(bytes, 4)); // a real pointer for empty arrays too
    this.live.push(p);
    return p;
  }
  /** n floats, each fill(i) when a fill is given. */
  f32(n: number, fill?: (i: number) => number): Float32Array {
    const v = this.rt.f32(this.alloc(n * 4), n);
    if (fill) for (let i = 0; i < n; i++) v[i] = fill(i);
    return v;
  }
  i32(n: number): Int32Array {
    return this.rt.i32(this.alloc(n * 4), n);
  }
  u8(n: number): Uint8Array {
    return this.rt.u8(this.alloc(n), n);
  }
  freeAll(): void {
    while (this.live.length) this.rt.heap.free(this.live.pop()!);
  }
  /** fn(item) for each item, freeing every buffer after each one, and on a throw. */
  each<T>(items: Iterable<T>, fn: (item: T) => void): void {
    try {
      for (const item of items) {
        fn(item);
        this.freeAll();
      }
    } finally {
      this.freeAll();
    }
  }
}
