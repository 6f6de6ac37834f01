import { softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from "../../kernels/loss.js";
import { accumulateGrad, record } from "../autograd.js";
import { allocF32 } from "../storage.js";
import { Tensor } from "../tensor.js";

/** Mean softmax cross-entropy of logits [N, C] against integer labels (in wasm memory). */
export function crossEntropy(logits: Tensor, labels: Int32Array): Tensor {
  if (logits.ndim !== 2) throw new Error(`crossEntropy: logits must be [N, C], got [${logits.shape.join(", ")}]`);
  const [N, C] = logits.shape;
  if (labels.length !== N) throw new Error(`crossEntropy: ${labels.length} labels for ${N} rows`);
  const probs = allocF32(N * C);
  const losses = allocF32(N);
  const mean = softmaxCrossEntropyForward(logits.data, labels, probs, losses, N, C);
  const y = Tensor.from([mean], [1]);
  return record(y, "cross_entropy", [logits], (dy) =>
    accumulateGrad(logits, (dl) => softmaxCrossEntropyBackward(probs, labels, dl, N, C, dy[0] / N)),
  );
}
