// Energy per arithmetic operation, 45 nm at 0.9 V (Horowitz, "Computing's energy problem (and what
// we can do about it)", ISSCC 2014; the table and its use here in docs/ops.md). The table has no
// shifts, comparisons, 64-bit or 16-bit multiplies, exp, division or square root: every such
// entry below is marked `assumed` with its reason, and the report prints those reasons.

/** What an operation does. Subtractions are adds; a sign flip or |·| is free (see docs/ops.md). */
export type OpKind = "mul" | "add" | "shift" | "cmp" | "div" | "exp" | "sqrt";

/** Operand type: the width the hardware needs for the operation. */
export type OpType = "fp32" | "int8" | "int16" | "int32" | "int64";

export const ENERGY_SOURCE = 'Horowitz, "Computing\'s energy problem (and what we can do about it)", ISSCC 2014, 45 nm 0.9 V (see docs/ops.md)';

export interface EnergyEntry {
  pj: number;
  /** Why this value, when it is not a row of the table. */
  assumed?: string;
}

/** The table's rows exactly as published (pJ per operation). */
const TABLE: Record<string, number> = {
  "int8 add": 0.03,
  "int16 add": 0.05,
  "int32 add": 0.1,
  "fp16 add": 0.4,
  "fp32 add": 0.9,
  "int8 mul": 0.2,
  "int32 mul": 3.1,
  "fp16 mul": 1.1,
  "fp32 mul": 3.7,
};

/** SRAM read of one 32-bit word from an 8 KB array (the table's memory row), for weight reads. */
export const SRAM_READ_32BIT_PJ = 5;

const SHIFT_AS_ADD = "not in the table; assumed equal to an add of the same width (a barrel shifter is log2(width) mux stages, no carry chain)";
const CMP_AS_ADD = "not in the table; a comparison is a subtraction: assumed equal to an add of the same width";

const ASSUMED: Record<string, EnergyEntry> = {
  "int8 shift": { pj: TABLE["int8 add"], assumed: SHIFT_AS_ADD },
  "int16 shift": { pj: TABLE["int16 add"], assumed: SHIFT_AS_ADD },
  "int32 shift": { pj: TABLE["int32 add"], assumed: SHIFT_AS_ADD },
  "int64 shift": { pj: 2 * TABLE["int32 add"], assumed: "not in the table; assumed two int32 adds (a 64-bit shifter/adder is two 32-bit halves)" },
  "fp32 shift": { pj: TABLE["int8 add"], assumed: "not in the table; scaling an fp32 by 2^k adds k to the 8-bit exponent: assumed an int8 add" },
  "int8 cmp": { pj: TABLE["int8 add"], assumed: CMP_AS_ADD },
  "int16 cmp": { pj: TABLE["int16 add"], assumed: CMP_AS_ADD },
  "int32 cmp": { pj: TABLE["int32 add"], assumed: CMP_AS_ADD },
  "fp32 cmp": { pj: TABLE["int32 add"], assumed: "not in the table; IEEE floats order like sign-magnitude integers: assumed an int32 add" },
  "int64 add": { pj: 2 * TABLE["int32 add"], assumed: "not in the table; assumed two int32 adds" },
  "int16 mul": { pj: TABLE["int32 mul"], assumed: "not in the table; costed as an int32 mult, an upper bound" },
  "int64 mul": { pj: TABLE["int32 mul"], assumed: "an i32 × i16 → i64 requantization product; not in the table: costed as an int32 mult (the operands are ≤ 32 bits)" },
  "fp32 div": { pj: TABLE["fp32 mul"], assumed: "not in the table; costed as one fp32 mult, a lower bound (a divider takes several multiplier passes)" },
  "int32 div": { pj: TABLE["int32 mul"], assumed: "not in the table; costed as one int32 mult, a lower bound" },
  "fp32 exp": { pj: TABLE["fp32 mul"], assumed: "not in the table; costed as one fp32 mult, a lower bound (exp is a polynomial of several)" },
  "fp32 sqrt": { pj: TABLE["fp32 mul"], assumed: "not in the table; costed as one fp32 mult, a lower bound" },
};

/** pJ of one operation of this kind and type; throws for a pair nobody should count. */
export function energyOf(kind: OpKind, type: OpType): EnergyEntry {
  const key = `${type} ${kind}`;
  if (key in TABLE) return { pj: TABLE[key] };
  const a = ASSUMED[key];
  if (!a) throw new Error(`energy: no entry for ${key}`);
  return a;
}

/** The table rows as printed under the report. */
export function energyTableRows(): Array<{ op: string; pj: number }> {
  return Object.entries(TABLE).map(([op, pj]) => ({ op, pj }));
}
