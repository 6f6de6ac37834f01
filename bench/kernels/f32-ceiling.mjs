// The per-core f32 SIMD ceiling on this machine: dotStreamF32 (assembly/gemm.ts) streams two
// L1-resident 8 KiB f32 arrays through f32x4.mul + f32x4.add into 8 accumulators, one thread
// (the core probe of ../lib/core-probe.mjs), so training throughput can be stated as a share of
// the same machine's ceiling.
//
//   node bench/kernels/f32-ceiling.mjs [--dist DIR] [--rounds 7] [--ms 300]
//
// GMAC/s = 10⁹ multiply-adds per second. Prints the median and the best of `rounds` samples, each
// the mean of calls over ≥ `ms` ms.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { probeCores } from '../lib/core-probe.mjs';
import { median, parseArgs } from '../lib/stats.mjs';

const opts = parseArgs(process.argv.slice(2));
const dist = path.resolve(opts.dist ?? process.env.MULFREE_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url)));
const rounds = Number(opts.rounds ?? 7), minMs = Number(opts.ms ?? 300);
const { initRuntime } = await import(pathToFileURL(path.join(dist, 'src/kernels/runtime.js')).href);
const rt = initRuntime({ threads: 1 });

probeCores(rt, 1, 200); // optimising tier
const samples = [];
for (let r = 0; r < rounds; r++) samples.push(probeCores(rt, 1, minMs));
console.log(`f32 dot ceiling, 1 thread: ${median(samples).toFixed(2)} GMAC/s median, ${Math.max(...samples).toFixed(2)} best (${rounds} samples of ≥ ${minMs} ms)`);
