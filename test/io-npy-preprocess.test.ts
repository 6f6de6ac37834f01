// .npy arrays and picture preprocessing: the two inputs of `mulfree predict`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { borderMean, pictureToInput } from "../src/data/preprocess.js";
import { IoError } from "../src/io/errors.js";
import { encodeNpy, parseNpy } from "../src/io/npy.js";

test(".npy: float32 arrays round-trip; other dtypes, Fortran order and bad sizes are refused by name", () => {
  const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i / 7 - 1);
  const back = parseNpy(encodeNpy([2, 3, 4], data), "x.npy");
  assert.deepEqual(back.shape, [2, 3, 4]);
  assert.deepEqual(back.data, data);
  assert.deepEqual(parseNpy(encodeNpy([5], data.subarray(0, 5)), "v.npy").shape, [5]);
  const text = (b: Uint8Array) => new TextDecoder("latin1").decode(b);
  const swap = (from: string, to: string) => {
    const b = encodeNpy([2, 3, 4], data);
    const s = text(b).replace(from, to);
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  };
  assert.throws(() => parseNpy(swap("<f4", "<f8"), "d.npy"), (e: unknown) => e instanceof IoError && /d\.npy: holds <f8 values; save a float32 array/.test((e as Error).message));
  assert.throws(() => parseNpy(swap("False", "True "), "f.npy"), /f\.npy: is in Fortran order/);
  assert.throws(() => parseNpy(encodeNpy([2, 3, 4], data).subarray(0, 150), "t.npy"), /t\.npy: shape \(2, 3, 4\) needs 96 data bytes, the file has 22/);
  assert.throws(() => parseNpy(new Uint8Array([1, 2, 3]), "r.npy"), /r\.npy: not a \.npy file/);
});

function picture(w: number, h: number, f: (x: number, y: number) => [number, number, number, number]) {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), 4 * (y * w + x));
  return { width: w, height: h, data };
}

test("pictures: same size is x/255 of the grey level; shrinking averages areas; alpha over black; invert", () => {
  const grey = picture(28, 28, (x, y) => [(x * 9) % 256, (x * 9) % 256, (x * 9) % 256, y === 0 ? 0 : 255]);
  const x = pictureToInput(grey, [1, 28, 28]);
  assert.ok(Math.abs(x[28 + 3]! - 27 / 255) < 1e-6, `grey level 27 → ${x[28 + 3]}`);
  assert.equal(x[3], 0, "transparent pixels are black");
  // 56×56 of 2×2 blocks → each output pixel is its block's mean
  const blocks = picture(56, 56, (x, y) => { const v = ((x >> 1) + (y >> 1)) % 2 ? 200 : 100; return [v, v, v, 255]; });
  const small = pictureToInput(blocks, [1, 28, 28]);
  assert.ok(Math.abs(small[0]! - 100 / 255) < 1e-6 && Math.abs(small[1]! - 200 / 255) < 1e-6);
  // a 3×3 upscale interpolates between neighbours and stays in [0, 1]
  const tiny = pictureToInput(picture(3, 3, (x) => [x * 127, x * 127, x * 127, 255]), [1, 6, 6]);
  assert.ok(tiny.every((v) => v >= 0 && v <= 1));
  assert.ok(tiny[0]! <= tiny[1]! && tiny[1]! <= tiny[2]!);
  const inv = pictureToInput(grey, [1, 28, 28], { invert: true });
  assert.ok(Math.abs(inv[28 + 3]! - (1 - x[28 + 3]!)) < 1e-7);
  // RGB keeps the channels apart
  const rgb = pictureToInput(picture(4, 4, () => [255, 0, 51, 255]), [3, 4, 4]);
  assert.deepEqual([rgb[0], rgb[16], rgb[32]], [1, 0, Math.fround(0.2)]);
  assert.ok(borderMean(pictureToInput(picture(10, 10, () => [250, 250, 250, 255]), [1, 10, 10]), [1, 10, 10]) > 0.9);
  assert.throws(() => pictureToInput({ width: 2, height: 2, data: new Uint8Array(3) }, [1, 4, 4]), /needs 16 bytes, got 3/);
});
