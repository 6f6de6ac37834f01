// The op kind 'adder' (AdderNet) and its training rule.
// - spec.opOptions: eta (η of the adaptive learning rate, default 0.2), grad ('paper' or 'sign') and
//   form ('min' or 'direct', how the forward sum is computed: docs/addernet.md, "Two forms of the
//   sum"). New specs record form 'min'; a spec without it predates the min form and keeps 'direct',
//   so its training re-runs bit for bit.
// - Training: every adder layer's weight gets the adaptive learning rate α = η·√k/‖g‖₂ as a hook
//   on its raw gradient, i.e. before the optimizer adds weight decay and momentum (reference §3).
//   Multiplicative layers (the first conv and the classifier of the CIFAR models), BatchNorm and
//   adder biases keep their plain gradients.
// (This file imports the trainer's registry: op kinds own their training rules.)
import { AdderLayer, AdderLinear, Adder2d, type AdderForm, type AdderGrad } from "../nn/adder.js";
import { preview, printable } from "../io/json.js";
import type { Module } from "../nn/module.js";
import { registerAdaptiveLr } from "../optim/adaptive_lr.js";
import { registerTrainingSetup } from "./training_hooks.js";
import { registerOpKind, type LayerFactory } from "./layer_factory.js";

const OPTION_KEYS = ["eta", "grad", "form"];
export const DEFAULT_ETA = 0.2;

export interface AdderOpOptions {
  eta: number;
  grad: AdderGrad;
  form: AdderForm;
}

/** spec.opOptions of the adder op, validated, with defaults filled in. */
export function adderOpOptions(options: Record<string, unknown> = {}): AdderOpOptions {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new Error(`unknown option '${printable(key)}' for op adder (valid: ${OPTION_KEYS.join(", ")})`);
  }
  const eta = options.eta ?? DEFAULT_ETA;
  if (typeof eta !== "number" || !Number.isFinite(eta) || !(eta > 0)) throw new Error(`option eta of op adder must be a number > 0, got ${preview(eta)}`);
  const grad = options.grad ?? "paper";
  if (grad !== "paper" && grad !== "sign") throw new Error(`option grad of op adder must be 'paper' or 'sign', got ${preview(grad)}`);
  const form = options.form ?? "direct"; // absent: a spec from before the min form
  if (form !== "min" && form !== "direct") throw new Error(`option form of op adder must be 'min' or 'direct', got ${preview(form)}`);
  return { eta, grad, form };
}

function adderLayers(options: Record<string, unknown>): LayerFactory {
  const { grad, form } = adderOpOptions(options);
  return {
    // a bias requested by the architecture is honoured (U(0, 1) init); undefined means none
    conv: (i, o, k, cfg) => new Adder2d(i, o, k, { ...cfg, bias: cfg?.bias === true, grad, form }),
    linear: (i, o, opts) => new AdderLinear(i, o, { bias: opts?.bias === true, grad, form }),
  };
}

registerOpKind("adder", adderLayers, { form: "min" });

/** Every adder layer of a model with its dotted name. */
export function adderLayersOf(model: Module): Array<[string, AdderLayer]> {
  return model.namedModules().filter((e): e is [string, AdderLayer] => e[1] instanceof AdderLayer);
}

registerTrainingSetup((model, optimizer, config) => {
  const layers = adderLayersOf(model);
  if (!layers.length) return;
  const { eta } = adderOpOptions(config.spec.op === "adder" ? config.spec.opOptions : {});
  registerAdaptiveLr(optimizer, layers.map(([, l]) => l.weight), eta);
});
