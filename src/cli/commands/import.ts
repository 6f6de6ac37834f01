import { resolve } from "node:path";
import { opKinds } from "../../models/layer_factory.js";
import { modelNames } from "../../models/zoo.js";
import { importCheckpoint } from "../../tasks/import_torch.js";
import { UsageError, type CommandSpec, type ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import { printJson } from "../output.js";
import { parseActivationBits, shiftFlags } from "../shift_flags.js";

export const importSpec: CommandSpec = {
  name: "import",
  summary: "turn a PyTorch state dict (.pth/.pt: official AdderNet, DeepShift or plain CNN layouts) into a mulfree checkpoint",
  usage: "mulfree import FILE.pth -o OUT.safetensors [--arch NAME] [--op KIND] [--input-size N] [--json]",
  positionals: ["file"],
  flags: {
    out: { type: "string", short: "o", help: "the mulfree checkpoint to write (.safetensors)" },
    arch: { type: "string", help: "zoo model the weights belong to (default: the one whose layer names the file has)", choices: modelNames() },
    op: { type: "string", help: "op kind (default: from the tensor names: .adder → adder, .shift/.sign → shift-ps, else conv; DeepShift-Q files need shift-q)", choices: opKinds() },
    "input-size": { type: "int", help: "image side the model takes (default: whichever of 28, 32 and the model's own fits the weights)", min: 1, max: 4096 },
    "weight-bits": shiftFlags["weight-bits"]!,
    "activation-bits": shiftFlags["activation-bits"]!,
  },
  epilog: [
    "Only state dicts are read: the pickle reader accepts OrderedDict, tensors and storages, and refuses",
    "any other Python global (os.system, a pickled nn.Module, ...) without running anything.",
  ],
};

export function runImport(f: ParsedFlags, [path]: string[]): void {
  if (f.out === undefined) throw new UsageError("import needs -o OUT.safetensors");
  const out = String(f.out);
  if (resolve(out) === resolve(path!)) throw new CliError(`-o ${out} would overwrite the input file`);
  const r = importCheckpoint(path!, {
    out,
    arch: f.arch as string | undefined,
    op: f.op as string | undefined,
    inputSize: f.inputSize as number | undefined,
    weightBits: f.weightBits as number | undefined,
    activationBits: f.activationBits === undefined ? undefined : parseActivationBits(String(f.activationBits)),
  });
  const { spec } = r;
  const from = r.stateDictKey ? `the state dict under '${r.stateDictKey}'` : "a state dict";
  const removed = [r.prefix ? `prefix ${r.prefix} removed` : "", r.dropped.length ? `${r.dropped.length} num_batches_tracked dropped` : ""].filter(Boolean);
  const layers = spec.op === "conv" ? `${r.multiplicativeLayers.length} weight layers` : `${r.opLayers.length} ${spec.op} layers${r.multiplicativeLayers.length ? `, multiplicative: ${r.multiplicativeLayers.join(", ")}` : ""}`;
  for (const note of r.notes) process.stderr.write(`note: ${note}\n`);
  process.stdout.write(
    `${path}: ${r.container} torch.save file, ${from} of ${r.tensors} tensors${removed.length ? ` (${removed.join(", ")})` : ""}\n` +
      `${spec.model} (${spec.op}), ${spec.inChannels}×${spec.inputSize}×${spec.inputSize} input, ${spec.numClasses} classes, ${r.parameters} parameters: ${layers}\n` +
      `wrote ${out}\n`,
  );
  if (f.json) {
    printJson({
      command: "import", input: path, output: out, container: r.container, stateDictKey: r.stateDictKey, tensors: r.tensors,
      model: spec.model, op: spec.op, spec, opLayers: r.opLayers, multiplicativeLayers: r.multiplicativeLayers, parameters: r.parameters,
      prefix: r.prefix, dropped: r.dropped, notes: r.notes,
    });
  }
}
