// The requantization of one channel as u32 integer steps, for kernels whose accumulators are u16:
// the one-channel adder conv (assembly/int8_adder.ts), whose vector lanes hold many positions of
// the same channel, and with one shift for a whole layer (below) the lanes tiles and the depthwise
// kernel, whose lanes hold channels. The contract is requantizeU8 of reference/int8.ts:
//
//   out(r) = clamp(raw(r), lo, hi),   raw(r) = floor((r·M + C) / 2^s) + zp,
//   M = mult·2^F,  C = bias·mult + 2^(s−1),  r ∈ [0, 65535].
//
// raw is monotone in r (non-decreasing for mult ≥ 0, non-increasing below), so clamping r to
// [rA, rB], the last r that still saturates at one end and the first that saturates at the other,
// changes no output. Inside that range let d = r − rA (mult ≥ 0) or rB − r (mult < 0), so that
//
//   raw = floor((B + d·|M|) / 2^s) + zp,   B = (rA or rB)·M + C = q·2^s + b0,  0 ≤ b0 < 2^s,
//       = q + zp + floor((b0 + d·|mult|·2^F) / 2^s)
//       = q + zp + floor((b + d·m) / 2^k),   k = s − F, m = |mult|, b = floor(b0 / 2^F)
//
// (floor(floor(x)/2^k) = floor(x/2^k); for s < F it is d·|mult|·2^(F−s) with b = 0, k = 0), and
// trailing zeros of m shift out of m, b and k alike. When b + (rB − rA)·m < 2^32 and every raw
// value in the range fits i32, the kernel computes it with one u32 multiply, add and shift per
// lane and clamps after narrowing; otherwise the channel keeps the f64 path (mode 0).

/** Per-channel integer form: mode 0 = use the f64 path, 1 = d = r − rA, 2 = d = rB − r. */
export interface U16Requant {
  mode: 0 | 1 | 2;
  rA: number; rB: number; m: number; b: number; k: number; q: number;
}

const R_MAX = 65535;
const U32 = 2n ** 32n;
const I32_MIN = -(2n ** 31n), I32_MAX = 2n ** 31n - 1n;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return q * b > a ? q - 1n : q;
}

/** The integer form of channel c's requantization over u16 accumulators (see the header). */
export function u16Requant(bias: number, mult: number, shift: number, biasBits: number, outZp: number, lo: number, hi: number): U16Requant {
  const M = BigInt(mult) * 2n ** BigInt(biasBits), C = BigInt(bias) * BigInt(mult) + 2n ** BigInt(shift - 1), S = 2n ** BigInt(shift);
  const zp = BigInt(outZp);
  const raw = (r: number): bigint => floorDiv(BigInt(r) * M + C, S) + zp;
  const rising = mult >= 0;
  // the last r in [0, R_MAX] still at the low-r end's saturation, the first at the other end's
  const lowEnd = rising ? (v: bigint) => v <= BigInt(lo) : (v: bigint) => v >= BigInt(hi);
  const highEnd = rising ? (v: bigint) => v >= BigInt(hi) : (v: bigint) => v <= BigInt(lo);
  const rA = lowEnd(raw(0)) ? lastWhere(0, R_MAX, (r) => lowEnd(raw(r))) : 0;
  const rB = highEnd(raw(R_MAX)) ? firstWhere(rA, R_MAX, (r) => highEnd(raw(r))) : R_MAX;
  const off = { mode: 0 as const, rA: 0, rB: 0, m: 0, b: 0, k: 0, q: 0 };
  if (rA === rB) {
    // a constant channel: q alone, clamped into i32 (the kernel clamps to [lo, hi] after)
    const v = raw(rA);
    return { mode: 1, rA, rB, m: 0, b: 0, k: 0, q: Number(v < -1n ? -1n : v > 256n ? 256n : v) };
  }
  const B = (rising ? BigInt(rA) : BigInt(rB)) * M + C;
  const q = floorDiv(B, S);
  const b0 = B - q * S;
  let m = BigInt(Math.abs(mult)), b: bigint, k: number;
  if (shift >= biasBits) {
    k = shift - biasBits;
    b = b0 / 2n ** BigInt(biasBits);
  } else {
    m *= 2n ** BigInt(biasBits - shift);
    b = 0n;
    k = 0;
  }
  while (k > 0 && m > 0n && (m & 1n) === 0n) {
    m >>= 1n;
    b >>= 1n;
    k--;
  }
  const top = b + BigInt(rB - rA) * m;
  const qz = q + zp;
  if (top >= U32 || qz < I32_MIN || qz + (top >> BigInt(k)) > I32_MAX) return off;
  return { mode: rising ? 1 : 2, rA, rB, m: Number(m), b: Number(b), k, q: Number(qz) };
}

/** The largest r in [a, b] where pred holds, given pred(a) and pred monotone (true, then false). */
function lastWhere(a: number, b: number, pred: (r: number) => boolean): number {
  while (a < b) {
    const mid = Math.ceil((a + b) / 2);
    if (pred(mid)) a = mid;
    else b = mid - 1;
  }
  return a;
}

/** The smallest r in [a, b] where pred holds, given pred(b) and pred monotone (false, then true). */
function firstWhere(a: number, b: number, pred: (r: number) => boolean): number {
  while (a < b) {
    const mid = Math.floor((a + b) / 2);
    if (pred(mid)) b = mid;
    else a = mid + 1;
  }
  return b;
}

// ---- one shift for a whole layer: kernels whose lanes hold different channels ----
//
// The lanes tiles and the depthwise kernel (assembly/int8_adder_lanes.ts, int8_depthwise.ts) hold
// 8 or 16 channels of one position in their vector lanes, and WebAssembly SIMD shifts every lane
// by the same count. Scaling numerator and denominator by 2^(S − k) leaves a floor unchanged:
//
//   floor((b + d·m) / 2^k) = floor((b' + d·m') / 2^S),   b' = b·2^(S − k), m' = m·2^(S − k),
//
// so with S = the largest k of the layer every channel takes one shift, as long as
// b' + (rB − rA)·m' < 2^32 for each, which is checked (a channel that moves at most one output
// step per accumulator unit spans about 257 values between its saturations, so for such layers it
// holds whenever S ≤ 23). The clamp and the direction fold into three u16 steps: with flip = 0
// (rising) or 0xFFFF (falling) and ref = rA or 65535 − rB,
//
//   d = min(sat_sub_u(r xor flip, ref), rB − rA)
//
// is clamp(r, rA, rB) − rA when rising and rB − clamp(r, rA, rB) when falling (r xor 0xFFFF =
// 65535 − r reverses the order). A channel in mode 0 keeps the whole layer on the f64 path.

/** A layer's channels in the u16 integer form with one shift (the arrays are per channel). */
export interface LanesRequant {
  shift: number;
  flip: number[]; ref: number[]; span: number[];
  m: number[]; b: number[]; q: number[];
}

/** The one-shift form of a layer whose channels have the integer forms `forms`, or null when one cannot take it. */
export function lanesRequant(forms: readonly U16Requant[]): LanesRequant | null {
  if (forms.some((c) => c.mode === 0)) return null;
  const shift = Math.max(0, ...forms.map((c) => c.k));
  const out: LanesRequant = { shift, flip: [], ref: [], span: [], m: [], b: [], q: [] };
  for (const c of forms) {
    const scale = 2n ** BigInt(shift - c.k);
    const m = BigInt(c.m) * scale, b = BigInt(c.b) * scale;
    if (b + BigInt(c.rB - c.rA) * m >= U32) return null;
    out.flip.push(c.mode === 1 ? 0 : 0xffff);
    out.ref.push(c.mode === 1 ? c.rA : R_MAX - c.rB);
    out.span.push(c.rB - c.rA);
    out.m.push(Number(m));
    out.b.push(Number(b));
    out.q.push(c.q);
  }
  return out;
}
