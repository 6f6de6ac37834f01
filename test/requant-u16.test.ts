// The integer form of the requantization over u16 accumulators (src/kernels/requant_u16.ts),
// evaluated the way the wasm kernel does (clamp r, d, u32 multiply-add-shift, i32 add, saturating
// narrows, clamp) against the contract of reference requantizeU8, for every r in [0, 65535].
import { test } from "node:test";
import assert from "node:assert/strict";
import { lanesRequant, u16Requant, type LanesRequant, type U16Requant } from "../src/kernels/requant_u16.js";
import { requantizeU8 } from "../src/kernels/reference/int8.js";
import { rng } from "./random.js";

const int = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

/** The kernel's steps (requantU16x16 in assembly/int8_common.ts) for one accumulator r. */
function kernelU8(c: U16Requant, r: number, lo: number, hi: number): number {
  const rc = Math.min(Math.max(r, c.rA), c.rB);
  const d = c.mode === 1 ? rc - c.rA : c.rB - rc;
  const u = c.b + d * c.m;
  assert.ok(u >= 0 && u < 2 ** 32, `b + d·m = ${u} leaves u32`);
  const v = c.q + Math.floor(u / 2 ** c.k);
  assert.ok(v >= -(2 ** 31) && v < 2 ** 31, `q + … = ${v} leaves i32`);
  const i16 = Math.max(-32768, Math.min(32767, v));
  return Math.min(hi, Math.max(lo, Math.max(0, Math.min(255, i16))));
}

interface Channel {
  bias: number; mult: number; shift: number; biasBits: number; outZp: number; lo: number; hi: number;
}

/** Channels across the contract, and as export writes them: 15-bit multipliers over u16 accumulators. */
function randomChannel(rand: () => number): Channel {
  const lo = int(rand, 0, 255), hi = int(rand, lo, 255), outZp = int(rand, 0, 255);
  const biasBits = [0, 0, 1, 4, 8, 15][int(rand, 0, 5)]!;
  // a = r·2^F + bias must stay in int32 for every r ≤ 65535
  const biasRoom = 2 ** 31 - 1 - 65535 * 2 ** biasBits;
  const kind = rand();
  if (kind < 0.4) {
    return { bias: int(rand, -Math.min(2 ** 30, biasRoom), Math.min(2 ** 30, biasRoom)), mult: int(rand, -(2 ** 21 - 1), 2 ** 21 - 1), shift: int(rand, 1, 52), biasBits, outZp, lo, hi };
  }
  // 255 output steps over a range of r of 2^2 .. 2^16 units
  const real = 255 / 2 ** (2 + 14 * rand());
  const e = Math.floor(Math.log2(real * 2 ** biasBits));
  const shift = Math.min(52, Math.max(1, 14 - e));
  const mult = Math.min(2 ** 15 - 1, Math.round(real * 2 ** (shift - biasBits))) * (rand() < 0.5 ? -1 : 1);
  const bias = Math.round((rand() - 0.5) * 65535 * 2 ** biasBits);
  return { bias: Math.max(-biasRoom, Math.min(biasRoom, bias)), mult, shift, biasBits, outZp, lo, hi };
}

test("u16 requantization: the kernel's integer steps equal requantizeU8 for every u16 accumulator, across the contract", () => {
  const rand = rng(4242);
  const acc = Int32Array.from({ length: 65536 }, (_, r) => r);
  const want = new Uint8Array(65536);
  const modes = [0, 0, 0];
  let constant = 0;
  for (let i = 0; i < 160; i++) {
    const ch = randomChannel(rand);
    // extremes: zero and ±(2^21 − 1) multipliers, the shifts' ends
    if (i === 0) ch.mult = 0;
    if (i === 1) Object.assign(ch, { mult: 2 ** 21 - 1, shift: 52, biasBits: 0, bias: -(2 ** 30) });
    if (i === 2) Object.assign(ch, { mult: -(2 ** 21 - 1), shift: 1, biasBits: 0, bias: 0 });
    if (i === 3) Object.assign(ch, { mult: 1, shift: 52, biasBits: 15, bias: 2 ** 30 });
    const c = u16Requant(ch.bias, ch.mult, ch.shift, ch.biasBits, ch.outZp, ch.lo, ch.hi);
    modes[c.mode]!++;
    if (c.mode !== 0 && c.rA === c.rB) constant++;
    requantizeU8(acc, 65536, 1, Int32Array.of(ch.bias), Int32Array.of(ch.mult), Uint8Array.of(ch.shift), ch.outZp, ch.lo, ch.hi, want, ch.biasBits);
    if (c.mode === 0) continue; // the f64 path, tested by the kernel tests
    for (let r = 0; r < 65536; r++) {
      const got = kernelU8(c, r, ch.lo, ch.hi);
      if (got !== want[r]) assert.fail(`channel #${i} ${JSON.stringify(ch)} → ${JSON.stringify(c)}: r = ${r} gives ${got}, requantizeU8 ${want[r]}`);
    }
  }
  // every form taken: rising, falling, the f64 fallback, constant channels
  assert.ok(modes[1]! > 20 && modes[2]! > 20 && modes[0]! > 0 && constant > 0, `modes ${modes}, constant ${constant}`);
});

test("u16 requantization: a channel whose one accumulator unit spans more than the u8 range still takes the integer form when it fits", () => {
  // step 2^10 output units per r: rA and rB are neighbours, the integer form holds the jump
  const c = u16Requant(0, 1 << 20, 11, 0, 0, 0, 255);
  assert.equal(c.mode, 1);
  assert.ok(c.rB - c.rA <= 1, JSON.stringify(c));
});

/** The lanes kernels' steps (requantLanes16 in assembly/int8_common.ts) for channel c and accumulator r, in u16 and u32 arithmetic. */
function lanesU8(f: LanesRequant, c: number, r: number, lo: number, hi: number): number {
  const d = Math.min(Math.max(0, (r ^ f.flip[c]!) - f.ref[c]!), f.span[c]!);
  const u = f.b[c]! + d * f.m[c]!;
  assert.ok(u >= 0 && u < 2 ** 32, `b + d·m = ${u} leaves u32`);
  const v = f.q[c]! + Math.floor(u / 2 ** f.shift);
  const i16 = Math.max(-32768, Math.min(32767, v));
  return Math.min(hi, Math.max(lo, Math.max(0, Math.min(255, i16))));
}

test("u16 requantization with one shift per layer: the lanes kernels' steps equal requantizeU8 for every u16 accumulator of every channel", () => {
  const rand = rng(5151);
  const acc = Int32Array.from({ length: 65536 }, (_, r) => r);
  const want = new Uint8Array(65536);
  let layers = 0, shifted = 0;
  for (let i = 0; i < 40; i++) {
    // one layer: 8 channels as export writes them, sharing biasBits, zero point and clamp
    const first = randomChannel(rand);
    const K = 8;
    const chans: Channel[] = [];
    while (chans.length < K) {
      const c = randomChannel(rand);
      if (Math.abs(c.mult) < 2 ** 15 && c.shift > 1) chans.push({ ...c, biasBits: first.biasBits, outZp: first.outZp, lo: first.lo, hi: first.hi });
    }
    const forms = chans.map((c) => u16Requant(c.bias, c.mult, c.shift, c.biasBits, c.outZp, c.lo, c.hi));
    const f = lanesRequant(forms);
    if (!f) {
      assert.ok(forms.some((c) => c.mode === 0) || forms.some((c) => c.b + (c.rB - c.rA) * c.m * 2 ** (Math.max(...forms.map((x) => x.k)) - c.k) >= 2 ** 32), `layer #${i} refused with every channel in range`);
      continue;
    }
    layers++;
    if (new Set(forms.map((c) => c.k)).size > 1) shifted++;
    for (let c = 0; c < K; c++) {
      const ch = chans[c]!;
      requantizeU8(acc, 65536, 1, Int32Array.of(ch.bias), Int32Array.of(ch.mult), Uint8Array.of(ch.shift), ch.outZp, ch.lo, ch.hi, want, ch.biasBits);
      for (let r = 0; r < 65536; r++) {
        const got = lanesU8(f, c, r, ch.lo, ch.hi);
        if (got !== want[r]) assert.fail(`layer #${i} channel ${c} ${JSON.stringify(ch)}: r = ${r} gives ${got}, requantizeU8 ${want[r]}`);
      }
    }
  }
  // most layers take the form, and most of those had to rescale channels to one shift
  assert.ok(layers >= 20 && shifted >= 15, `${layers} layers in the form, ${shifted} with several shifts`);
});

test("u16 requantization with one shift per layer: a channel on the f64 path, or one whose rescaled sums leave u32, keeps the layer off it", () => {
  const ok = u16Requant(0, 12345, 20, 0, 0, 0, 255);
  assert.notEqual(ok.mode, 0);
  assert.ok(lanesRequant([ok, ok]));
  const off = u16Requant(5, 2 ** 21 - 1, 30, 0, 0, 0, 255);
  assert.equal(off.mode, 0);
  assert.equal(lanesRequant([ok, off]), null);
  // shifts 20 and 30: each fits alone, but the first rescaled by 2^10 leaves u32
  const coarse = u16Requant(0, 12345, 30, 0, 0, 0, 255);
  assert.ok(ok.k === 20 && coarse.k === 30 && lanesRequant([coarse]), JSON.stringify([ok, coarse]));
  assert.equal(lanesRequant([ok, coarse]), null);
});
