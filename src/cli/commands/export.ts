import { resolve } from "node:path";
import { exportCheckpoint } from "../../tasks/export.js";
import { exportOnnx } from "../../tasks/export_onnx.js";
import { packageVersion } from "../version.js";
import { UsageError, type CommandSpec, type ParsedFlags } from "../args.js";
import { dataFlags, dataRequestFrom } from "../data_flags.js";
import { CliError } from "../errors.js";
import { pct, printJson } from "../output.js";
import { threadsFrom } from "../threads.js";

export const exportSpec: CommandSpec = {
  name: "export",
  summary: "a checkpoint to an integer deployment bundle (quantized, calibrated), or to ONNX (--format onnx)",
  usage: "mulfree export CHECKPOINT -o MODEL.mulfree.safetensors [--calibration-images 512] [--percentile P] [--bits B] [--verify N] [--json]\n       mulfree export CHECKPOINT --format onnx -o MODEL.onnx [--json]",
  positionals: ["checkpoint"],
  flags: {
    out: { type: "string", short: "o", help: "output bundle (.mulfree.safetensors), or .onnx file with --format onnx" },
    format: { type: "string", help: "bundle: the integer deployment bundle; onnx: the float graph as ONNX (adder layers as ai.mulfree function ops)", default: "bundle", choices: ["bundle", "onnx"] },
    "calibration-images": { type: "int", help: "training images used to calibrate activation ranges", default: 512, min: 1 },
    calibration: { type: "string", help: "calibrate on this .npy batch instead: float32 (N, C, H, W), normalised as the model's input (for models that record no data, such as imports)" },
    percentile: { type: "number", help: "clip activation ranges at this percentile (e.g. 99.99) instead of min/max", above: 50, max: 100 },
    bits: { type: "int", help: "bits of the activations and multiply weights inside the network, 4–8 (stored in bytes; the input stays 8-bit, shift weights keep their own fields)", default: 8, min: 4, max: 8 },
    verify: { type: "int", help: "also run the integer graph (reference kernels) on the first N test images and compare with the float model", min: 1 },
    ...dataFlags("calibrate"),
    threads: { type: "int", help: "threads (default: all cores)", min: 1, max: 17 },
  },
};

export function runExport(f: ParsedFlags, [path]: string[]): void {
  if (f.out === undefined) throw new UsageError("export needs -o MODEL.mulfree.safetensors");
  const out = String(f.out);
  if (resolve(out) === resolve(path!)) throw new CliError(`-o ${out} would overwrite the checkpoint`);
  if (f.format === "onnx") return runExportOnnx(f, path!, out);
  const r = exportCheckpoint(path!, {
    out, data: dataRequestFrom(f), otherData: f.otherData === true, threads: threadsFrom(f),
    calibrationImages: Number(f.calibrationImages), calibration: f.calibration as string | undefined,
    percentile: f.percentile as number | undefined, verify: f.verify as number | undefined, bits: Number(f.bits),
  });
  if (r.note) process.stderr.write(`note: ${r.note}\n`);
  if (r.qat) {
    process.stderr.write(r.qat.rangesUsed
      ? `note: ${r.qat.bits}-bit quantization-aware model: the layers' inputs take the ranges it learned\n`
      : `note: the model was fine-tuned with --qat ${r.qat.bits}, not for --bits ${f.bits}: every range is calibrated\n`);
  }
  const lines = r.layers.map((l) => `  ${l.name.padEnd(12)} ${l.kind.padEnd(6)} ${String(l.weights).padStart(8)} weights  ${String(l.weightBytes).padStart(8)} B${l.fieldBits ? `  ${l.fieldBits + 1}-bit codes, base 2^${l.base}` : ""}`);
  process.stdout.write(
    `${r.spec.model} (${r.spec.op}): ${r.layers.length} integer layers, calibrated on ${r.calibratedOn}\n` +
      `${lines.join("\n")}\n` +
      r.warnings.map((w) => `warning: ${w}\n`).join("") +
      `wrote ${out}: ${r.bundleBytes} bytes = ${(r.bundleBytes / r.fp32Bytes).toFixed(4)}× the fp32 model (${r.fp32Bytes} B); weights alone ${(r.weightBytes / r.fp32Bytes).toFixed(4)}×\n`,
  );
  if (r.verify) process.stdout.write(`verify on ${r.verify.images} ${r.dataset} test images: float ${pct(r.verify.floatAccuracy)}, integer ${pct(r.verify.intAccuracy)}\n`);
  if (f.json) {
    printJson({
      command: "export", checkpoint: path, output: out, model: r.spec.model, op: r.spec.op, dataset: r.dataset, calibratedOn: r.calibratedOn,
      bundleBytes: r.bundleBytes, fp32Bytes: r.fp32Bytes, weightBytes: r.weightBytes, sizeRatio: r.bundleBytes / r.fp32Bytes, weightsRatio: r.weightBytes / r.fp32Bytes,
      calibrationImages: r.calibrationImages, layers: r.layers, warnings: r.warnings, ...(r.qat ? { qat: r.qat } : {}),
      ...(r.verify ? { verify: { images: r.verify.images, floatTestAccuracy: r.verify.floatAccuracy, testAccuracy: r.verify.intAccuracy } } : {}),
    });
  }
}

function runExportOnnx(f: ParsedFlags, path: string, out: string): void {
  for (const flag of ["percentile", "verify"] as const) if (f[flag] !== undefined) throw new UsageError(`--${flag} applies to the integer bundle, not to --format onnx`);
  if (Number(f.bits) !== 8) throw new UsageError("--bits applies to the integer bundle, not to --format onnx");
  const r = exportOnnx(path, { out, producerVersion: packageVersion(), threads: threadsFrom(f) });
  const { inChannels: C, inputSize: S } = r.spec;
  process.stdout.write(
    `${r.spec.model} (${r.spec.op}): wrote ${out}: ${r.bytes} bytes, ONNX IR ${r.irVersion} opset ${r.opset}, ${r.nodes} nodes, ${r.functions} ai.mulfree functions\n` +
      `input "${r.input}" [N, ${C}, ${S}, ${S}] (normalised images), output "${r.output}" [N, ${r.spec.numClasses}]\n`,
  );
  if (f.json) printJson({ command: "export", format: "onnx", checkpoint: path, output: out, model: r.spec.model, op: r.spec.op, bytes: r.bytes, nodes: r.nodes, functions: r.functions, irVersion: r.irVersion, opset: r.opset });
}
