// The demo page: draw a digit and watch three int8 LeNet-5s (CNN, AdderNet, DeepShift) classify it
// as you draw; train an AdderNet in the tab. Also exposes window.__mulfree, a debug object the
// browser test reads (the exact logits, the time of the first prediction, the training state).
import { fetchBytes, fetchManifest } from "./assets.js";
import { byId } from "./dom.js";
import { DrawPad } from "./draw_pad.js";
import { showInput } from "./input_preview.js";
import { ModelCard, costScale } from "./model_card.js";
import { Predictor, type Result } from "./predictor.js";
import { SAMPLE_STROKES } from "./sample_digit.js";
import { TrainingPanel, type TrainingState } from "./train/panel.js";

export interface DebugApi {
  /** ms from navigation start to the first prediction on the screen. */
  firstPredictionMs?: number;
  /** ms from navigation start to: the kernels and bundles downloaded, the models loaded and run once. */
  timings: { downloaded?: number; loaded?: number };
  /** The latest result of each model, by model id. */
  predictions: Record<string, Result>;
  /** Predict from the canvas now (instead of at the next animation frame). */
  predictNow(): void;
  /** The drawing as a PNG data URL: lossless, the pixels the models read. */
  canvasPng(): string;
  training?: TrainingState;
  error?: string;
}

const debug: DebugApi = { timings: {}, predictions: {}, predictNow: () => {}, canvasPng: () => "" };
(globalThis as { __mulfree?: DebugApi }).__mulfree = debug;

async function boot(): Promise<void> {
  const [manifest, wasm] = await Promise.all([fetchManifest(), fetchBytes("mulfree.wasm")]);
  const bundles = await Promise.all(manifest.models.map((m) => fetchBytes(`assets/${m.file}`)));
  debug.timings.downloaded = performance.now();
  const predictors = manifest.models.map((m, i) => new Predictor(m, bundles[i]!, wasm));
  for (const p of predictors) p.warmUp();
  debug.timings.loaded = performance.now();
  const shape = predictors[0]!.inputShape;
  if (predictors.some((p) => p.inputShape.join() !== shape.join())) throw new Error("the demo's models take inputs of different shapes");

  const scale = costScale(manifest.models);
  const cards = predictors.map((p) => new ModelCard(p.info, scale, p.classes));
  byId("cards").replaceChildren(...cards.map((c) => c.element));
  const preview = byId<HTMLCanvasElement>("input-preview");
  const board = byId("board");

  const predictAll = () => {
    board.classList.toggle("empty", !pad.inked);
    // one input for all: the models share the input shape, and pictureToInput is deterministic
    const input = predictors[0]!.input(pad.picture());
    showInput(preview, input, shape);
    if (!pad.inked) return;
    predictors.forEach((p, i) => {
      const r = p.predict(input);
      debug.predictions[p.info.id] = r;
      cards[i]!.show(r);
    });
  };
  const pad = new DrawPad(byId<HTMLCanvasElement>("pad"), predictAll);
  byId("clear").addEventListener("click", () => {
    pad.clear();
    predictAll();
  });
  debug.predictNow = predictAll;
  debug.canvasPng = () => pad.canvas.toDataURL("image/png");

  pad.drawStrokes(SAMPLE_STROKES);
  predictAll();
  debug.firstPredictionMs = performance.now();
  byId("first-prediction").textContent = `First prediction ${Math.round(debug.firstPredictionMs)} ms after the page started loading.`;

  debug.training = new TrainingPanel().state;
  // latency as a running app sees it: warm the kernels while the page is idle, then measure again
  whenIdle(() => {
    for (const p of predictors) p.warmUp(40);
    predictAll();
  });
  registerServiceWorker();
}

/** requestIdleCallback where the browser has it (Safari does not), else a short delay. */
const whenIdle = (f: () => void) => ("requestIdleCallback" in globalThis ? requestIdleCallback(f) : setTimeout(f, 200));

/** Offline use: the service worker keeps every file of this page (sw.ts). Registered after the first prediction so it never delays it. */
function registerServiceWorker(): void {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("sw.js").catch((e: unknown) => console.warn(`mulfree demo: no offline copy (${e instanceof Error ? e.message : String(e)})`));
}

boot().catch((e: unknown) => {
  const message = e instanceof Error ? e.message : String(e);
  debug.error = message;
  const banner = byId("error");
  banner.textContent = `The demo could not start: ${message}`;
  banner.hidden = false;
  console.error(e);
});
