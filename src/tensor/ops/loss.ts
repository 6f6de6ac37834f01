import { softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from "../../kernels/loss.js";
import { runtime } from "../../kernels/runtime.js";
import { accumulateGrad, record } from "../autograd.js";
import { allocF32, allocI32, inScope } from "../storage.js";
import { Tensor } from "../tensor.js";

/** The labels as a view into kernel memory: as they are when they live there, else copied into the step's arena. */
function kernelLabels(labels: ArrayLike<number>, N: number): Int32Array {
  const inMemory = labels instanceof Int32Array && runtime().holds(labels);
  if (inMemory) return labels;
  if (!inScope()) throw new Error("crossEntropy: labels outside kernel memory are copied into the step's arena; call it inside scope(() => …)");
  const out = allocI32(N);
  for (let i = 0; i < N; i++) out[i] = labels[i]!;
  return out;
}

/** Mean softmax cross-entropy of logits [N, C] against integer labels (any Int32Array or number array). */
export function crossEntropy(logits: Tensor, labels: ArrayLike<number>): Tensor {
  if (logits.ndim !== 2) throw new Error(`crossEntropy: logits must be [N, C], got [${logits.shape.join(", ")}]`);
  const [N, C] = logits.shape;
  if (labels.length !== N) throw new Error(`crossEntropy: ${labels.length} labels for ${N} rows`);
  const y32 = kernelLabels(labels, N);
  const probs = allocF32(N * C);
  const losses = allocF32(N);
  const mean = softmaxCrossEntropyForward(logits.data, y32, probs, losses, N, C);
  const y = Tensor.from([mean], [1]);
  return record(y, "cross_entropy", [logits], (dy) =>
    accumulateGrad(logits, (dl) => softmaxCrossEntropyBackward(probs, y32, dl, N, C, dy[0] / N)),
  );
}
