// Checksums of a bundle: the CRC-32 (IEEE 802.3, the one of zip, PNG and gzip) of the graph
// metadata, of the source metadata and of every tensor's bytes, stored in the metadata string
// "crc32" as 8 lowercase hex digits each, in this order: graph, source, then the tensors by name
// (ascending UTF-16 order). For a LeNet-5 bundle (8 tensors) that is 80 digits, 91 header bytes.
//
// A CRC-32 detects every burst of up to 32 flipped bits and all but 2^−32 of other damage; it is
// not a signature (anyone can recompute it). The reader checks it before it interprets any tensor
// byte, so a damaged tensor is refused by name instead of being run.

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 of `bytes` (crc32("123456789") = 0xcbf43926). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 255]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const CHECKSUM_KEY = "crc32";
const DIGITS = 8;

/** The items a bundle's checksums cover, in their stored order. */
export interface Checksummed {
  graph: string;
  source: string;
  /** Tensor name → its data bytes. */
  tensors: Record<string, Uint8Array>;
}

function items(c: Checksummed): Array<[label: string, bytes: Uint8Array]> {
  const text = new TextEncoder();
  const names = Object.keys(c.tensors).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return [
    ["the graph metadata", text.encode(c.graph)],
    ["the source metadata", text.encode(c.source)],
    ...names.map((n): [string, Uint8Array] => [`tensor ${JSON.stringify(n)}`, c.tensors[n]!]),
  ];
}

const hex = (v: number) => v.toString(16).padStart(DIGITS, "0");

/** The "crc32" metadata string of these items. */
export function checksumRecord(c: Checksummed): string {
  return items(c).map(([, bytes]) => hex(crc32(bytes))).join("");
}

/**
 * The first item whose CRC-32 differs from the record, as "<item> is damaged: …", or null when all
 * match. A record of the wrong length or alphabet is a problem too.
 */
export function checksumProblem(c: Checksummed, record: string | undefined, quote: (s: string) => string): string | null {
  const all = items(c);
  if (record === undefined) return `its metadata has no "${CHECKSUM_KEY}" checksums (bundles are written by mulfree export)`;
  if (record.length !== all.length * DIGITS || !/^[0-9a-f]*$/.test(record)) {
    return `the "${CHECKSUM_KEY}" metadata must be ${all.length} CRC-32s (${all.length * DIGITS} lowercase hex digits: graph, source, ${all.length - 2} tensors), got ${quote(record)}`;
  }
  for (let i = 0; i < all.length; i++) {
    const [label, bytes] = all[i]!;
    const stored = record.slice(i * DIGITS, (i + 1) * DIGITS);
    const actual = hex(crc32(bytes));
    if (actual !== stored) return `${label} is damaged: its CRC-32 is ${actual}, the bundle records ${stored}`;
  }
  return null;
}
