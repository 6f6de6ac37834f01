import { test } from "node:test";
import assert from "node:assert/strict";
import { cropFlip, CIFAR_AUGMENT } from "../src/data/augment.js";
import type { Dataset } from "../src/data/dataset.js";
import { DataError } from "../src/data/errors.js";
import { DataLoader, type LoaderOptions, type LoaderState } from "../src/data/loader.js";
import { permutation, Rng } from "../src/tensor/random.js";

/** A dataset whose sample i has label i and pixel values i + j/1000, so order and content are visible. */
function indexed(n: number, shape: [number, number, number] = [2, 5, 6]): Dataset {
  const size = shape[0] * shape[1] * shape[2];
  const images = new Float32Array(n * size);
  for (let i = 0; i < n; i++) for (let j = 0; j < size; j++) images[i * size + j] = i + j / 1000;
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i), n, shape, padValue: [-7, -9, -11].slice(0, shape[0]) };
}

/** Labels and images of the next `count` batches, copied out of the shared buffers. */
function take(loader: DataLoader, count: number): Array<{ labels: number[]; images: Float32Array }> {
  const { images, labels } = loader.allocBatch();
  const out = [];
  while (out.length < count) {
    const b = loader.next(images, labels);
    if (b === 0) continue;
    out.push({ labels: Array.from(labels.subarray(0, b)), images: images.slice(0, b * loader.sampleSize) });
  }
  return out;
}

function epochLabels(loader: DataLoader): number[] {
  const { images, labels } = loader.allocBatch();
  const out: number[] = [];
  for (const b of loader.batches(images, labels)) out.push(...labels.subarray(0, b));
  return out;
}

test("xoshiro128** matches the reference C implementation", () => {
  const r = Rng.fromState([1, 2, 3, 4]);
  assert.deepEqual(Array.from({ length: 6 }, () => r.nextU32()), [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  r.jump();
  assert.deepEqual(Array.from({ length: 3 }, () => r.nextU32()), [2327035934, 1140626159, 913312880]);
  // SplitMix64 seeding, as recommended by the authors
  const s = Rng.fromSeed(42);
  assert.deepEqual(s.state(), [803958421, 3184996902, 2993090819, 686809907]);
  assert.deepEqual(Array.from({ length: 4 }, () => s.nextU32()), [1776835114, 4165204688, 17111135, 2317295270]);
});

test("RNG: state round trip, ranges, rough uniformity", () => {
  const a = Rng.fromSeed(7);
  for (let i = 0; i < 10; i++) a.nextU32();
  const b = Rng.fromState(JSON.parse(JSON.stringify(a.state())));
  for (let i = 0; i < 100; i++) assert.equal(a.nextU32(), b.nextU32());
  const hist = new Array(7).fill(0);
  for (let i = 0; i < 70000; i++) {
    const k = a.nextInt(7);
    assert.ok(k >= 0 && k < 7);
    hist[k]++;
    const f = a.nextFloat();
    assert.ok(f >= 0 && f < 1);
  }
  for (const h of hist) assert.ok(Math.abs(h - 10000) < 500, `histogram ${hist}`);
  assert.throws(() => Rng.fromState([0, 0, 0, 0]), /invalid RNG state/);
  assert.throws(() => Rng.fromState([1, 2, 3]), /invalid RNG state/);
  assert.throws(() => Rng.fromSeed(0.5), /seed must be an integer/);
  const p = permutation(Rng.fromSeed(1), new Int32Array(1000));
  assert.deepEqual(Array.from(p).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
});

test("same seed, same order; different seed, different order; a new order every epoch", () => {
  const ds = indexed(103);
  const opts: LoaderOptions = { batchSize: 10, seed: 5 };
  const a = new DataLoader(ds, opts), b = new DataLoader(ds, opts), c = new DataLoader(ds, { ...opts, seed: 6 });
  const a0 = epochLabels(a), b0 = epochLabels(b), c0 = epochLabels(c);
  assert.deepEqual(a0, b0);
  assert.notDeepEqual(a0, c0);
  assert.deepEqual([...a0].sort((x, y) => x - y), Array.from({ length: 103 }, (_, i) => i));
  assert.equal(a.epoch, 1);
  const a1 = epochLabels(a);
  assert.notDeepEqual(a0, a1);
  assert.deepEqual(a1, epochLabels(b));
  assert.deepEqual([...a1].sort((x, y) => x - y), Array.from({ length: 103 }, (_, i) => i));
});

test("batches: sizes, drop-last, no shuffle, image contents follow labels", () => {
  const ds = indexed(23);
  const seq = new DataLoader(ds, { batchSize: 5, shuffle: false });
  assert.equal(seq.batchesPerEpoch, 5);
  const { images, labels } = seq.allocBatch();
  const sizes: number[] = [];
  for (const b of seq.batches(images, labels)) {
    sizes.push(b);
    for (let i = 0; i < b; i++) assert.equal(images[i * seq.sampleSize + 3], Math.fround(labels[i]! + 3 / 1000));
  }
  assert.deepEqual(sizes, [5, 5, 5, 5, 3]);
  assert.equal(seq.epoch, 1);
  assert.deepEqual(epochLabels(seq), Array.from({ length: 23 }, (_, i) => i));

  const drop = new DataLoader(ds, { batchSize: 5, dropLast: true, seed: 3 });
  assert.equal(drop.batchesPerEpoch, 4);
  const got = epochLabels(drop);
  assert.equal(got.length, 20);
  assert.equal(new Set(got).size, 20);
  assert.equal(drop.epoch, 1);
  assert.equal(drop.position, 0);

  assert.throws(() => new DataLoader(ds, { batchSize: 30, dropLast: true }), (e: unknown) => e instanceof DataError && /23 samples, too few for one batch of 30/.test(e.message));
  assert.throws(() => new DataLoader(ds, { batchSize: 0 }), DataError);
  assert.throws(() => seq.next(new Float32Array(10), new Int32Array(5)), RangeError);
});

for (const augment of [null, CIFAR_AUGMENT]) {
  test(`resume from a JSON state mid-epoch reproduces the remaining batches (augment: ${augment !== null})`, () => {
    const ds = indexed(37, [2, 6, 6]);
    const opts: LoaderOptions = { batchSize: 4, seed: 11, augment };
    const a = new DataLoader(ds, opts);
    take(a, 13); // one full epoch (10 batches) and 3 batches into the second
    assert.equal(a.epoch, 1);
    assert.equal(a.position, 12);
    const saved = JSON.stringify(a.state());
    const expected = take(a, 25); // crosses two more epoch boundaries

    const b = new DataLoader(ds, opts);
    take(b, 2); // a different position: restore must override it
    b.restore(JSON.parse(saved) as LoaderState);
    assert.equal(b.epoch, 1);
    assert.equal(b.position, 12);
    const got = take(b, 25);
    assert.deepEqual(got, expected);
  });
}

test("resume at an epoch boundary, and mismatched states are refused", () => {
  const ds = indexed(20);
  const a = new DataLoader(ds, { batchSize: 5, seed: 2 });
  epochLabels(a);
  const state = a.state();
  assert.equal(state.epoch, 1);
  assert.equal(state.position, 0);
  const next = epochLabels(a);
  const b = new DataLoader(ds, { batchSize: 5, seed: 999 });
  b.restore(state);
  assert.deepEqual(epochLabels(b), next);

  const refuse = (loader: DataLoader, s: LoaderState, re: RegExp) =>
    assert.throws(() => loader.restore(s), (e: unknown) => e instanceof DataError && re.test(e.message));
  refuse(new DataLoader(ds, { batchSize: 4 }), state, /saved batchSize is 5, this loader has 4/);
  refuse(new DataLoader(indexed(21), { batchSize: 5 }), state, /saved state is for 20 samples, this dataset has 21/);
  refuse(new DataLoader(ds, { batchSize: 5, augment: CIFAR_AUGMENT }), state, /saved augmentation null differs/);
  refuse(b, { ...state, shuffleRng: [0, 0, 0, 0] }, /invalid RNG state/);
  refuse(b, { ...state, position: 21 }, /invalid position 21/);
  // Options given in another key order still match.
  const c = new DataLoader(ds, { batchSize: 5, augment: { flip: true, cropPadding: 4 } });
  new DataLoader(ds, { batchSize: 5, augment: CIFAR_AUGMENT }).restore(JSON.parse(JSON.stringify(c.state())) as LoaderState);
});

/** Straightforward reference: pad into a larger image, crop, then flip. */
function cropFlipReference(img: Float32Array, c: number, h: number, w: number, p: number, dy: number, dx: number, flip: boolean, fill: number[]): Float32Array {
  const H = h + 2 * p, W = w + 2 * p;
  const padded = new Float32Array(c * H * W);
  for (let ch = 0; ch < c; ch++) {
    padded.fill(fill[ch]!, ch * H * W, (ch + 1) * H * W);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) padded[ch * H * W + (y + p) * W + x + p] = img[ch * h * w + y * w + x]!;
  }
  const out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = padded[ch * H * W + (y + dy) * W + x + dx]!;
        out[ch * h * w + y * w + (flip ? w - 1 - x : x)] = v;
      }
    }
  }
  return out;
}

test("crop + flip matches the pad-crop-flip reference for every offset", () => {
  const r = Rng.fromSeed(3);
  for (const [c, h, w, p] of [[3, 5, 7, 2], [1, 4, 4, 4], [2, 3, 8, 5], [3, 6, 6, 0]] as const) {
    const img = Float32Array.from({ length: c * h * w }, () => r.nextFloat());
    const fill = [-1, -2, -3];
    for (let dy = 0; dy <= 2 * p; dy++) {
      for (let dx = 0; dx <= 2 * p; dx++) {
        for (const flip of [false, true]) {
          const dst = new Float32Array(c * h * w + 4).fill(99);
          cropFlip(img, 0, dst, 2, c, h, w, p, dy, dx, flip, fill);
          assert.deepEqual(dst.subarray(2, 2 + c * h * w), cropFlipReference(img, c, h, w, p, dy, dx, flip, fill), `c${c} h${h} w${w} p${p} dy${dy} dx${dx} flip${flip}`);
          assert.equal(dst[0], 99);
          assert.equal(dst[c * h * w + 2], 99);
        }
      }
    }
  }
});

test("augmentation is deterministic, varies with the seed and leaves the shuffle order alone", () => {
  const ds = indexed(50, [3, 8, 8]);
  const base: LoaderOptions = { batchSize: 8, seed: 21, augment: CIFAR_AUGMENT };
  const a = take(new DataLoader(ds, base), 12);
  const b = take(new DataLoader(ds, base), 12);
  assert.deepEqual(a, b);
  const plain = take(new DataLoader(ds, { ...base, augment: null }), 12);
  assert.deepEqual(a.map((x) => x.labels), plain.map((x) => x.labels));
  assert.notDeepEqual(a.map((x) => x.images), plain.map((x) => x.images));
  const other = new DataLoader(ds, { batchSize: 8, seed: 22, augment: CIFAR_AUGMENT });
  other.restore({ ...new DataLoader(ds, base).state(), augmentRng: other.state().augmentRng });
  const c = take(other, 12);
  assert.deepEqual(c.map((x) => x.labels), a.map((x) => x.labels));
  assert.notDeepEqual(c.map((x) => x.images), a.map((x) => x.images));
  // padding 0 and no flip is the identity
  const id = take(new DataLoader(ds, { ...base, augment: { cropPadding: 0, flip: false } }), 3);
  assert.deepEqual(id, take(new DataLoader(ds, { ...base, augment: null }), 3));
  // Padded pixels take the dataset's per-channel pad value.
  let sawPad = false;
  for (const batch of a) for (const v of batch.images) if (v === -7 || v === -9 || v === -11) sawPad = true;
  assert.ok(sawPad);
});
