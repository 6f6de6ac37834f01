// The wasm kernels behind the IntBackend interface (./backend.ts), so ./execute.ts's
// prepareModel can run a bundle on them as it runs the reference backend (e.g. to check an export
// quickly). It walks the graph and builds each kernel call per run; the runner's WasmEngine
// (./backend_wasm.ts) is the allocation-free path for serving.
import type { Runtime } from "../../kernels/runtime.js";
import { layerShape, type IntBackend, type LayerData } from "./backend.js";
import { avgPoolU8, maxPoolU8, prepareLayer, type PreparedLayer } from "./wasm_layers.js";

interface Prepared {
  layer: LayerData;
  kernels: PreparedLayer;
}

/** Buffers come from the runtime's arena, rolled back after each run (end()). */
export function wasmIntBackend(rt: Runtime): IntBackend<Prepared> & { dispose(): void } {
  const marks: Array<ReturnType<Runtime["arena"]["mark"]>> = [];
  const prepared: Prepared[] = [];
  const u8 = (bytes: number) => rt.u8(rt.arena.alloc(bytes), bytes);
  return {
    prepareLayer(layer) {
      const p = { layer, kernels: prepareLayer({ ...layer, shape: layerShape(layer.node, 1) }) };
      prepared.push(p);
      return p;
    },
    begin: () => void marks.push(rt.arena.mark()),
    end: () => rt.arena.rollback(marks.pop()!),
    input: u8,
    layerU8(p, x, N) {
      const s = layerShape(p.layer.node, N);
      const out = u8(N * s.OH * s.OW * s.K);
      p.kernels.requantized(x, out, s)();
      return out;
    },
    layerI32(p, x, N) {
      const s = layerShape(p.layer.node, N);
      const n = N * s.OH * s.OW * s.K;
      const out = rt.i32(rt.arena.alloc(n * 4), n);
      p.kernels.accumulate(x, out, s)();
      return out;
    },
    maxPool(x, N, H, W, C, kh, kw, stride) {
      const out = u8(N * (Math.floor((H - kh) / stride) + 1) * (Math.floor((W - kw) / stride) + 1) * C);
      maxPoolU8(x, N, H, W, C, kh, kw, stride, out)();
      return out;
    },
    avgPool(x, N, HW, C) {
      const out = u8(N * C);
      avgPoolU8(x, N, HW, C, out)();
      return out;
    },
    /** Free the weights of every layer this backend prepared. */
    dispose: () => prepared.splice(0).forEach((p) => p.kernels.free()),
  };
}
