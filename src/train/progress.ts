// A one-line progress bar on a TTY (stderr): epoch, step, loss, img/s, ETA. Silent elsewhere.

export class Progress {
  private last = 0;
  constructor(private readonly stream: NodeJS.WriteStream | null) {}

  static forStderr(enabled: boolean): Progress {
    const s = process.stderr;
    return new Progress(enabled && s.isTTY ? s : null);
  }

  update(f: { epoch: number; epochs: number; step: number; steps: number; loss: number; imagesPerSecond: number; etaSeconds: number }): void {
    if (!this.stream) return;
    const now = Date.now();
    if (now - this.last < 100 && f.step < f.steps) return;
    this.last = now;
    const width = 24;
    const filled = Math.round((width * f.step) / Math.max(1, f.steps));
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    const line = `epoch ${f.epoch}/${f.epochs} ${bar} ${f.step}/${f.steps} loss ${f.loss.toFixed(4)} ${Math.round(f.imagesPerSecond)} img/s ETA ${formatDuration(f.etaSeconds)}`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 120) - 1)}\x1b[K`);
  }

  done(): void {
    if (this.stream) this.stream.write("\r\x1b[K");
  }
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "--:--";
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const ss = String(Math.floor(s % 60)).padStart(2, "0");
  return h > 0 ? `${h}:${String(m % 60).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
