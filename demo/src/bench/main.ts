// The benchmark page (bench.html): mulfree's int8 AdderNet LeNet-5 (the demo's bundle, through
// mulfree/deploy) against onnxruntime-web's wasm backend on the fp32 LeNet-5 CNN, in this page, on
// the same pixels. Engines are interleaved (each repeat times every engine once, alternating the
// order) and the table shows medians. Query: ?ort=T (onnxruntime threads, fixed per page),
// &mulfree=1,2 (mulfree thread counts), &batches=1,256, &repeats=7, &ms=300 (per timing), &auto.
// window.__bench holds the state and results for demo/scripts/bench.mjs.
import { load, type Model } from "../../../src/deploy/index.js";
import { initRuntime } from "../../../src/kernels/runtime.js";
import { fetchBytes, fetchManifest } from "../assets.js";
import { byId, el } from "../dom.js";
import { formatThousands, median } from "../stats.js";
import { pause, pixels, throughput } from "./measure.js";
import { ortLeNet } from "./ort.js";

export interface BenchRow {
  engine: "mulfree-int8-adder" | "ort-web-fp32-cnn";
  threads: number;
  batch: number;
  /** Images per second of each repeat. */
  samples: number[];
  median: number;
}

interface BenchState {
  status: "idle" | "running" | "done" | "error";
  params: ReturnType<typeof readParams>;
  env: { isolated: boolean; cores: number; userAgent: string };
  rows: BenchRow[];
  error?: string;
}

function readParams() {
  const q = new URLSearchParams(location.search);
  const list = (k: string, d: string) => (q.get(k) ?? d).split(",").map(Number);
  const ort = Number(q.get("ort") ?? 1);
  return { ortThreads: ort, mulfreeThreads: list("mulfree", String(ort)), batches: list("batches", "1,256"), repeats: Number(q.get("repeats") ?? 7), minMs: Number(q.get("ms") ?? 300), auto: q.has("auto") };
}

const state: BenchState = {
  status: "idle", params: readParams(), rows: [],
  env: { isolated: globalThis.crossOriginIsolated === true, cores: navigator.hardwareConcurrency, userAgent: navigator.userAgent },
};
(globalThis as { __bench?: BenchState }).__bench = state;

interface Engine {
  row: BenchRow;
  /** Make this engine's threads ready (mulfree's pool follows the model's thread count). */
  prepare(): Promise<void>;
  call(): unknown;
}

async function run(): Promise<void> {
  const p = state.params;
  state.status = "running";
  state.rows = [];
  const [manifest, wasm, onnx] = await Promise.all([fetchManifest(), fetchBytes("mulfree.wasm"), fetchBytes("assets/lenet5-random.onnx")]);
  const adder = manifest.models.find((m) => m.op === "adder");
  if (!adder) throw new Error("models.json lists no adder model");
  const bundle = await fetchBytes(`assets/${adder.file}`);
  const models = new Map<number, Model>(p.mulfreeThreads.map((t) => [t, load(bundle, { threads: t, wasm, name: adder.file })]));
  const ort = await ortLeNet(onnx, p.ortThreads);

  for (const batch of p.batches) {
    const x = pixels(batch, 784);
    const engines: Engine[] = [
      ...p.mulfreeThreads.map((t): Engine => ({
        row: { engine: "mulfree-int8-adder", threads: t, batch, samples: [], median: NaN },
        prepare: () => initRuntime({ threads: t, wasm }).whenReady(),
        call: () => models.get(t)!.predict(x, batch),
      })),
      { row: { engine: "ort-web-fp32-cnn", threads: p.ortThreads, batch, samples: [], median: NaN }, prepare: async () => {}, call: () => ort.run(x, batch) },
    ];
    state.rows.push(...engines.map((e) => e.row));
    for (const e of engines) {
      await e.prepare();
      await throughput(e.call, batch, Math.min(500, 2 * p.minMs));  // warm-up: compiled paths, buffers, started threads
    }
    for (let r = 0; r < p.repeats; r++) {
      for (const e of r % 2 ? [...engines].reverse() : engines) {
        await e.prepare();
        await pause();
        e.row.samples.push(await throughput(e.call, batch, p.minMs));
        e.row.median = median(e.row.samples);
        render();
      }
    }
  }
  for (const m of models.values()) m.dispose();
  state.status = "done";
  render();
}

const fmt = (x: number) => (Number.isFinite(x) ? formatThousands(x) : "…");

function render(): void {
  const head = el("tr", {}, ...["engine", "threads", "batch", "images / s (median)", "repeats"].map((h) => el("th", {}, h)));
  const rows = state.rows.map((r) => el("tr", { class: r.engine }, el("td", {}, r.engine === "mulfree-int8-adder" ? "mulfree int8 AdderNet" : "onnxruntime-web fp32 CNN"), el("td", {}, String(r.threads)), el("td", {}, String(r.batch)), el("td", { class: "num" }, fmt(r.median)), el("td", { class: "num" }, String(r.samples.length))));
  byId("bench-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
  byId("bench-status").textContent = state.status === "done" ? "Done." : state.status === "running" ? "Running… (keep this tab in front)" : state.error ? `Failed: ${state.error}` : "";
}

function start(): void {
  const button = byId<HTMLButtonElement>("bench-run");
  button.disabled = true;
  run()
    .catch((e: unknown) => {
      state.status = "error";
      state.error = e instanceof Error ? e.message : String(e);
      render();
    })
    .finally(() => (button.disabled = false));
}

byId("bench-params").textContent = `onnxruntime-web threads ${state.params.ortThreads}; mulfree threads ${state.params.mulfreeThreads.join(", ")}; batches ${state.params.batches.join(", ")}; ${state.params.repeats} repeats of ≥ ${state.params.minMs} ms; cross-origin isolated: ${state.env.isolated ? "yes" : "no"}.`;
byId("bench-run").addEventListener("click", start);
if (state.params.auto) start();
