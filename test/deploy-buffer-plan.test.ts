// The wasm engine's buffer plan (src/deploy/run/buffer_plan.ts) on the graphs of random bundles,
// residual ones included: no two outputs alive at the same time share a slot, a node never
// writes over what it reads, and a slot holds outputs of one size per image only (so that runs
// of a few images at a time through the whole graph never overlap two images).
import { test } from "node:test";
import assert from "node:assert/strict";
import { planBuffers } from "../src/deploy/run/buffer_plan.js";
import { readBundle } from "../src/deploy/run/decode.js";
import { randomBundle } from "./deploy-random-bundles.js";
import { rng } from "./random.js";

test("buffer plan: live outputs never share a slot, across 300 random graphs", () => {
  const r = rng(77);
  let shared = 0;
  for (let t = 0; t < 300; t++) {
    const { shapes, graph } = readBundle(randomBundle(r, "mixed").bytes);
    const bytes = shapes.map((s) => s.C * s.H * s.W);
    const inputs = shapes.map((s) => s.inputs);
    const alias = graph.nodes.map((n) => n.op === "flatten");
    const { slotOf, slotBytes } = planBuffers(bytes, inputs, alias);
    const owner = (i: number): number => (alias[i] ? owner(inputs[i]![0]!) : i);
    // a value lives from its node to its last reader (through flattens); the last node's forever
    const end = bytes.map((_, i) => (i === bytes.length - 1 ? Infinity : i));
    inputs.forEach((reads, j) => reads.forEach((a) => (end[owner(a)] = Math.max(end[owner(a)]!, j))));
    for (let i = 0; i < bytes.length; i++) {
      if (alias[i]) {
        assert.equal(slotOf[i], slotOf[owner(i)], `graph ${t}: a flatten shares its input's slot`);
        continue;
      }
      assert.equal(slotBytes[slotOf[i]!], bytes[i], `graph ${t}: node ${i} has its slot's size per image`);
      for (let j = 0; j < i; j++) {
        if (alias[j] || slotOf[j] !== slotOf[i]) continue;
        shared++;
        assert.ok(end[j]! < i, `graph ${t}: node ${i} reuses the slot of node ${j}, which is read until node ${end[j]}`);
      }
    }
  }
  assert.ok(shared > 50, `slots are reused (${shared} times)`);
});
