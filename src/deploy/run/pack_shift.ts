// Packed shift weights. Each weight is one (fieldBits + 1)-bit value in a little-endian bit
// stream: weight i occupies stream bits [i·B, (i+1)·B) with B = fieldBits + 1, stream bit j being
// bit (j mod 8) of byte ⌊j/8⌋ (least significant first). Within a value:
//   bits 0 … fieldBits−1   code c: 0 = the zero weight, c ≥ 1 = magnitude 2^(base + c − 1)
//   bit fieldBits          sign: 1 = negative
// Zero has its own code (unlike the official packer, which marks zeros with a shift of 32 through
// an indexing bug that wipes whole filters; docs/deepshift.md, "Official-code bugs fixed" 9–10), and a zero's sign
// bit must be 0, so every bit pattern has one meaning. Rows are not padded: a layer is
// ⌈n·B/8⌉ bytes.
import { MAX_SHIFT } from "../../kernels/reference/int8.js";

/** Largest code width: codes 1 … 2^5 − 1 cover more than the MAX_SHIFT + 1 kernel shifts. */
export const MAX_FIELD_BITS = 5;

/** The field width that holds `shifts` distinct shift values plus the zero code (at least 1). */
export function fieldBitsFor(shifts: number): number {
  if (!Number.isInteger(shifts) || shifts < 0 || shifts > MAX_SHIFT + 1) throw new Error(`fieldBitsFor: ${shifts} shift values (0…${MAX_SHIFT + 1} allowed)`);
  return Math.max(1, Math.ceil(Math.log2(shifts + 1)));
}

export function packedBytes(count: number, fieldBits: number): number {
  return Math.ceil((count * (fieldBits + 1)) / 8);
}

function checkFieldBits(fieldBits: number): void {
  if (!Number.isInteger(fieldBits) || fieldBits < 1 || fieldBits > MAX_FIELD_BITS) throw new Error(`shift field width must be 1…${MAX_FIELD_BITS} bits, got ${fieldBits}`);
}

/**
 * Pack sign ∈ {−1, 0, +1} and code-relative shifts (the kernel shift, i.e. code − 1, for nonzero
 * weights; ignored where sign is 0).
 */
export function packShifts(sign: Int8Array, shift: Uint8Array, fieldBits: number): Uint8Array {
  checkFieldBits(fieldBits);
  if (sign.length !== shift.length) throw new Error(`packShifts: ${sign.length} signs but ${shift.length} shifts`);
  const B = fieldBits + 1;
  const maxCode = 2 ** fieldBits - 1;
  const out = new Uint8Array(packedBytes(sign.length, fieldBits));
  for (let i = 0, bit = 0; i < sign.length; i++, bit += B) {
    const s = sign[i];
    if (s === 0) continue;
    if (s !== 1 && s !== -1) throw new Error(`packShifts: sign[${i}] = ${s} is not −1, 0 or +1`);
    const code = shift[i] + 1;
    if (code > maxCode) throw new Error(`packShifts: shift[${i}] = ${shift[i]} needs more than ${fieldBits} code bits`);
    // the B ≤ 6 bits of the value, placed at bit (bit & 7) of its byte, lie within two bytes
    const placed = (code | (s < 0 ? 1 << fieldBits : 0)) << (bit & 7);
    out[bit >> 3] |= placed & 255;
    if (placed > 255) out[(bit >> 3) + 1] |= placed >> 8;
  }
  return out;
}

/** Unpack `count` weights: the kernel's sign and shift planes. Throws on a pattern no packer writes. */
export function unpackShifts(packed: Uint8Array, count: number, fieldBits: number): { sign: Int8Array; shift: Uint8Array } {
  checkFieldBits(fieldBits);
  const need = packedBytes(count, fieldBits);
  if (packed.length !== need) throw new Error(`packed shift weights: ${packed.length} bytes, expected ${need} for ${count} weights of ${fieldBits + 1} bits`);
  const B = fieldBits + 1, codeMask = (1 << fieldBits) - 1;
  const sign = new Int8Array(count), shift = new Uint8Array(count);
  for (let i = 0, bit = 0; i < count; i++, bit += B) {
    // a value of B ≤ 6 bits starting at bit (bit & 7) of its byte lies within two bytes
    const at = bit >> 3;
    const value = ((packed[at]! | ((packed[at + 1] ?? 0) << 8)) >> (bit & 7)) & ((1 << B) - 1);
    const code = value & codeMask;
    const negative = value >> fieldBits;
    if (code === 0) {
      if (negative) throw new Error(`packed shift weights: weight ${i} is a zero with the sign bit set (corrupt data)`);
      continue;
    }
    if (code - 1 > MAX_SHIFT) throw new Error(`packed shift weights: weight ${i} has code ${code}, beyond the largest shift ${MAX_SHIFT}`);
    sign[i] = negative ? -1 : 1;
    shift[i] = code - 1;
  }
  // trailing bits of the last byte must be 0, so a stream has exactly one encoding
  const used = count * B;
  if (used % 8 && packed[packed.length - 1] >> (used % 8)) throw new Error("packed shift weights: nonzero padding bits after the last weight (corrupt data)");
  return { sign, shift };
}
