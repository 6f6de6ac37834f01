// A/B of two builds on a whole int8 model in one process: a bundle file, or a zoo model's bundle
// exported once by build A (as bench/int8/zoo.mjs does: zoo-models.mjs). Then each build's
// load(bundle).predict runs it at one batch size and thread count. Rounds alternate A and B; B ÷ A
// is the median of same-round img/s ratios. Checks both builds give the same logits (and says
// whether they vary between images: if not, that check proves little).
//
//   node bench/int8/ab-zoo.mjs DIST_A DIST_B [--model mobile | --bundle FILE] [--batch 64] [--threads 1] [--rounds 9] [--ms 400]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, parseArgs } from '../lib/stats.mjs';
import { randomImages, zooModels } from './zoo-models.mjs';

const opts = parseArgs(process.argv.slice(2));
const [distA, distB] = opts._;
if (!distA || !distB) {
  console.error('usage: node bench/int8/ab-zoo.mjs DIST_A DIST_B [--model mobile | --bundle FILE] [--batch 64] [--threads 1] [--rounds 9] [--ms 400]');
  process.exit(2);
}
const name = opts.model ?? 'mobile', batch = Number(opts.batch ?? 64), threads = Number(opts.threads ?? 1);
const rounds = Number(opts.rounds ?? 9), minMs = Number(opts.ms ?? 400);
const loader = (dist) => (p) => import(pathToFileURL(path.join(path.resolve(dist), p)).href);

// a bundle file (e.g. a trained model from `mulfree export`), or the zoo model's random bundle
async function zooBundle() {
  const zoo = await zooModels(distA);
  return zoo.adderBundle(name, zoo.inputShape(name));
}
const bundle = opts.bundle ? new Uint8Array(readFileSync(opts.bundle)) : await zooBundle();
const label = opts.bundle ? path.basename(opts.bundle) : name;
const sides = [];
for (const dist of [distA, distB]) {
  const deploy = await loader(dist)('src/deploy/index.js');
  sides.push({ m: deploy.load(bundle, { threads, name: label }) });
}
const [C, H, W] = sides[0].m.inputShape;
const pixels = randomImages(batch, C * H * W, 11);
for (const s of sides) s.logits = s.m.predict(pixels, batch).logits.slice();
// a check only if the logits depend on the input (a degenerate model gives the same for every image)
const classes = sides[0].m.classes;
const varies = sides[0].logits.some((v, i) => v !== sides[0].logits[i % classes]);
const same = sides[0].logits.length === sides[1].logits.length && sides[0].logits.every((v, i) => Object.is(v, sides[1].logits[i]));
const time = (m) => {
  let it = 0;
  const t0 = performance.now();
  do { m.predict(pixels, batch); it++; } while (performance.now() - t0 < minMs);
  return (it * batch) / ((performance.now() - t0) / 1000);
};
for (const s of sides) time(s.m);
const a = [], b = [], ratio = [];
for (let r = 0; r < rounds; r++) {
  const ia = time(sides[0].m), ib = time(sides[1].m);
  a.push(ia); b.push(ib); ratio.push(ib / ia);
}
console.log(`${label}, batch ${batch}, ${threads} thread(s), ${rounds} rounds: A ${median(a).toFixed(0)} img/s  B ${median(b).toFixed(0)} img/s  B ÷ A ${median(ratio).toFixed(3)}× (rounds ${Math.min(...ratio).toFixed(3)}–${Math.max(...ratio).toFixed(3)})  logits ${same ? 'identical' : 'DIFFER'}${varies ? ' (and they vary between images)' : ' (WARNING: the same for every image, so this check proves little)'}`);
process.exit(same ? 0 : 1);
