// The wasm engine's whole-network program (src/kernels/int8_program.ts): each thread runs every
// layer on a few images at a time. On random bundles (multiply and adder layers, residual adds,
// max and global average pooling) it gives exactly the bytes of the layer-by-layer list and of
// the reference engine, for batch sizes that do and do not divide into chunks and threads, on 1
// and 2 threads; graphs it cannot run (shift layers, windowed average pooling) fall back.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readBundle } from "../src/deploy/run/decode.js";
import { ReferenceEngine } from "../src/deploy/run/engine_reference.js";
import { WasmEngine, wasmEngineTuning } from "../src/deploy/run/engine_wasm.js";
import { initRuntime } from "../src/kernels/runtime.js";
import { randomBundle, randomPixels } from "./deploy-random-bundles.js";
import { rng } from "./random.js";

function runEngine(engine: { input(n: number): Uint8Array; run(n: number): Int32Array }, bytes: Uint8Array, n: number): Int32Array {
  engine.input(n).set(bytes);
  return engine.run(n).slice();
}

test("the program gives the layer-by-layer list's and the reference's exact logits, on 1 and 2 threads", () => {
  const r = rng(23);
  let programs = 0, fallbacks = 0;
  try {
    for (const threads of [1, 2]) {
      const rt = initRuntime({ threads });
      for (let trial = 0; trial < 24; trial++) {
        const mix = (["mul", "adder", "mixed"] as const)[trial % 3];
        const b = randomBundle(r, mix, { maxSide: 12 });
        const bundle = readBundle(b.bytes, `${mix}#${trial}`);
        const engine = new WasmEngine(bundle, rt);
        const reference = new ReferenceEngine(bundle);
        for (const n of [1, 3, 9, 37]) {
          // pixels are already u8 NHWC for the engines: quantize through the reference's input
          const pixels = Uint8Array.from(randomPixels(r, n, b.shape), (p) => Math.round(p * 255));
          const want = runEngine(reference, pixels, n);
          wasmEngineTuning.program = "never";
          const layers = runEngine(engine, pixels, n);
          wasmEngineTuning.program = "always";
          const whole = runEngine(engine, pixels, n);
          assert.deepEqual(layers, want, `${mix} bundle #${trial}, n = ${n}, ${threads} threads: layer by layer = reference`);
          assert.deepEqual(whole, want, `${mix} bundle #${trial}, n = ${n}, ${threads} threads: program = reference`);
          if (engine.usesProgram(n)) programs++;
          else fallbacks++;
        }
        engine.dispose();
      }
    }
  } finally {
    wasmEngineTuning.program = "auto";
    initRuntime({ threads: 1 });
  }
  assert.ok(programs >= 60, `most graphs run as a program (${programs})`);
  assert.ok(fallbacks >= 8, `graphs with shift layers or windowed pooling fall back (${fallbacks})`);
});

test("a 2×2 max pool after a one-channel adder conv runs fused into it: the same logits as the reference, layer by layer and as a program, 1 and 2 threads", () => {
  const r = rng(31);
  let fused = 0;
  try {
    for (const threads of [1, 2]) {
      const rt = initRuntime({ threads });
      for (let trial = 0; trial < 16; trial++) {
        const mix = trial % 4 === 3 ? "mixed" : "adder";
        const side = 4 + (trial % 9);
        const b = randomBundle(r, mix, { shape: [1, side, side + (trial % 3)], convPool: true });
        const bundle = readBundle(b.bytes, `convPool ${mix}#${trial}`);
        const engine = new WasmEngine(bundle, rt);
        const reference = new ReferenceEngine(bundle);
        const first = bundle.graph.nodes[1]!, second = bundle.graph.nodes[2]!;
        const fusable = first.op === "layer" && first.kind === "adder" && second.op === "maxpool";
        for (const n of [1, 5, 19]) {
          const pixels = Uint8Array.from(randomPixels(r, n, b.shape), (p) => Math.round(p * 255));
          const want = runEngine(reference, pixels, n);
          wasmEngineTuning.program = "never";
          assert.deepEqual(runEngine(engine, pixels, n), want, `bundle #${trial}, n = ${n}, ${threads} threads: layer by layer = reference`);
          wasmEngineTuning.program = "always";
          assert.deepEqual(runEngine(engine, pixels, n), want, `bundle #${trial}, n = ${n}, ${threads} threads: program = reference`);
          const calls = bundle.graph.nodes.filter((node) => node.op !== "input" && node.op !== "flatten").length;
          if (fusable && engine.kernelCalls(n) === calls - 1) fused++;
        }
        engine.dispose();
      }
    }
  } finally {
    wasmEngineTuning.program = "auto";
    initRuntime({ threads: 1 });
  }
  assert.ok(fused >= 30, `most adder graphs fuse their first pool (${fused} of ${2 * 12 * 3} runs)`);
});

test("the program is chosen when every thread gets several images, the layer list otherwise", () => {
  const r = rng(29);
  try {
    const rt = initRuntime({ threads: 1 });
    // a random adder graph without windowed average pooling (those have no program)
    let engine: WasmEngine | null = null;
    for (let t = 0; t < 50 && !engine; t++) {
      const e = new WasmEngine(readBundle(randomBundle(r, "adder", { maxSide: 8 }).bytes, "adder"), rt);
      if (e.usesProgram(1)) engine = e;
      else e.dispose();
    }
    assert.ok(engine, "some random adder graph has a program");
    assert.equal(engine.usesProgram(1), true, "1 thread: the program, even for one image");
    rt.setThreads(2);
    const per = wasmEngineTuning.imagesPerThread;
    assert.equal(engine.usesProgram(2 * per), true, "2 threads, enough images: the program");
    assert.equal(engine.usesProgram(2 * per - 1), false, "2 threads, too few images: each layer split across the threads");
    engine.dispose();
  } finally {
    initRuntime({ threads: 1 });
  }
});
