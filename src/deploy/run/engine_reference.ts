// An engine over any IntBackend (./backend.ts): walks the graph node by node each run (runGraph). Used for
// the reference backend, the oracle the wasm engine is checked against; not tuned for speed.
import type { IntBackend } from "./backend.js";
import type { Engine } from "./engine_wasm.js";
import type { Bundle } from "./decode.js";
import { runGraph } from "./execute.js";
import type { LayerNode } from "./format.js";

export class BackendEngine<P> implements Engine {
  private readonly prepared = new Map<LayerNode, P>();
  private buf: Uint8Array = new Uint8Array(0);
  private readonly imageBytes: number;

  constructor(private readonly bundle: Bundle, private readonly backend: IntBackend<P>) {
    for (const layer of bundle.layers) this.prepared.set(layer.node, backend.prepareLayer(layer));
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
      const acc = runGraph(bundle.graph, (node) => this.prepared.get(node)!, backend, this.input(n), n);
      return Int32Array.from(acc); // the backend's buffer is only valid until end()
    } finally {
      backend.end?.();
    }
  }

  dispose(): void {}
}
