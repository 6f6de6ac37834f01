// What WebAssembly SIMD128 costs the int8 adder on this CPU: native inner loops (tiles.c: AVX2
// vpsadbw, SSE psadbw, the tile's min / pmaddubsw / add with and without V8's constant reloads, an fp32 FMA
// GEMM micro-kernel as MLAS runs it) against mulfree's wasm tile and SAD ceiling, all on one thread
// and L1-resident rows, interleaved round by round.
//
//   node bench/native/tiles.mjs [--dist DIR] [--rounds 5] [--ms 200]
//
// Needs gcc with AVX2 (bench-only: mulfree itself has no native code). Prints medians in G
// pairs/s (G multiply-adds/s for fma256) and each row ÷ fma256, and saves bench/results/native-tiles-*.json.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { markdownTable, median, parseArgs, saveResult } from '../lib/stats.mjs';

const opts = parseArgs(process.argv.slice(2));
const here = fileURLToPath(new URL('.', import.meta.url));
const dist = path.resolve(opts.dist ?? process.env.MULFREE_DIST ?? path.join(here, '../../dist'));
const rounds = Number(opts.rounds ?? 5);
const ms = Number(opts.ms ?? 200);

const flags = ['-O3', '-funroll-loops', '-mavx2', '-mfma'];
const binary = path.join(here, 'out', 'tiles');
fs.mkdirSync(path.dirname(binary), { recursive: true });
execFileSync('gcc', [...flags, '-o', binary, path.join(here, 'tiles.c')], { stdio: 'inherit' });

const { initRuntime } = await import(pathToFileURL(path.join(dist, 'src/kernels/runtime.js')).href);
const rt = initRuntime({ threads: 1 });
const STREAM = 8192, reps = 200;
const bytes = (n, seed) => {
  const v = rt.u8(rt.heap.alloc(n), n);
  let s = seed;
  for (let i = 0; i < n; i++) v[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return v;
};
const a = bytes(STREAM, 1), b = bytes(STREAM, 2), sink = rt.i32(rt.heap.alloc(64), 16);
const wasm = {
  'wasm tile2x4 (min form)': { run: () => rt.kernels.minTileStreamU8(a.byteOffset, b.byteOffset, 1024, reps, sink.byteOffset), elems: 8 * 1024 * reps },
  'wasm SAD ceiling (sub_sat, or)': { run: () => rt.kernels.sadStreamU8(a.byteOffset, b.byteOffset, STREAM, reps, sink.byteOffset), elems: STREAM * reps },
};
const NATIVE = {
  sad256: 'native vpsadbw ymm (AVX2)',
  sad128: 'native psadbw xmm (SSE2)',
  min128: 'native min / pmaddubsw / add xmm (the tile\'s instructions)',
  min128v8: 'the same, ones reloaded per widening (V8\'s lowering)',
  fma256: 'native fp32 FMA ymm, 6×16 GEMM tile (MLAS-like)',
};

function timeWasm(row) {
  let calls = 0;
  const t0 = performance.now();
  do { row.run(); calls++; } while (performance.now() - t0 < ms);
  return (row.elems * calls) / ((performance.now() - t0) * 1e6);
}

for (const row of Object.values(wasm)) { const t = performance.now(); while (performance.now() - t < 100) row.run(); }
const samples = {};
const push = (name, v) => (samples[name] ??= []).push(v);
for (let r = 0; r < rounds; r++) {
  for (const line of execFileSync(binary, [String(ms)], { encoding: 'utf8' }).trim().split('\n')) {
    const j = JSON.parse(line);
    push(NATIVE[j.name], j.elems / j.ns);
  }
  for (const [name, row] of Object.entries(wasm)) push(name, timeWasm(row));
}

const fma = median(samples[NATIVE.fma256]);
const rows = Object.entries(samples).map(([name, s]) => [name, median(s).toFixed(1), `${Math.min(...s).toFixed(1)}–${Math.max(...s).toFixed(1)}`, (median(s) / fma).toFixed(2)]);
console.log(markdownTable(['loop (one thread, L1 rows)', 'G pairs/s (G MAC/s), median', 'range', '÷ native fp32 FMA'], rows));
const file = saveResult('native-tiles', { rounds, ms, gccFlags: flags, medians: Object.fromEntries(Object.entries(samples).map(([k, s]) => [k, median(s)])), samples });
console.log(`saved ${path.relative(process.cwd(), file)}`);
