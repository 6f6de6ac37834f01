// The MNIST subset the page trains on (demo/scripts/make-mnist-subset.mjs writes it): gzipped IDX
// files, gunzipped by the browser and read by the library's own IDX reader, normalised as the CLI
// normalises MNIST.
import { parseIdx } from "../../../src/data/idx.js";
import { mnistFromIdx } from "../../../src/data/mnist.js";
import type { Dataset } from "../../../src/data/dataset.js";
import { SUBSET } from "./messages.js";

const files = (split: "train" | "test") => ({ images: `assets/mnist-${split}-${SUBSET[split]}-images.idx.gz`, labels: `assets/mnist-${split}-${SUBSET[split]}-labels.idx.gz` });

async function gunzip(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await new Response(res.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
}

async function split(files: { images: string; labels: string }): Promise<Dataset> {
  const [images, labels] = await Promise.all([gunzip(files.images), gunzip(files.labels)]);
  return mnistFromIdx(parseIdx(images, files.images), parseIdx(labels, files.labels), {}, files);
}

export async function loadSubset(): Promise<{ train: Dataset; test: Dataset }> {
  const [train, test] = await Promise.all([split(files("train")), split(files("test"))]);
  return { train, test };
}
