// The benchmark page (bench.html): mulfree's int8 AdderNet LeNet-5 (the demo's bundle, through
// mulfree/deploy) against onnxruntime-web's wasm backend on the fp32 LeNet-5 CNN, in this page, on
// the same pixels. Engines are interleaved (each repeat times every engine once, alternating the
// order) and the table shows medians. Query: ?ort=T (onnxruntime threads, fixed per page),
// &mulfree=1,2 (mulfree thread counts), &batches=1,256, &repeats=7, &ms=300 (per timing), &auto.
// window.__bench holds the state and results, and gives demo/scripts/bench.mjs the engines to time
// one repeat at a time.
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
  /** For demo/scripts/bench.mjs, which times one repeat at a time and watches the machine meanwhile. */
  engines?: () => Promise<Engines>;
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

type EngineName = BenchRow["engine"];

/** This page's engines, ready to time: the int8 AdderNet at each mulfree thread count, and onnxruntime-web. */
export class Engines {
  private readonly inputs = new Map<number, Float32Array>();
  private readonly warm = new Set<string>();

  private constructor(
    private readonly wasm: BufferSource,
    private readonly models: Map<number, Model>,
    private readonly ort: Awaited<ReturnType<typeof ortLeNet>>,
    private readonly ortThreads: number,
  ) {}

  static async create(p: BenchState["params"]): Promise<Engines> {
    const [manifest, wasm, onnx] = await Promise.all([fetchManifest(), fetchBytes("mulfree.wasm"), fetchBytes("assets/lenet5-random.onnx")]);
    const adder = manifest.models.find((m) => m.op === "adder");
    if (!adder) throw new Error("models.json lists no adder model");
    const bundle = await fetchBytes(`assets/${adder.file}`);
    const models = new Map(p.mulfreeThreads.map((t) => [t, load(bundle, { threads: t, wasm, name: adder.file })]));
    return new Engines(wasm, models, await ortLeNet(onnx, p.ortThreads), p.ortThreads);
  }

  /** Every engine of the page as [name, threads]. */
  list(): Array<[EngineName, number]> {
    return [...[...this.models.keys()].map((t): [EngineName, number] => ["mulfree-int8-adder", t]), ["ort-web-fp32-cnn", this.ortThreads]];
  }

  /** Images per second of one timing of at least `ms` (the first one for an engine and batch warms up before). */
  async sample(engine: EngineName, threads: number, batch: number, ms: number): Promise<number> {
    let x = this.inputs.get(batch);
    if (!x) this.inputs.set(batch, (x = pixels(batch, 784)));
    const input = x;
    let call: () => unknown;
    if (engine === "mulfree-int8-adder") {
      const model = this.models.get(threads);
      if (!model) throw new Error(`this page has no mulfree model on ${threads} threads`);
      // the pool follows the model's thread count; started workers need the event loop once
      await initRuntime({ threads, wasm: this.wasm }).whenReady();
      call = () => model.predict(input, batch);
    } else {
      if (threads !== this.ortThreads) throw new Error(`onnxruntime-web runs ${this.ortThreads} threads in this page`);
      call = () => this.ort.run(input, batch);
    }
    const key = `${engine}/${threads}/${batch}`;
    if (!this.warm.has(key)) {
      await throughput(call, batch, Math.min(500, 2 * ms));  // compiled paths, buffers, started threads
      this.warm.add(key);
    }
    await pause();
    return throughput(call, batch, ms);
  }

  dispose(): void {
    for (const m of this.models.values()) m.dispose();
  }
}

let engines: Promise<Engines> | undefined;
state.engines = () => (engines ??= Engines.create(state.params));

/** The page's own run: every engine once per repeat, in alternating order, medians as they come. */
async function run(): Promise<void> {
  const p = state.params;
  state.status = "running";
  state.rows = [];
  const e = await state.engines!();
  for (const batch of p.batches) {
    const rows = e.list().map(([engine, threads]): BenchRow => ({ engine, threads, batch, samples: [], median: NaN }));
    state.rows.push(...rows);
    for (let r = 0; r < p.repeats; r++) {
      for (const row of r % 2 ? [...rows].reverse() : rows) {
        row.samples.push(await e.sample(row.engine, row.threads, batch, p.minMs));
        row.median = median(row.samples);
        render();
      }
    }
  }
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
