// The drawing surface: light ink on a black canvas (as MNIST digits are), drawn with a mouse, a pen
// or a finger (Pointer Events). Its pixels are exactly what `mulfree predict` reads from the PNG
// the canvas exports: the canvas is opaque, so no premultiplied alpha changes them on the way.

/** Canvas pixels per side; CSS scales the element, the drawing keeps this resolution on every screen. */
export const PAD_SIZE = 280;
/** Stroke width in canvas pixels: 2 of the 28 input pixels, the pen width of MNIST's digits. */
const LINE_WIDTH = 20;

export type Stroke = ReadonlyArray<readonly [number, number]>;

export class DrawPad {
  private readonly ctx: CanvasRenderingContext2D;
  private last: [number, number] | null = null;
  private frame = 0;
  /** True once something has been drawn since the last clear. */
  inked = false;

  /** `onChange(final)`: at most once per animation frame while drawing, and with final = true when a stroke ends. */
  constructor(readonly canvas: HTMLCanvasElement, private readonly onChange: (final: boolean) => void) {
    canvas.width = canvas.height = PAD_SIZE;
    const ctx = canvas.getContext("2d", { willReadFrequently: true, alpha: false });
    if (!ctx) throw new Error("this browser has no 2D canvas");
    this.ctx = ctx;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.lineWidth = LINE_WIDTH;
    ctx.strokeStyle = ctx.fillStyle = "#fff";
    this.clear();
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const type of ["pointerup", "pointercancel"] as const) canvas.addEventListener(type, (e) => this.up(e));
  }

  clear(): void {
    const { ctx } = this;
    ctx.save();
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, PAD_SIZE, PAD_SIZE);
    ctx.restore();
    this.inked = false;
  }

  /** Draw strokes given in canvas pixels (the sample digit shown at start, or a test's). */
  drawStrokes(strokes: readonly Stroke[]): void {
    for (const s of strokes) {
      this.dot(s[0]![0], s[0]![1]);
      for (let i = 1; i < s.length; i++) this.segment(s[i - 1]!, s[i]!);
    }
    this.inked = true;
  }

  /** The RGBA pixels, as a decoded PNG of the canvas would give them. */
  picture(): ImageData {
    return this.ctx.getImageData(0, 0, PAD_SIZE, PAD_SIZE);
  }

  private point(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * PAD_SIZE) / r.width, ((e.clientY - r.top) * PAD_SIZE) / r.height];
  }

  private down(e: PointerEvent): void {
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.last = this.point(e);
    this.dot(...this.last);
    this.inked = true;
    this.schedule();
  }

  private move(e: PointerEvent): void {
    if (!this.last) return;
    // coalesced events keep fast strokes smooth where the browser batches pointer moves
    const events = e.getCoalescedEvents?.() ?? [e];
    for (const ev of events.length ? events : [e]) {
      const p = this.point(ev);
      this.segment(this.last, p);
      this.last = p;
    }
    this.schedule();
  }

  private up(e: PointerEvent): void {
    if (!this.last) return;
    this.last = null;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.onChange(true);
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.onChange(false);
    });
  }

  private dot(x: number, y: number): void {
    this.ctx.beginPath();
    this.ctx.arc(x, y, LINE_WIDTH / 2, 0, 2 * Math.PI);
    this.ctx.fill();
  }

  private segment(a: readonly [number, number], b: readonly [number, number]): void {
    this.ctx.beginPath();
    this.ctx.moveTo(a[0], a[1]);
    this.ctx.lineTo(b[0], b[1]);
    this.ctx.stroke();
  }
}
