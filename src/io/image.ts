// PNG and JPEG files to RGBA pixels (pngjs and jpeg-js: pure JavaScript, loaded on first use).
// Node only: a browser decodes images itself (an <img> drawn on a canvas gives ImageData).
import { nodeBuiltin } from "../kernels/runtime.js";
import { IoError } from "./errors.js";

export interface RgbaImage {
  width: number;
  height: number;
  /** width × height × 4 bytes, row-major RGBA. */
  data: Uint8Array;
}

/** The largest image accepted (pixels): a decoder must not be made to allocate gigabytes. */
const MAX_PIXELS = 64 * 1024 * 1024;

function requireModule<T>(id: string): T {
  const mod = nodeBuiltin<typeof import("node:module")>("node:module");
  if (!mod) throw new IoError("decoding image files needs Node; in a browser draw the image on a canvas");
  return mod.createRequire(import.meta.url)(id) as T;
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
}

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Decode a PNG or JPEG (told apart by their magic numbers). */
export function decodeImage(bytes: Uint8Array, name = "image"): RgbaImage {
  let image: RgbaImage;
  try {
    if (isPng(bytes)) {
      const { PNG } = requireModule<typeof import("pngjs")>("pngjs");
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      image = { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    } else if (isJpeg(bytes)) {
      const jpeg = requireModule<typeof import("jpeg-js")>("jpeg-js");
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
      image = { width: img.width, height: img.height, data: img.data };
    } else {
      throw new IoError(`${name}: not a PNG or JPEG image`);
    }
  } catch (e) {
    if (e instanceof IoError) throw e;
    throw new IoError(`${name}: cannot decode the image (${(e as Error).message.split("\n")[0]!.slice(0, 100)})`);
  }
  if (image.width < 1 || image.height < 1 || image.width * image.height > MAX_PIXELS) throw new IoError(`${name}: unsupported image size ${image.width}×${image.height}`);
  return image;
}
