// The live training chart, in SVG: the loss of every step (faint) and its running average on the
// left axis, test accuracy after every epoch on the right axis (0–100 %), steps along the bottom.
import { svg } from "../dom.js";

const W = 640, H = 240;
const PAD = { left: 44, right: 48, top: 14, bottom: 30 };
const PW = W - PAD.left - PAD.right, PH = H - PAD.top - PAD.bottom;
/** Weight of the newest loss in the running average: about the last 10 steps. */
const SMOOTHING = 0.1;

/** The smallest of 1, 2, 2.5, 5 × 10^k that is at least x: round grid steps for the loss axis. */
function niceStep(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= x)!;
}

export class TrainingChart {
  readonly element: SVGSVGElement;
  private losses: number[] = [];
  private smooth: number[] = [];
  private accuracy: Array<[number, number]> = [];
  private totalSteps = 1;

  constructor() {
    this.element = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "train-chart", role: "img", "aria-label": "training loss and test accuracy" });
    this.render();
  }

  reset(totalSteps: number): void {
    this.totalSteps = Math.max(1, totalSteps);
    this.losses = [];
    this.smooth = [];
    this.accuracy = [];
    this.render();
  }

  addLoss(loss: number): void {
    const prev = this.smooth[this.smooth.length - 1];
    this.losses.push(loss);
    this.smooth.push(prev === undefined ? loss : prev + SMOOTHING * (loss - prev));
  }

  addAccuracy(step: number, accuracy: number): void {
    this.accuracy.push([step, accuracy]);
  }

  render(): void {
    const maxLoss = 4 * niceStep(Math.max(2.5, ...this.losses) / 4);
    const x = (step: number) => PAD.left + (PW * step) / this.totalSteps;
    const yLoss = (l: number) => PAD.top + PH * (1 - Math.min(l, maxLoss) / maxLoss);
    const yAcc = (a: number) => PAD.top + PH * (1 - a);
    const parts: SVGElement[] = [];
    for (let i = 0; i <= 4; i++) {
      const y = PAD.top + (PH * i) / 4;
      parts.push(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "grid" }));
      parts.push(svg("text", { x: PAD.left - 8, y: y + 4, class: "tick loss-tick", "text-anchor": "end" }, String(+(maxLoss * (1 - i / 4)).toFixed(2))));
      parts.push(svg("text", { x: W - PAD.right + 8, y: y + 4, class: "tick acc-tick" }, `${100 - 25 * i}%`));
    }
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      const step = Math.round(f * this.totalSteps);
      parts.push(svg("text", { x: x(step), y: H - 8, class: "tick", "text-anchor": "middle" }, String(step)));
    }
    const line = (pts: Array<[number, number]>, cls: string) => svg("polyline", { points: pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" "), class: cls });
    parts.push(line(this.losses.map((l, i) => [x(i + 1), yLoss(l)]), "loss-raw"));
    parts.push(line(this.smooth.map((l, i) => [x(i + 1), yLoss(l)]), "loss"));
    parts.push(line(this.accuracy.map(([s, a]) => [x(s), yAcc(a)]), "acc"));
    for (const [s, a] of this.accuracy) parts.push(svg("circle", { cx: x(s), cy: yAcc(a), r: 3.5, class: "acc-dot" }));
    this.element.replaceChildren(...parts);
  }
}
