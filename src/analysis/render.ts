// Rendering vega-lite figures: SVG through vega (headless, no canvas), PNG through resvg. Every
// package is loaded on first use, so the library pulls in neither the plotting stack nor resvg's
// native addon (with its own threads) unless a figure is actually drawn.
import type { TopLevelSpec } from "vega-lite";

/** Compile a vega-lite spec and render it to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface PngOptions {
  /** Pixels per SVG unit: 2 keeps thin lines and small text sharp on high-density screens. */
  scale?: number;
}

/** Rasterise an SVG to PNG bytes on a white background (Node only: resvg is a native addon). */
export async function renderPng(svg: string, opts: PngOptions = {}): Promise<Uint8Array> {
  const scale = opts.scale ?? 2;
  if (!(scale > 0 && Number.isFinite(scale))) throw new RangeError(`renderPng: scale must be a positive number, got ${scale}`);
  const { Resvg } = await import("@resvg/resvg-js");
  return new Resvg(svg, { fitTo: { mode: "zoom", value: scale }, background: "white" }).render().asPng();
}
