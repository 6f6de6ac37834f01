// Allocation inside the shared wasm memory. Tensors live here so kernels can read them in place.
// Two allocators: a first-fit heap for long-lived buffers (parameters, optimizer state), and an
// arena that hands out per-step scratch with a bump pointer and is reset once per step.

const ALIGN = 64; // cache line; also keeps every v128 load aligned
const PAGE = 65536;

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export class WasmHeap {
  /** free blocks sorted by address, [ptr, size] */
  private free_: Array<[number, number]> = [];
  private readonly sizes = new Map<number, number>();
  private top: number;
  bytesInUse = 0;
  peakBytes = 0;

  constructor(readonly memory: WebAssembly.Memory, base: number) {
    this.top = alignUp(base, ALIGN);
  }

  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, 1), ALIGN);
    for (let i = 0; i < this.free_.length; i++) {
      const [ptr, blockSize] = this.free_[i];
      if (blockSize >= size) {
        if (blockSize === size) this.free_.splice(i, 1);
        else this.free_[i] = [ptr + size, blockSize - size];
        return this.track(ptr, size);
      }
    }
    const ptr = this.top;
    this.ensure(ptr + size);
    this.top = ptr + size;
    return this.track(ptr, size);
  }

  free(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`WasmHeap.free: ${ptr} is not an allocated block`);
    this.sizes.delete(ptr);
    this.bytesInUse -= size;
    // insert sorted, then merge with neighbours
    let i = 0;
    while (i < this.free_.length && this.free_[i][0] < ptr) i++;
    this.free_.splice(i, 0, [ptr, size]);
    if (i + 1 < this.free_.length && ptr + size === this.free_[i + 1][0]) {
      this.free_[i][1] += this.free_[i + 1][1];
      this.free_.splice(i + 1, 1);
    }
    if (i > 0 && this.free_[i - 1][0] + this.free_[i - 1][1] === ptr) {
      this.free_[i - 1][1] += this.free_[i][1];
      this.free_.splice(i, 1);
      i--;
    }
    // give the tail back to the bump pointer
    const last = this.free_[this.free_.length - 1];
    if (last && last[0] + last[1] === this.top) {
      this.top = last[0];
      this.free_.pop();
    }
  }

  sizeOf(ptr: number): number {
    return this.sizes.get(ptr) ?? 0;
  }

  private track(ptr: number, size: number): number {
    this.sizes.set(ptr, size);
    this.bytesInUse += size;
    if (this.bytesInUse > this.peakBytes) this.peakBytes = this.bytesInUse;
    return ptr;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    // grow geometrically so repeated small growth stays cheap
    const want = Math.max(end - have, have >> 2);
    try {
      this.memory.grow(Math.ceil(want / PAGE));
    } catch {
      throw new Error(`out of wasm memory: need ${(end / 2 ** 20).toFixed(0)} MiB of at most 4096 (a smaller --batch holds fewer activations at once)`);
    }
  }
}

export interface ArenaMark {
  chunk: number;
  offset: number;
  used: number;
}

/** Bump allocator for per-step scratch. Reset once per step; grows to the high-water mark. */
export class Arena {
  private chunks: Array<{ ptr: number; size: number }> = [];
  private current = 0;
  private offset = 0;
  private used = 0;
  highWater = 0;

  constructor(private readonly heap: WasmHeap, private minChunk = 1 << 20) {}

  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, 1), ALIGN);
    for (;;) {
      const chunk = this.chunks[this.current];
      if (chunk && this.offset + size <= chunk.size) {
        const ptr = chunk.ptr + this.offset;
        this.offset += size;
        this.used += size;
        if (this.used > this.highWater) this.highWater = this.used;
        return ptr;
      }
      if (chunk && this.current + 1 < this.chunks.length) {
        this.current++;
        this.offset = 0;
        continue;
      }
      const chunkSize = Math.max(size, this.minChunk);
      this.chunks.push({ ptr: this.heap.alloc(chunkSize), size: chunkSize });
      this.current = this.chunks.length - 1;
      this.offset = 0;
    }
  }

  /** A position to roll back to; everything allocated after it is freed by `rollback`. */
  mark(): ArenaMark {
    return { chunk: this.current, offset: this.offset, used: this.used };
  }

  rollback(m: ArenaMark): void {
    this.current = m.chunk;
    this.offset = m.offset;
    this.used = m.used;
  }

  get bytesUsed(): number {
    return this.used;
  }

  /** Forget everything allocated since the last reset. Merges chunks into one sized to the peak. */
  reset(): void {
    if (this.chunks.length > 1) {
      const total = this.chunks.reduce((s, c) => s + c.size, 0);
      for (const c of this.chunks) this.heap.free(c.ptr);
      this.chunks = [{ ptr: this.heap.alloc(total), size: total }];
    }
    this.current = 0;
    this.offset = 0;
    this.used = 0;
  }

  release(): void {
    for (const c of this.chunks) this.heap.free(c.ptr);
    this.chunks = [];
    this.current = 0;
    this.offset = 0;
    this.used = 0;
  }
}
