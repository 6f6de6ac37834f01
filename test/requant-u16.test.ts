// The integer form of the requantization over u16 accumulators (src/kernels/requant_u16.ts),
// evaluated the way the wasm kernel does (clamp r, d, u32 multiply-add-shift, i32 add, saturating
// narrows, clamp) against the contract of reference requantizeU8, for every r in [0, 65535].
import { test } from "node:test";
import assert from "node:assert/strict";
import { u16Requant, type U16Requant } from "../src/kernels/requant_u16.js";
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
