// A/B of two builds' int8 adder conv kernels in one process, one thread: layer shapes of LeNet-5,
// ResNet-20 and `mobile` (its depthwise convs too), requantization fused (one raw-i32 row too). Rounds alternate A and B per
// layer; B ÷ A is the median of same-round ratios. Checks that both builds give the same bytes.
//
//   node bench/int8/ab-layers.mjs DIST_A DIST_B [--rounds 7] [--ms 150]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, parseArgs } from '../lib/stats.mjs';

const opts = parseArgs(process.argv.slice(2));
const [distA, distB] = opts._;
if (!distA || !distB) {
  console.error('usage: node bench/int8/ab-layers.mjs DIST_A DIST_B [--rounds 7] [--ms 150]');
  process.exit(2);
}
const rounds = Number(opts.rounds ?? 7), minMs = Number(opts.ms ?? 150);

async function side(dist) {
  const load = (p) => import(pathToFileURL(path.join(path.resolve(dist), p)).href);
  const { initRuntime } = await load('src/kernels/runtime.js');
  const { conv2dShape } = await load('src/kernels/conv2d.js');
  const int8 = await load('src/kernels/int8.js');
  const rt = initRuntime({ threads: 1 });
  const bytes = (n, seed) => {
    const v = rt.u8(rt.heap.alloc(n), n);
    let s = seed;
    for (let i = 0; i < n; i++) v[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    return v;
  };
  const layer = (label, s, fused = true) => {
    const ny = s.N * s.OH * s.OW * s.K, R = s.kh * s.kw * (s.C / s.groups);
    const x = bytes(s.N * s.H * s.W * s.C, 3);
    const w = int8.prepareAdderWeights(bytes(s.K * R, 4), s);
    const rq = int8.prepareRequant({ bias: new Int32Array(s.K).fill(-1000), mult: new Int32Array(s.K).fill(-12345), shift: new Uint8Array(s.K).fill(20), outZp: 0, lo: 0, hi: 255 }, s.K);
    const acc = rt.i32(rt.heap.alloc(ny * 4), ny), q = rt.u8(rt.heap.alloc(ny), ny);
    const run = fused ? () => int8.adderConvRequantU8(x, w, 7, rq, q, s) : () => int8.adderConvU8(x, w, 7, acc, s);
    return { label, run, pairs: ny * R, out: fused ? q : acc };
  };
  return [
    layer('LeNet-5 conv2, b256', conv2dShape([256, 6, 14, 14], [16, 6, 5, 5])),
    layer('LeNet-5 conv2, b256, raw i32', conv2dShape([256, 6, 14, 14], [16, 6, 5, 5]), false),
    layer('LeNet-5 fc2 (120 → 84), b256', conv2dShape([256, 120, 1, 1], [84, 120, 1, 1])),
    layer('ResNet-20 16 → 16 3×3 32², b8', conv2dShape([8, 16, 32, 32], [16, 16, 3, 3], { padding: 1 })),
    layer('ResNet-20 32 → 32 3×3 16², b8', conv2dShape([8, 32, 16, 16], [32, 32, 3, 3], { padding: 1 })),
    layer('mobile 1×1 32 → 64 32², b8', conv2dShape([8, 32, 32, 32], [64, 32, 1, 1])),
    layer('mobile 1×1 128 → 128 16², b8', conv2dShape([8, 128, 16, 16], [128, 128, 1, 1])),
    layer('mobile 1×1 256 → 256 8², b8', conv2dShape([8, 256, 8, 8], [256, 256, 1, 1])),
    layer('mobile dw 3×3 32 32², b8', conv2dShape([8, 32, 32, 32], [32, 1, 3, 3], { padding: 1, groups: 32 })),
    layer('mobile dw 3×3 128 16², b8', conv2dShape([8, 128, 16, 16], [128, 1, 3, 3], { padding: 1, groups: 128 })),
  ];
}

const A = await side(distA), B = await side(distB);
let differ = 0;
for (let i = 0; i < A.length; i++) {
  A[i].run();
  B[i].run();
  if (!A[i].out.every((v, j) => v === B[i].out[j])) { console.log(`OUTPUTS DIFFER: ${A[i].label}`); differ++; }
}
const time = (c) => { let it = 0; const t0 = performance.now(); do { c.run(); it++; } while (performance.now() - t0 < minMs); return (performance.now() - t0) / it; };
for (const c of [...A, ...B]) time(c);
const ratio = A.map(() => []), ga = A.map(() => []), gb = A.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < A.length; i++) {
    const ta = time(A[i]), tb = time(B[i]);
    ratio[i].push(ta / tb);
    ga[i].push(A[i].pairs / ta / 1e6);
    gb[i].push(B[i].pairs / tb / 1e6);
  }
}
for (let i = 0; i < A.length; i++) {
  console.log(`${A[i].label.padEnd(32)} A ${median(ga[i]).toFixed(1)} G|x−w|/s  B ${median(gb[i]).toFixed(1)}  B ÷ A ${median(ratio[i]).toFixed(3)}×`);
}
process.exit(differ ? 1 : 0);
