// The integers of a residual add (addRequantU8 in src/kernels/reference/int8.ts). Its inputs a, b
// and its output carry their own quantizations, so in real terms
//   s_o·(q − z_o) = s_a·(a − z_a) + s_b·(b − z_b)
//   q = (a − z_a)·(s_a/s_o) + (b − z_b)·(s_b/s_o) + z_o.
// The two ratios become integers over one power of two, m_a/2^shift ≈ s_a/s_o and
// m_b/2^shift ≈ s_b/s_o: the shift is the largest that keeps the larger multiplier under 2^15
// (quantizeMultiplier), capped at 30 so the kernel's sums and its rounding term stay in an i32.
// The larger ratio keeps 15 bits (relative error 2^−15); the smaller keeps as many as it has at
// that shift. A ReLU after the add is its clamp at lo = z_o = 0 (a ReLU output's zero point).
import { MAX_ADD_SHIFT } from "../../kernels/reference/int8.js";
import type { Quant } from "../run/format.js";
import { ExportError } from "./errors.js";
import { quantizeMultiplier } from "./fold.js";

export function addMultipliers(a: Quant, b: Quant, out: Quant, where: string): { mult: [number, number]; shift: number } {
  const ra = a.scale / out.scale, rb = b.scale / out.scale;
  let shift: number;
  try {
    shift = Math.min(MAX_ADD_SHIFT, quantizeMultiplier(Math.max(ra, rb), where).shift);
  } catch (e) {
    throw new ExportError(`${where}: the residual add's inputs span ${Math.max(ra, rb).toExponential(2)} times its output range; a 15-bit multiplier cannot hold that (${(e as Error).message})`);
  }
  return { mult: [Math.round(ra * 2 ** shift), Math.round(rb * 2 ** shift)], shift };
}
