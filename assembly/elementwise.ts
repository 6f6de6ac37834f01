// Elementwise f32 kernels. Vector body of 4 lanes, scalar tail.

/** out[i] = a[i] + b[i] for i in [start, end). */
export function addF32(a: usize, b: usize, out: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}
