import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { DataError } from "../src/data/errors.js";
import {
  CIFAR_PIXELS, CIFAR_RECORD, CIFAR10_NORMALIZATION, cifarFromBytes, encodeCifar, loadCifar, parseCifar, syntheticCifar, writeSyntheticCifar,
} from "../src/data/cifar.js";
import { expectOneLineError } from "./errors.js";

const dir = mkdtempSync(join(tmpdir(), "mulfree-cifar-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const expectDataError = (fn: () => unknown, ...patterns: RegExp[]) => expectOneLineError(fn, DataError, ...patterns);

test("a hand-made record: label byte, then R, G, B planes of 32×32", () => {
  const record = new Uint8Array(CIFAR_RECORD);
  record[0] = 3;
  record.fill(10, 1, 1 + 1024);
  record.fill(20, 1 + 1024, 1 + 2048);
  record.fill(30, 1 + 2048, 1 + 3072);
  record[1 + 5 * 32 + 7] = 255; // red (5, 7)
  const ds = cifarFromBytes([{ bytes: record, name: "one.bin" }], { normalize: false });
  assert.equal(ds.n, 1);
  assert.deepEqual(ds.shape, [3, 32, 32]);
  assert.deepEqual(Array.from(ds.labels), [3]);
  assert.equal(ds.images[0], Math.fround(10 / 255));
  assert.equal(ds.images[5 * 32 + 7], 1);
  assert.equal(ds.images[1024], Math.fround(20 / 255));
  assert.equal(ds.images[2048 + 1023], Math.fround(30 / 255));
  assert.deepEqual(ds.padValue, [0, 0, 0]);

  const norm = cifarFromBytes([{ bytes: record, name: "one.bin" }]);
  const f = Math.fround;
  CIFAR10_NORMALIZATION.mean.forEach((m, c) => {
    const raw = [10, 20, 30][c]!;
    assert.equal(norm.images[c * 1024 + 1], f(f(f(raw / 255) - f(m)) / f(CIFAR10_NORMALIZATION.std[c]!)));
    assert.equal(norm.padValue![c], f(f(-f(m)) / f(CIFAR10_NORMALIZATION.std[c]!)));
  });
});

test("encode/parse round trip; several files concatenate in order, gzipped or not", () => {
  const a = syntheticCifar(7, 1);
  const b = syntheticCifar(5, 2);
  const pa = parseCifar(a, "a");
  assert.equal(pa.n, 7);
  assert.deepEqual(encodeCifar(pa.pixels, pa.labels), a);
  const fa = join(dir, "data_batch_1.bin");
  const fb = join(dir, "data_batch_2.bin.gz");
  writeFileSync(fa, a);
  writeFileSync(fb, gzipSync(b));
  const ds = loadCifar([fa, fb], { normalize: false });
  assert.equal(ds.n, 12);
  const pb = parseCifar(b, "b");
  assert.deepEqual(Array.from(ds.labels), [...pa.labels, ...pb.labels]);
  for (let i = 0; i < 5 * CIFAR_PIXELS; i += 97) assert.equal(ds.images[7 * CIFAR_PIXELS + i], Math.fround(pb.pixels[i]! / 255));
  const limited = loadCifar(fa, { limit: 3 });
  assert.equal(limited.n, 3);
  assert.equal(limited.images.length, 3 * CIFAR_PIXELS);
});

test("synthetic CIFAR is deterministic, uses every class and is learnable by class means", () => {
  assert.deepEqual(syntheticCifar(40, 9), syntheticCifar(40, 9));
  assert.notDeepEqual(syntheticCifar(40, 9), syntheticCifar(40, 10));
  const path = join(dir, "synthetic.bin");
  writeSyntheticCifar(path, 300, 4);
  const ds = loadCifar(path);
  assert.equal(ds.n, 300);
  const seen = new Set(ds.labels);
  assert.equal(seen.size, 10);
  // Nearest class mean (fit on the first 200, tested on the last 100) separates the classes.
  const size = CIFAR_PIXELS;
  const means = Array.from({ length: 10 }, () => new Float64Array(size));
  const count = new Array(10).fill(0);
  for (let i = 0; i < 200; i++) {
    const l = ds.labels[i]!;
    count[l]++;
    for (let j = 0; j < size; j++) means[l]![j]! += ds.images[i * size + j]!;
  }
  means.forEach((m, l) => m.forEach((v, j) => (m[j] = v / Math.max(1, count[l]))));
  let correct = 0;
  for (let i = 200; i < 300; i++) {
    let best = -1, bestD = Infinity;
    for (let l = 0; l < 10; l++) {
      if (!count[l]) continue;
      let d = 0;
      for (let j = 0; j < size; j++) d += (ds.images[i * size + j]! - means[l]![j]!) ** 2;
      if (d < bestD) { bestD = d; best = l; }
    }
    if (best === ds.labels[i]) correct++;
  }
  assert.ok(correct >= 90, `nearest-mean accuracy ${correct}/100`);
});

test("CIFAR errors: size, labels, missing and empty files", () => {
  const good = syntheticCifar(2, 0);
  expectDataError(() => parseCifar(good.subarray(0, good.length - 1), "cut.bin"), /^cut\.bin: file size 6145 is not a multiple of the 3073-byte CIFAR-10 record \(1 whole records and 3072 bytes left over\)$/);
  expectDataError(() => parseCifar(new Uint8Array(3074 * 2), "c100.bin"), /^c100\.bin: .*looks like CIFAR-100/);
  const bad = good.slice();
  bad[CIFAR_RECORD] = 10;
  expectDataError(() => parseCifar(bad, "labels.bin"), /^labels\.bin: record 1 has label 10, CIFAR-10 labels are 0–9$/);
  expectDataError(() => parseCifar(new Uint8Array(0), "empty.bin"), /^empty\.bin: empty file/);
  const missing = join(dir, "data_batch_9.bin");
  expectDataError(() => loadCifar([missing]), new RegExp(`^CIFAR-10 file not found: ${missing}$`));
  expectDataError(() => loadCifar([]), /no CIFAR-10 files given/);
  const cut = join(dir, "cut.bin");
  writeFileSync(cut, good.subarray(0, 100));
  expectDataError(() => loadCifar(cut), new RegExp(`^${cut}: file size 100`));
  expectDataError(() => encodeCifar(new Uint8Array(10), [1]), /10 pixel bytes for 1 labels/);
  expectDataError(() => syntheticCifar(0), /positive number of records/);
});
