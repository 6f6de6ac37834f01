// Issue-port probes for bench/kernels/pipes.mjs (compiled by it; not part of the library).
// Each probe runs 12 independent chains of one or two alternating v128 ops, enough chains to
// cover a 3-cycle latency at 4 ops per cycle, so the loop measures throughput: how many of those
// ops one core issues per cycle, and whether two kinds of op share execution pipes.

/** A dependent chain of 8 i32 adds per iteration: one add per cycle, so this gives the clock. */
export function clockChain(n: i32, seed: i32): i32 {
  let x = seed, y = seed ^ 5;
  for (let i = 0; i < n; i++) {
    x = x + y; x = x + y; x = x + y; x = x + y; x = x + y; x = x + y; x = x + y; x = x + y;
    y ^= 1;
  }
  return x;
}

const PMIN = 0, MUL = 1, ADD = 2, IMIN_S = 3, IMIN_U = 4, AND = 5, U8MIN = 6, WIDEN = 7, I16ADD = 8;

// @ts-ignore: decorator
@inline function op(a: v128, b: v128, kind: i32): v128 {
  if (kind == PMIN) return f32x4.pmin(a, b);
  if (kind == MUL) return f32x4.mul(a, b);
  if (kind == ADD) return f32x4.add(a, b);
  if (kind == IMIN_S) return i32x4.min_s(a, b);
  if (kind == IMIN_U) return i32x4.min_u(a, b);
  if (kind == U8MIN) return i8x16.min_u(a, b);
  if (kind == WIDEN) return i16x8.extadd_pairwise_i8x16_u(a); // the int8 tiles' widening step
  if (kind == I16ADD) return i16x8.add(a, b);
  return v128.and(a, b);
}

// @ts-ignore: decorator
@inline function chains(n: i32, s: f32, k0: i32, k1: i32): f32 {
  const b = f32x4.splat(s);
  let a0 = f32x4.splat(s + 1), a1 = f32x4.splat(s + 2), a2 = f32x4.splat(s + 3), a3 = f32x4.splat(s + 4);
  let a4 = f32x4.splat(s + 5), a5 = f32x4.splat(s + 6), a6 = f32x4.splat(s + 7), a7 = f32x4.splat(s + 8);
  let a8 = f32x4.splat(s + 9), a9 = f32x4.splat(s + 10), a10 = f32x4.splat(s + 11), a11 = f32x4.splat(s + 12);
  for (let i = 0; i < n; i++) {
    a0 = op(a0, b, k0); a1 = op(a1, b, k1); a2 = op(a2, b, k0); a3 = op(a3, b, k1);
    a4 = op(a4, b, k0); a5 = op(a5, b, k1); a6 = op(a6, b, k0); a7 = op(a7, b, k1);
    a8 = op(a8, b, k0); a9 = op(a9, b, k1); a10 = op(a10, b, k0); a11 = op(a11, b, k1);
  }
  const t = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(f32x4.add(t, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11))), 0);
}

/** 12 ops per iteration. */
export function pmin_pmin(n: i32, s: f32): f32 { return chains(n, s, PMIN, PMIN); }
export function mul_mul(n: i32, s: f32): f32 { return chains(n, s, MUL, MUL); }
export function add_add(n: i32, s: f32): f32 { return chains(n, s, ADD, ADD); }
export function mul_add(n: i32, s: f32): f32 { return chains(n, s, MUL, ADD); }
export function pmin_mul(n: i32, s: f32): f32 { return chains(n, s, PMIN, MUL); }
export function pmin_add(n: i32, s: f32): f32 { return chains(n, s, PMIN, ADD); }
export function imin_s_imin_u(n: i32, s: f32): f32 { return chains(n, s, IMIN_S, IMIN_U); }
export function imin_s_mul(n: i32, s: f32): f32 { return chains(n, s, IMIN_S, MUL); }
export function imin_s_add(n: i32, s: f32): f32 { return chains(n, s, IMIN_S, ADD); }
export function and_and(n: i32, s: f32): f32 { return chains(n, s, AND, AND); }
export function u8min_u8min(n: i32, s: f32): f32 { return chains(n, s, U8MIN, U8MIN); }
export function widen_widen(n: i32, s: f32): f32 { return chains(n, s, WIDEN, WIDEN); }
export function i16add_i16add(n: i32, s: f32): f32 { return chains(n, s, I16ADD, I16ADD); }
export function u8min_widen(n: i32, s: f32): f32 { return chains(n, s, U8MIN, WIDEN); }
export function widen_i16add(n: i32, s: f32): f32 { return chains(n, s, WIDEN, I16ADD); }

// ---- the adder input gradient's term, in its real tile loop ----
// The 2-row × 8-column tile of assembly/adder.ts (convGradTile2x8): per k, two dy vectors, two
// broadcast weights and four terms acc += dy · f(w − x), with f varied to price each op; and the
// conv GEMM's 2 × 16 tile (acc += a · b) for comparison. All data sit in L1 (init() fills them).

const F_CLAMP_BITS = 0, F_CLAMP_FP = 1, F_NONE = 2, F_UPPER_ONLY = 3;

export function init(): void {
  for (let i = 1024; i < 24576; i += 4) store<f32>(i, <f32>Math.sin(<f64>i * 0.37));
}

// @ts-ignore: decorator
@inline function surrogate(d: v128, f: i32): v128 {
  if (f == F_CLAMP_BITS) return i32x4.min_u(i32x4.min_s(d, f32x4.splat(1)), f32x4.splat(-1));
  if (f == F_CLAMP_FP) return f32x4.pmax(f32x4.pmin(d, f32x4.splat(1)), f32x4.splat(-1));
  if (f == F_UPPER_ONLY) return i32x4.min_s(d, f32x4.splat(1));
  return d;
}

// @ts-ignore: decorator
@inline function gradTile(K: i32, f: i32): v128 {
  const w = <usize>1024, dy = <usize>8192, x = <usize>16384;
  const x00 = v128.load(x), x01 = v128.load(x, 16), x10 = v128.load(x, 64), x11 = v128.load(x, 80);
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const v = dy + (<usize>k << 5), s = w + (<usize>k << 3);
    const g0 = v128.load(v), g1 = v128.load(v, 16);
    const w0 = v128.load32_splat(s), w1 = v128.load32_splat(s, 4);
    a00 = f32x4.add(a00, f32x4.mul(g0, surrogate(f32x4.sub(w0, x00), f)));
    a01 = f32x4.add(a01, f32x4.mul(g1, surrogate(f32x4.sub(w0, x01), f)));
    a10 = f32x4.add(a10, f32x4.mul(g0, surrogate(f32x4.sub(w1, x10), f)));
    a11 = f32x4.add(a11, f32x4.mul(g1, surrogate(f32x4.sub(w1, x11), f)));
  }
  return f32x4.add(f32x4.add(a00, a01), f32x4.add(a10, a11));
}

// @ts-ignore: decorator
@inline function gemmTile(K: i32): v128 {
  const a = <usize>1024, b = <usize>8192;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const p = b + (<usize>k << 6), s = a + (<usize>k << 3);
    const b0 = v128.load(p), b1 = v128.load(p, 16), b2 = v128.load(p, 32), b3 = v128.load(p, 48);
    const s0 = v128.load32_splat(s), s1 = v128.load32_splat(s, 4);
    c00 = f32x4.add(c00, f32x4.mul(s0, b0)); c01 = f32x4.add(c01, f32x4.mul(s0, b1));
    c02 = f32x4.add(c02, f32x4.mul(s0, b2)); c03 = f32x4.add(c03, f32x4.mul(s0, b3));
    c10 = f32x4.add(c10, f32x4.mul(s1, b0)); c11 = f32x4.add(c11, f32x4.mul(s1, b1));
    c12 = f32x4.add(c12, f32x4.mul(s1, b2)); c13 = f32x4.add(c13, f32x4.mul(s1, b3));
  }
  return f32x4.add(f32x4.add(f32x4.add(c00, c01), f32x4.add(c02, c03)), f32x4.add(f32x4.add(c10, c11), f32x4.add(c12, c13)));
}

// One export per variant, each with its constant (a shared helper taking f at run time was not
// inlined, and tested f on every term). The result goes to memory so the loop is kept.
export function termClampBits(reps: i32, K: i32): void { for (let r = 0; r < reps; r++) v128.store(32768, gradTile(K, F_CLAMP_BITS)); }
export function termClampFp(reps: i32, K: i32): void { for (let r = 0; r < reps; r++) v128.store(32768, gradTile(K, F_CLAMP_FP)); }
export function termUpperOnly(reps: i32, K: i32): void { for (let r = 0; r < reps; r++) v128.store(32768, gradTile(K, F_UPPER_ONLY)); }
export function termNoClamp(reps: i32, K: i32): void { for (let r = 0; r < reps; r++) v128.store(32768, gradTile(K, F_NONE)); }
export function termGemm(reps: i32, K: i32): void { for (let r = 0; r < reps; r++) v128.store(32768, gemmTile(K)); }
