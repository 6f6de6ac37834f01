// Numbers the page shows: softmax probabilities of logits, and the median of recent timings.

/** Softmax of one row of logits, in float64 (subtracting the max first, so large logits do not overflow). */
export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The last `size` samples; its median is a latency that one slow frame does not move. */
export class RecentSamples {
  private readonly xs: number[] = [];
  constructor(private readonly size: number) {}
  add(x: number): void {
    this.xs.push(x);
    if (this.xs.length > this.size) this.xs.shift();
  }
  median(): number {
    return median(this.xs);
  }
  clear(): void {
    this.xs.length = 0;
  }
}

/** "0.048 ms", "1.25 ms", "12 ms": three significant digits at most. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  return `${ms < 1 ? ms.toFixed(3) : ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms`;
}

/** 10000 → "10,000". Not toLocaleString: its first call loads the locale data, a visible delay before the first prediction. */
export function formatThousands(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+$)/g, ",");
}

/** 423822 → "424k", 1234567 → "1.23M". */
export function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)}k`;
  return String(n);
}
