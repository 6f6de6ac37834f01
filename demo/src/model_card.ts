// One model's card: the predicted digit, its probability bars, the measured latency, and what one
// image costs it (operation counts and energy from `mulfree ops`), on scales shared by all cards so
// that the bars compare models.
import { el } from "./dom.js";
import { formatCount, formatMs, formatThousands } from "./stats.js";
import type { ModelInfo, OpsTotals } from "./assets.js";
import type { Result } from "./predictor.js";

/** What each op kind's weight layer computes, shown under its name. */
const FORMULA: Record<string, string> = {
  conv: "y = Σ w·x",
  adder: "y = −Σ |x − w|",
  "shift-ps": "y = Σ ±2ᵖ·x",
};

/** The largest count and energy over all models: the full width of a bar. */
export interface CostScale {
  count: number;
  energyPJ: number;
}

export function costScale(models: readonly ModelInfo[]): CostScale {
  const t = models.map((m) => m.ops.total);
  return { count: Math.max(...t.flatMap((o) => [o.mults, o.adds, o.shifts])), energyPJ: Math.max(...t.map((o) => o.energyPJ)) };
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

function costRow(name: string, value: number, full: number, text: string, kind: string): HTMLElement {
  const bar = el("span", { class: `cost-bar ${kind}` });
  bar.style.width = `${Math.max(value > 0 ? 0.6 : 0, (100 * value) / full)}%`;
  return el("div", { class: "cost-row" },
    el("div", { class: "cost-label" }, el("span", { class: "cost-name" }, name), el("span", { class: "cost-value" }, text)),
    el("span", { class: "cost-track" }, bar));
}

function costChart(o: OpsTotals, scale: CostScale): HTMLElement {
  return el("div", { class: "cost", role: "img", "aria-label": `${o.mults} multiplications, ${o.adds} additions, ${o.shifts} shifts, ${(o.energyPJ / 1000).toFixed(1)} nJ per image` },
    costRow("multiplications", o.mults, scale.count, formatCount(o.mults), "mults"),
    costRow("additions", o.adds, scale.count, formatCount(o.adds), "adds"),
    costRow("shifts", o.shifts, scale.count, formatCount(o.shifts), "shifts"),
    costRow("energy", o.energyPJ, scale.energyPJ, `${(o.energyPJ / 1000).toFixed(1)} nJ`, "energy"),
  );
}

export class ModelCard {
  readonly element: HTMLElement;
  private readonly digit = el("span", { class: "top-digit" }, "–");
  private readonly confidence = el("span", { class: "top-confidence" }, "");
  private readonly latency = el("span", { class: "latency" }, "–");
  private readonly bars: HTMLElement[] = [];
  private readonly columns: HTMLElement[] = [];

  constructor(readonly info: ModelInfo, scale: CostScale, classes: number) {
    const probs = el("div", { class: "probs" });
    for (let c = 0; c < classes; c++) {
      const bar = el("span", { class: "prob-bar" });
      const column = el("div", { class: "prob" }, el("span", { class: "prob-track" }, bar), el("span", { class: "prob-label" }, String(c)));
      this.bars.push(bar);
      this.columns.push(column);
      probs.append(column);
    }
    this.element = el("article", { class: `card model-${info.id}`, "data-model": info.id },
      el("header", { class: "card-head" },
        el("div", {}, el("h3", {}, info.label), el("code", { class: "formula" }, FORMULA[info.op] ?? info.op)),
        el("span", { class: "badge" }, `int8 · ${(info.bytes / 1024).toFixed(0)} KB`)),
      el("div", { class: "verdict" }, this.digit, el("div", { class: "verdict-side" }, this.confidence, el("span", { class: "latency-line" }, "latency ", this.latency))),
      probs,
      el("h4", {}, "Cost of one image"),
      costChart(info.ops.total, scale),
      el("p", { class: "card-foot" }, `Test accuracy ${pct(info.int8Accuracy)} on ${formatThousands(info.testImages)} MNIST images (float model: ${pct(info.floatAccuracy)})`),
    );
  }

  show(r: Result): void {
    this.digit.textContent = String(r.predicted);
    this.confidence.textContent = `${(100 * r.probabilities[r.predicted]!).toFixed(1)} % sure`;
    this.latency.textContent = formatMs(r.latencyMs);
    r.probabilities.forEach((p, c) => {
      this.bars[c]!.style.height = `${(100 * p).toFixed(1)}%`;
      this.columns[c]!.classList.toggle("winner", c === r.predicted);
    });
    this.element.dataset.logits = JSON.stringify(r.logits);
  }
}
