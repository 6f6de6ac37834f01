// An nn model → a float ONNX model. One eval-mode forward pass on a random batch is traced
// (src/nn/trace.ts), its dataflow recovered (dataflow.ts) and checked by running it again
// (replay.ts); then every step becomes ONNX nodes (modules.ts), adder layers as model-local
// functions in the domain ai.mulfree. The batch dimension stays symbolic ("N").
import { NodeBuilder } from "../io/onnx/builder.js";
import type { ModelProto, OperatorSetIdProto } from "../io/onnx/types.js";
import { floatValueInfo, int64Tensor } from "../io/onnx/values.js";
import type { Module } from "../nn/module.js";
import { traceModules } from "../nn/trace.js";
import { noGrad } from "../tensor/autograd.js";
import { normal, Rng } from "../tensor/random.js";
import { scope } from "../tensor/storage.js";
import { Tensor } from "../tensor/tensor.js";
import { MULFREE_DOMAIN, MULFREE_DOMAIN_VERSION, ONNX_IR_VERSION, ONNX_OPSET, type EmitContext } from "./context.js";
import { dataflowOf, type Dataflow } from "./dataflow.js";
import { flattenNode } from "./standard_layers.js";
import { moduleNodes } from "./modules.js";
import { checkDataflow } from "./replay.js";

export const INPUT_NAME = "input";
export const OUTPUT_NAME = "logits";

export interface OnnxExportOptions {
  /** Images in the traced batch (default 2; the exported batch dimension is symbolic anyway). */
  traceBatch?: number;
  /** Seed of the random traced batch (default 0). */
  seed?: number;
  /** ModelProto.producer_version. */
  producerVersion?: string;
  /** Free-form key/values for ModelProto.metadata_props (e.g. the model spec). */
  metadata?: Record<string, string>;
}

/** `inputShape`: one image, [C, H, W]. The model is traced in eval mode and left in the mode it had. */
export function modelToOnnx(model: Module, inputShape: readonly [number, number, number], options: OnnxExportOptions = {}): ModelProto {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() =>
      scope(() => {
        const x = randomBatch([options.traceBatch ?? 2, ...inputShape], options.seed ?? 0);
        const { output, calls } = traceModules(model, x);
        const flow = dataflowOf(x, calls, output);
        checkDataflow(flow);
        return assemble(flow, options);
      }),
    );
  } finally {
    model.train(wasTraining);
  }
}

function randomBatch(shape: number[], seed: number): Tensor {
  const rng = Rng.fromSeed(seed);
  const x = Tensor.empty(shape);
  for (let i = 0; i < x.size; i++) x.data[i] = normal(rng);
  return x;
}

function assemble(flow: Dataflow, options: OnnxExportOptions): ModelProto {
  const ctx: EmitContext = { graph: new NodeBuilder(false, [INPUT_NAME, OUTPUT_NAME]), functions: [] };
  const names: string[] = [INPUT_NAME];
  const shape = (id: number) => flow.values[id]!.shape;
  for (const step of flow.steps) {
    if (step.kind === "module") {
      names[step.output] = moduleNodes(ctx, { name: step.name, module: step.module, input: names[step.input]!, inputShape: shape(step.input), outputShape: shape(step.output) });
    } else if (step.kind === "add") {
      names[step.output] = ctx.graph.op("Add", [names[step.a]!, names[step.b]!], { name: step.name });
    } else {
      names[step.output] = reshapeNode(ctx, step.name, names[step.input]!, shape(step.output));
    }
  }
  let out = names[flow.output]!;
  if (out === INPUT_NAME) out = ctx.graph.op("Identity", [INPUT_NAME]); // a model that returns its input
  ctx.graph.rename(out, OUTPUT_NAME);

  const opsets: OperatorSetIdProto[] = [{ domain: "", version: ONNX_OPSET }];
  if (ctx.functions.length) opsets.push({ domain: MULFREE_DOMAIN, version: MULFREE_DOMAIN_VERSION });
  const batch = (dims: readonly number[]) => ["N", ...dims.slice(1)];
  return {
    ir_version: ONNX_IR_VERSION,
    opset_import: opsets,
    producer_name: "mulfree",
    ...(options.producerVersion ? { producer_version: options.producerVersion } : {}),
    graph: {
      name: "mulfree",
      node: ctx.graph.nodes,
      initializer: ctx.graph.initializers,
      input: [floatValueInfo(INPUT_NAME, batch(shape(0)))],
      output: [floatValueInfo(OUTPUT_NAME, batch(shape(flow.output)))],
    },
    functions: ctx.functions,
    ...(options.metadata ? { metadata_props: Object.entries(options.metadata).map(([key, value]) => ({ key, value })) } : {}),
  };
}

/** Flatten for [N, …] → [N, prod(…)]; any other reshape keeps the batch dimension symbolic (−1). */
function reshapeNode(ctx: EmitContext, name: string, input: string, to: readonly number[]): string {
  if (to.length === 2) return flattenNode(ctx, name, input);
  const target = ctx.graph.constant(`${name}.shape`, int64Tensor([to.length], [-1, ...to.slice(1)]));
  return ctx.graph.op("Reshape", [input, target], { name });
}
