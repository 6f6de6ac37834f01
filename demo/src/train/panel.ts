// The "train in this tab" panel: thread and epoch choices, a Train/Stop button, live numbers and the
// chart. Each run gets a fresh Worker (train/worker.ts); Stop terminates it, so stopping is
// immediate even in the middle of a step.
import { byId } from "../dom.js";
import { formatThousands } from "../stats.js";
import { TrainingChart } from "./chart.js";
import { SUBSET, type TrainEvent, type TrainRequest } from "./messages.js";

/** More threads than this stop paying off for LeNet-5's small layers, and cost memory. */
const MAX_THREADS = 8;
const TRAIN = { batch: 64, lr: 0.1, seed: 1 };
/**
 * The numbers and the chart are redrawn at most this often: painting takes CPU time (the page's
 * and the browser compositor's) from the cores the training threads run on, and a few updates a
 * second are enough to watch.
 */
const REDRAW_MS = 250;

/** What a run has done so far; the page's debug object exposes it (tests read it). */
export interface TrainingState {
  status: "idle" | "starting" | "running" | "stopped" | "done" | "error";
  threads: number;
  losses: number[];
  accuracies: number[];
  parallelJobs: number;
  error?: string;
}

export class TrainingPanel {
  readonly state: TrainingState = { status: "idle", threads: 0, losses: [], accuracies: [], parallelJobs: 0 };
  private worker: Worker | null = null;
  private readonly chart = new TrainingChart();
  private readonly threads = byId<HTMLSelectElement>("train-threads");
  private readonly epochs = byId<HTMLSelectElement>("train-epochs");
  private readonly button = byId<HTMLButtonElement>("train-button");
  private readonly status = byId("train-status");
  private readonly progress = byId("train-progress");
  private readonly numbers = { epoch: byId("train-epoch"), speed: byId("train-speed"), loss: byId("train-loss"), accuracy: byId("train-accuracy") };
  private redrawTimer = 0;
  private started = 0;
  private stepsPerEpoch = 0;

  constructor() {
    byId("train-chart").append(this.chart.element);
    const cores = Math.max(1, navigator.hardwareConcurrency || 1);
    const top = Math.min(cores, MAX_THREADS);
    for (let t = 1; t <= top; t++) this.threads.append(new Option(t === 1 ? "1 thread" : `${t} threads`, String(t), t === top, t === top));
    byId("train-cores").textContent = `${cores} logical core${cores === 1 ? "" : "s"} here`;
    this.button.addEventListener("click", () => (this.worker ? this.stop() : this.start()));
    this.epochs.addEventListener("change", () => this.chart.reset(this.plannedSteps()));
    this.chart.reset(this.plannedSteps());
  }

  /** Steps of a run with the chosen epochs (the loader keeps a last, smaller batch). */
  private plannedSteps(): number {
    return Math.ceil(SUBSET.train / TRAIN.batch) * Number(this.epochs.value);
  }

  start(): void {
    const req: TrainRequest = { type: "start", threads: Number(this.threads.value), epochs: Number(this.epochs.value), ...TRAIN };
    Object.assign(this.state, { status: "starting", threads: 0, losses: [], accuracies: [], parallelJobs: 0, error: undefined });
    this.stepsPerEpoch = 0;
    this.chart.reset(this.plannedSteps());
    this.setRunning(true);
    this.say(`Starting the kernels and loading ${formatThousands(SUBSET.train + SUBSET.test)} images…`);
    const worker = new Worker(new URL("./train_worker.js", import.meta.url), { type: "module", name: "mulfree-training" });
    worker.onmessage = (e: MessageEvent<TrainEvent>) => this.handle(e.data, req);
    worker.onerror = (e) => this.fail(e.message || "the training worker failed to start");
    worker.postMessage(req);
    this.worker = worker;
  }

  stop(): void {
    this.end("stopped", `Stopped after ${this.state.losses.length} steps.`);
  }

  private handle(m: TrainEvent, req: TrainRequest): void {
    switch (m.type) {
      case "ready":
        this.state.status = "running";
        this.state.threads = m.threads;
        this.started = performance.now();
        this.say(`Training on ${m.threads} thread${m.threads === 1 ? "" : "s"}${m.isolated ? "" : " (this page is not cross-origin isolated)"}: ${formatThousands(m.trainImages)} training images, ${m.testImages} test images.`);
        break;
      case "step":
        if (!this.stepsPerEpoch) {
          this.stepsPerEpoch = m.steps;
          this.chart.reset(m.steps * req.epochs);
        }
        this.state.losses.push(m.loss);
        this.chart.addLoss(m.loss);
        this.latest = () => {
          this.numbers.epoch.textContent = `${m.epoch} / ${req.epochs}`;
          this.numbers.speed.textContent = formatThousands(m.imagesPerSecond);
          this.numbers.loss.textContent = m.loss.toFixed(3);
          this.progress.style.width = `${(100 * this.state.losses.length) / (m.steps * req.epochs)}%`;
        };
        this.redraw();
        break;
      case "epoch":
        this.state.accuracies.push(m.testAccuracy);
        this.state.parallelJobs = m.parallelJobs;
        this.chart.addAccuracy(m.epoch * this.stepsPerEpoch, m.testAccuracy);
        this.numbers.accuracy.textContent = `${(100 * m.testAccuracy).toFixed(1)} %`;
        this.redraw();
        break;
      case "done": {
        const s = ((performance.now() - this.started) / 1000).toFixed(1);
        this.end("done", `Done: ${req.epochs} epoch${req.epochs === 1 ? "" : "s"} in ${s} s, test accuracy ${(100 * this.state.accuracies.at(-1)!).toFixed(1)} %.`);
        break;
      }
      case "error":
        this.fail(m.message);
        break;
    }
  }

  private fail(message: string): void {
    this.state.error = message;
    this.end("error", `Training failed: ${message}`);
  }

  private end(status: TrainingState["status"], text: string): void {
    this.worker?.terminate();
    this.worker = null;
    this.state.status = status;
    this.setRunning(false);
    this.say(text);
    this.redraw();
  }

  private setRunning(running: boolean): void {
    this.button.textContent = running ? "Stop" : "Train";
    this.button.classList.toggle("stop", running);
    this.threads.disabled = this.epochs.disabled = running;
  }

  private say(text: string): void {
    this.status.textContent = text;
  }

  /** Shows the latest step's numbers; set at each step, run at the next redraw. */
  private latest: () => void = () => {};

  /** One update of the numbers and the chart per REDRAW_MS, however many steps arrived. */
  private redraw(): void {
    if (this.redrawTimer) return;
    this.redrawTimer = window.setTimeout(() => {
      this.redrawTimer = 0;
      this.latest();
      this.chart.render();
    }, REDRAW_MS);
  }
}
