#!/usr/bin/env node
// Write a random-weights LeNet-5-BN safetensors file (PyTorch-style keys) for testing the pipeline.
// Usage: node make-random-lenet.mjs [out.safetensors] [--seed N]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomLenetWeights } from './lib/lenet.mjs';
import { writeSafetensors } from './lib/safetensors.mjs';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log('Usage: node make-random-lenet.mjs [out.safetensors] [--seed N]\n' +
    'Writes random LeNet-5-BN weights (default out/lenet5-random.safetensors, seed 1).');
  process.exit(0);
}
const si = args.indexOf('--seed');
const seed = si >= 0 ? Number(args[si + 1]) : 1;
if (!Number.isInteger(seed)) { console.error('--seed must be an integer'); process.exit(2); }
const pos = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--seed');
const out = pos[0] ?? fileURLToPath(new URL('./out/lenet5-random.safetensors', import.meta.url));

fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
writeSafetensors(out, randomLenetWeights(seed), { model: 'lenet5', op: 'conv', source: 'bench/make-random-lenet.mjs', seed });
console.log(`wrote ${out} (seed ${seed})`);
