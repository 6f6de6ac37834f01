// Where each node's output lives in the wasm engine: a few slots of memory shared by nodes whose
// outputs are never alive at the same time. A node's output is alive from the node until its last
// reader has run; a flatten moves no data, so it shares its input's slot and extends its life.
// Slots are taken greedily in node order (a free slot of the node's own size, else a new one) and
// given back after the node that last reads them, never before the node's own output has its
// slot: a kernel's output never overlaps its input.
//
// A slot only ever holds outputs of one size per image, so image k of every node in it lies at
// the same bytes. That makes the plan safe for runs that take a few images through the whole
// network at a time (src/kernels/int8_program.ts): liveness per image is the graph's, and
// different images never overlap, whatever the order in which threads and chunks reach them.

export interface BufferPlan {
  /** The slot of each node's output. */
  slotOf: number[];
  /** Bytes per image of each slot: the size of every output it holds. */
  slotBytes: number[];
}

/**
 * bytes[i]: node i's output bytes per image; inputs[i]: the nodes it reads; alias[i]: node i's
 * output is its first input's (no slot of its own). The last node's output stays alive.
 */
export function planBuffers(bytes: readonly number[], inputs: readonly (readonly number[])[], alias: readonly boolean[]): BufferPlan {
  const count = bytes.length;
  const owner = (i: number): number => (alias[i] ? owner(inputs[i]![0]!) : i);
  const lastRead = new Array<number>(count).fill(-1);
  inputs.forEach((reads, j) => reads.forEach((a) => (lastRead[owner(a)] = Math.max(lastRead[owner(a)]!, j))));
  lastRead[owner(count - 1)] = Infinity;

  const slotOf: number[] = [], slotBytes: number[] = [], free: number[] = [];
  for (let i = 0; i < count; i++) {
    if (alias[i]) {
      slotOf.push(slotOf[owner(i)]!);
      continue;
    }
    const slot = free.find((s) => slotBytes[s] === bytes[i]) ?? slotBytes.length;
    if (slot === slotBytes.length) slotBytes.push(bytes[i]!);
    else free.splice(free.indexOf(slot), 1);
    slotOf.push(slot);
    for (const a of new Set(inputs[i]!.map(owner))) if (lastRead[a] === i) free.push(slotOf[a]!);
  }
  return { slotOf, slotBytes };
}
