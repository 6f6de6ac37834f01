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
