// Which WebAssembly SIMD ops share execution pipes on this CPU, as V8 compiles them: each probe
// (bench/kernels/pipes.ts, compiled here with the repository's AssemblyScript) runs 12
// independent chains of one op, or of two ops alternating, and reports ops per cycle, the clock
// taken from a dependent chain of i32 adds (one per cycle). Two ops on separate pipes reach about
// the sum of their single rates; two on the same pipes stay at one op's rate.
//
//   node bench/kernels/pipes.mjs [--rounds 15]
//
// Then the adder input gradient's term in its real tile loop, with its clamp's ops taken away one
// at a time, against the conv GEMM's tile: what each op costs where it really runs.
//
// Why it matters: the adder input gradient's clamp(d, −1, 1) ran as FP min/max, which on Zen 3
// share the FP add pipes with the loop's sub and add; assembly/adder.ts now clamps on the bit
// patterns with integer mins, which issue on any vector pipe. The u8 rows are the int8 adder
// tiles' step (min, widening pairwise add, i16 add); "u16 widen" is i16x8.extadd_pairwise_i8x16_u.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median, parseArgs } from '../lib/stats.mjs';

const opts = parseArgs(process.argv.slice(2));
const rounds = Number(opts.rounds ?? 15);
const root = fileURLToPath(new URL('../../', import.meta.url));
const src = fileURLToPath(new URL('pipes.ts', import.meta.url));
const out = fileURLToPath(new URL('../out/pipes.wasm', import.meta.url));
fs.mkdirSync(new URL('../out/', import.meta.url), { recursive: true });
execFileSync(process.execPath, [`${root}node_modules/assemblyscript/bin/asc.js`, src, '-o', out, '-O3', '--runtime', 'stub', '--enable', 'simd'], { stdio: 'inherit' });
const { instance } = await WebAssembly.instantiate(fs.readFileSync(out), { env: { abort() {} } });
const probes = instance.exports, N = 2_000_000;

/** Per round, the best of 5 calls (ms); the median over rounds. */
function time(fn, ...args) {
  const rs = [];
  for (let r = 0; r < rounds; r++) {
    let best = Infinity;
    for (let i = 0; i < 5; i++) { const t = performance.now(); fn(...args); best = Math.min(best, performance.now() - t); }
    rs.push(best);
  }
  return median(rs);
}

time(probes.clockChain, N, 3); // optimising tier
const ghz = (N * 8) / time(probes.clockChain, N, 3) / 1e6;
console.log(`clock from an i32 add chain: ${ghz.toFixed(2)} GHz (${new Date().toISOString()})`);
console.log('| ops (f32x4 unless named; 12 chains, alternating) | ops per cycle |');
console.log('|---|---|');
const probesByLabel = {
  'pmin, pmin': 'pmin_pmin', 'mul, mul': 'mul_mul', 'add, add': 'add_add', 'mul, add': 'mul_add',
  'pmin, mul': 'pmin_mul', 'pmin, add': 'pmin_add', 'i32 min_s, min_u': 'imin_s_imin_u',
  'i32 min_s, mul': 'imin_s_mul', 'i32 min_s, add': 'imin_s_add', 'and, and': 'and_and',
  'u8 min, u8 min': 'u8min_u8min', 'u16 widen, u16 widen': 'widen_widen', 'i16 add, i16 add': 'i16add_i16add',
  'u8 min, u16 widen': 'u8min_widen', 'u16 widen, i16 add': 'widen_i16add',
};
for (const [label, name] of Object.entries(probesByLabel)) {
  const ms = time(probes[name], N, 0.5);
  console.log(`| ${label} | ${((N * 12) / (ms * 1e6) / ghz).toFixed(2)} |`);
}

// The adder input gradient's term in its real 2 × 8 tile loop (K = 64, data in L1), against the
// conv GEMM's 2 × 16 tile: cycles per four-lane term.
probes.init();
const K = 64, reps = 50_000;
console.log('');
console.log('| loop (K = 64, in L1) | ops per four-lane term | cycles per four-lane term |');
console.log('|---|---|---|');
const loops = [
  ['conv GEMM 2×16: acc + a·b', 'termGemm', 2, 8],
  ['adder dX 2×8: acc + dy·(w − x), no clamp', 'termNoClamp', 3, 4],
  ['… + min_s (the upper bound only)', 'termUpperOnly', 4, 4],
  ['… + min_s + min_u (the clamp, as shipped)', 'termClampBits', 5, 4],
  ['… the clamp as f32 pmin + pmax', 'termClampFp', 5, 4],
];
for (const [label, name, ops, termsPerK] of loops) {
  probes[name](100, K);
  const ms = time(probes[name], reps, K);
  console.log(`| ${label} | ${ops} | ${((ms * 1e6 * ghz) / (reps * K * termsPerK)).toFixed(2)} |`);
}
