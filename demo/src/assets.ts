// What the demo downloads: the kernels, the three bundles and demo/assets/models.json, written by
// demo/scripts/make-models.mjs (accuracies and the `mulfree ops --json` report of each bundle).

/** Totals of `mulfree ops --json` for one image of the integer graph. */
export interface OpsTotals {
  mults: number;
  adds: number;
  shifts: number;
  compares: number;
  energyPJ: number;
  weightBytes: number;
}

export interface ModelInfo {
  id: string;
  label: string;
  op: string;
  file: string;
  bytes: number;
  floatAccuracy: number;
  int8Accuracy: number;
  testImages: number;
  ops: { total: OpsTotals; energySource: string };
}

export interface Manifest {
  made: string;
  command: string;
  models: ModelInfo[];
}

export async function fetchBytes(url: string): Promise<Uint8Array<ArrayBuffer>> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function fetchManifest(url = "assets/models.json"): Promise<Manifest> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as Manifest;
}
