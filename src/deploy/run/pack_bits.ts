// Packed weights of B-bit adder and multiply layers (`export --bits B`, 2 ≤ B ≤ 7): weight i is
// one B-bit value in a little-endian bit stream, stream bits [i·B, (i+1)·B), stream bit j being
// bit (j mod 8) of byte ⌊j/8⌋ (least significant first), as the shift weights are packed
// (./pack_shift.ts). Adder weights are their codes 0 … 2^B − 1; multiply weights are B-bit two's
// complement. Rows are not padded (a layer is ⌈n·B/8⌉ bytes) and the padding bits after the last
// weight are 0, so every layer has exactly one encoding.

export const MIN_PACKED_BITS = 2, MAX_PACKED_BITS = 7;

export function packedBitsBytes(count: number, bits: number): number {
  return Math.ceil((count * bits) / 8);
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < MIN_PACKED_BITS || bits > MAX_PACKED_BITS) throw new Error(`packed weights must be ${MIN_PACKED_BITS}…${MAX_PACKED_BITS} bits, got ${bits}`);
}

/** Pack the low `bits` bits of each value (u8 codes, or i8 values as two's complement). */
export function packBits(values: Uint8Array | Int8Array, bits: number): Uint8Array {
  checkBits(bits);
  const mask = (1 << bits) - 1;
  const signed = values instanceof Int8Array;
  const lo = signed ? -(1 << (bits - 1)) : 0, hi = signed ? (1 << (bits - 1)) - 1 : mask;
  const out = new Uint8Array(packedBitsBytes(values.length, bits));
  for (let i = 0, bit = 0; i < values.length; i++, bit += bits) {
    const v = values[i]!;
    if (v < lo || v > hi) throw new Error(`packBits: value ${i} = ${v} does not fit ${bits} ${signed ? "signed" : "unsigned"} bits`);
    // a value of ≤ 7 bits starting at bit (bit & 7) of its byte lies within two bytes
    const placed = (v & mask) << (bit & 7);
    out[bit >> 3] |= placed & 255;
    if (placed > 255) out[(bit >> 3) + 1] |= placed >> 8;
  }
  return out;
}

/** Unpack `count` values: u8 codes, or (signed) sign-extended i8. Throws on a stream no packer writes. */
export function unpackBits(packed: Uint8Array, count: number, bits: number, signed: boolean): Uint8Array | Int8Array {
  checkBits(bits);
  const need = packedBitsBytes(count, bits);
  if (packed.length !== need) throw new Error(`packed ${bits}-bit weights: ${packed.length} bytes, expected ${need} for ${count} weights`);
  const mask = (1 << bits) - 1, top = 1 << (bits - 1);
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  for (let i = 0, bit = 0; i < count; i++, bit += bits) {
    const at = bit >> 3;
    const v = ((packed[at]! | ((packed[at + 1] ?? 0) << 8)) >> (bit & 7)) & mask;
    out[i] = signed && v & top ? v - (1 << bits) : v;
  }
  const used = count * bits;
  if (used % 8 && packed[packed.length - 1]! >> (used % 8)) throw new Error(`packed ${bits}-bit weights: nonzero padding bits after the last weight (corrupt data)`);
  return out;
}
