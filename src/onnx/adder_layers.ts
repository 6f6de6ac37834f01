// An adder layer becomes one node of op type Adder2d or AdderLinear in the domain ai.mulfree,
// whose overload (the layer's name) selects the model-local function built for its geometry.
import { floatTensor } from "../io/onnx/values.js";
import { Adder2d, AdderLinear, type AdderLayer } from "../nn/adder.js";
import { MULFREE_DOMAIN, nodeName, type EmitContext, type LayerCall } from "./context.js";
import { adder2dFunction, adderLinearFunction } from "./adder_functions.js";
import { OnnxExportError } from "./errors.js";

export function adderLayerNode(ctx: EmitContext, call: LayerCall, layer: AdderLayer): string {
  const name = nodeName(call);
  const hasBias = layer.bias !== null;
  let fn;
  if (layer instanceof Adder2d) {
    if (call.inputShape.length !== 4) throw new OnnxExportError(`${name}: an Adder2d on a ${call.inputShape.length}-D input`);
    fn = adder2dFunction(name, layer.geometry, call.inputShape[2]!, call.inputShape[3]!, hasBias);
  } else if (layer instanceof AdderLinear) {
    if (call.inputShape.length !== 2) throw new OnnxExportError(`${name}: an AdderLinear on a ${call.inputShape.length}-D input`);
    fn = adderLinearFunction(name, layer.inFeatures, layer.outFeatures, hasBias);
  } else {
    throw new OnnxExportError(`${name}: unknown adder layer ${layer.constructor.name}`);
  }
  // a layer called twice reuses its function; its name is already unique among modules
  if (!ctx.functions.some((f) => f.name === fn.name && f.overload === fn.overload)) ctx.functions.push(fn);
  const inputs = [call.input, ctx.graph.constant(`${name}.weight`, floatTensor(layer.weight.shape, layer.weight.data))];
  if (layer.bias) inputs.push(ctx.graph.constant(`${name}.bias`, floatTensor(layer.bias.shape, layer.bias.data)));
  return ctx.graph.op(fn.name, inputs, { name, domain: MULFREE_DOMAIN, overload: fn.overload });
}
