import { predictFile } from "../../tasks/predict.js";
import { UsageError, type CommandSpec, type ParsedFlags } from "../args.js";
import { printJson } from "../output.js";
import { threadsFrom } from "../threads.js";

export const predictSpec: CommandSpec = {
  name: "predict",
  summary: "classify a PNG/JPEG image or a .npy batch with a checkpoint or a bundle (top-5 classes)",
  usage: "mulfree predict MODEL --input FILE [--invert] [--top 5] [--json]",
  positionals: ["model"],
  flags: {
    input: { type: "string", short: "i", help: "a PNG or JPEG image (resized and normalised as the model was trained), or a .npy float32 array (N, C, H, W) taken as the input tensor as it is" },
    invert: { type: "bool", help: "invert the image (dark ink on light paper, for a model trained on light-on-dark digits)" },
    top: { type: "int", help: "classes listed per image", default: 5, min: 1 },
    threads: { type: "int", help: "threads (default: all cores)", min: 1, max: 17 },
  },
};

export function runPredict(f: ParsedFlags, [path]: string[]): void {
  if (f.input === undefined) throw new UsageError("predict needs --input FILE (a PNG, JPEG or .npy file)");
  const r = predictFile(path!, { input: String(f.input), invert: f.invert === true, top: Number(f.top), threads: threadsFrom(f) });
  for (const note of r.notes) process.stderr.write(`note: ${note}\n`);
  const lines = r.images.map((img, i) => `${r.images.length > 1 ? `image ${i}: ` : ""}${img.top.map((s) => `${s.name} ${(100 * s.probability).toFixed(1)}%`).join(", ")}`);
  process.stdout.write(`${path}: ${r.model ?? "model"}${r.op ? ` (${r.op})` : ""}, ${r.kind === "bundle" ? "integer" : "float"}, ${r.dataset} classes\n${lines.join("\n")}\n`);
  if (f.json) printJson({ command: "predict", model: path, kind: r.kind, dataset: r.dataset, input: f.input, images: r.images });
}
