// B-bit packed weights (src/deploy/run/pack_bits.ts): exact round trips for every width and
// sign, one encoding per layer (nonzero padding is corrupt), and the reader's checks on
// weightBits in a bundle.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_PACKED_BITS, MIN_PACKED_BITS, packBits, packedBitsBytes, unpackBits } from "../src/deploy/run/pack_bits.js";
import { rng } from "./random.js";

test("packBits/unpackBits: every width 2–7, signed and unsigned, 300 random rows, round trip exactly", () => {
  const r = rng(61);
  for (let t = 0; t < 300; t++) {
    const bits = MIN_PACKED_BITS + (t % (MAX_PACKED_BITS - MIN_PACKED_BITS + 1));
    const n = 1 + Math.floor(r() * 200);
    const signed = t % 2 === 1;
    const values = signed
      ? Int8Array.from({ length: n }, () => Math.floor(r() * 2 ** bits) - 2 ** (bits - 1))
      : Uint8Array.from({ length: n }, () => Math.floor(r() * 2 ** bits));
    const packed = packBits(values, bits);
    assert.equal(packed.length, packedBitsBytes(n, bits), `${n} values of ${bits} bits`);
    assert.deepEqual(unpackBits(packed, n, bits, signed), values, `${n} ${signed ? "signed" : "unsigned"} values of ${bits} bits`);
  }
});

test("packed weights: values that do not fit, wrong lengths and nonzero padding are refused", () => {
  assert.throws(() => packBits(Uint8Array.of(16), 4), /value 0 = 16 does not fit 4 unsigned bits/);
  assert.throws(() => packBits(Int8Array.of(8), 4), /value 0 = 8 does not fit 4 signed bits/);
  assert.throws(() => packBits(Uint8Array.of(1), 8), /must be 2…7 bits/);
  assert.throws(() => unpackBits(new Uint8Array(2), 5, 4, false), /2 bytes, expected 3 for 5 weights/);
  // 3 weights of 4 bits use 12 bits: the last 4 bits of byte 1 are padding and must be 0
  assert.throws(() => unpackBits(Uint8Array.of(0x21, 0xf3), 3, 4, false), /nonzero padding bits/);
  assert.deepEqual(unpackBits(Uint8Array.of(0x21, 0x03), 3, 4, false), Uint8Array.of(1, 2, 3));
  assert.deepEqual(unpackBits(Uint8Array.of(0xf9), 2, 4, true), Int8Array.of(-7, -1));
});
