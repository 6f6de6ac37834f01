// An engine over any IntBackend (./backend.ts): walks the graph node by node each run. Used for
// the reference backend, the oracle the wasm engine is checked against; not tuned for speed.
import type { IntBackend } from "./backend.js";
import type { Engine } from "./backend_wasm.js";
import type { Bundle } from "./bundle.js";

export class BackendEngine<P> implements Engine {
  private readonly prepared: P[];
  private buf: Uint8Array = new Uint8Array(0);
  private readonly imageBytes: number;

  constructor(private readonly bundle: Bundle, private readonly backend: IntBackend<P>) {
    this.prepared = bundle.layers.map((l) => backend.prepareLayer(l));
    const [C, H, W] = bundle.input.shape;
    this.imageBytes = C * H * W;
  }

  input(n: number): Uint8Array {
    if (this.buf.length !== n * this.imageBytes) this.buf = this.backend.input(n * this.imageBytes);
    return this.buf;
  }

  run(n: number): Int32Array {
    const { bundle, backend } = this;
    backend.begin?.();
    try {
      let x = this.input(n);
      let [C, H, W] = bundle.input.shape;
      let li = 0;
      for (const node of bundle.graph.nodes) {
        if (node.op === "layer") {
          const layer = bundle.layers[li]!, p = this.prepared[li++]!;
          if (layer.last) return Int32Array.from(backend.layerI32(p, x, n));
          x = backend.layerU8(p, x, n);
          [C, H, W] = [layer.shape.K, layer.shape.OH, layer.shape.OW];
        } else if (node.op === "maxpool") {
          x = backend.maxPool(x, n, H, W, C, node.kh, node.kw, node.stride);
          H = Math.floor((H - node.kh) / node.stride) + 1;
          W = Math.floor((W - node.kw) / node.stride) + 1;
        } else if (node.op === "avgpool") {
          x = backend.avgPool(x, n, H * W, C);
          H = W = 1;
        } else if (node.op === "flatten") {
          [C, H, W] = [C * H * W, 1, 1];
        }
      }
      throw new Error(`${bundle.name}: the graph has no logits layer`);
    } finally {
      backend.end?.();
    }
  }

  dispose(): void {}
}
