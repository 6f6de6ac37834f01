// f32 AdderNet entry points on the wasm kernels (assembly/adder.ts): y = −Σ|x − w| for conv- and
// linear-shaped layers, and their gradients.
//
// Gradient rules (docs/addernet.md, "Gradients"), chosen by `grad`:
//   "paper" (default)  dW = Σ dY·(X − W)        dX = Σ dY·clamp(W − X, −1, 1)
//   "sign"             dW = Σ dY·sgn(X − W)     dX = Σ dY·sgn(W − X)       (the true derivative)
// Forms of the sum (`form`, docs/addernet.md "Two forms of the sum"): the same math, rounded
// differently.
//   "min" (default)  −Σ|x − w| = 2·Σ min(x, w) − Σx − Σw: one min and one add per term, as a
//                    multiply-add, where the direct form takes two subtractions on the same FP
//                    adders (1.35–1.55× faster on LeNet's conv2 and fc layers and ResNet-20's
//                    layers, 1.2× on LeNet's one-channel conv1; BENCHMARKS.md).
//                    Depthwise-like convs (one output channel per group) keep the direct sum:
//                    there Σx costs as much as the whole product. Where x ≥ +0 (after a ReLU) the
//                    kernels take the min on integer bit patterns, same bits, 1.2–1.3× faster
//                    (assembly/adder.ts, "BITS_MIN").
//   "direct"         every term |x − w| as written, the official code's order. Models trained
//                    before the min form existed keep it, so they re-run bit for bit.
// The form is the forward pass's only: the gradients have one way of computing them.
// The paper's weight gradient runs as a plain GEMM plus a rank-1 correction,
// dW[k,r] = Σ dY[k,·]·X[r,·] − W[k,r]·Σ dY[k,·], on the conv/linear weight-gradient kernels.
// No kernel ever builds the (Cout × K × positions) tensor of the official code.
//
// Conv-shaped layers always take the im2col path (depthwise too: a 1-row L1-GEMM), with the conv
// kernels' planning (blocks, padded planes). Every kernel writes disjoint outputs per slice, so
// results are bit-identical for any thread count.
import { checkConvArrays, checkLength, conv2dBackwardWeight, plan, type Conv2dShape } from "./conv2d.js";
import { addChannelBias, sumChannels } from "./elementwise.js";
import { alignUp, gemm, grainFor, inMemory, rowsPerPanelItem, threadScratch } from "./gemm.js";
import { runtime, type Runtime } from "./runtime.js";

export type AdderGrad = "paper" | "sign";
export type AdderForm = "min" | "direct";

/** Scratch slot (Runtime.scratch) for Σ dY per output channel in the weight gradient. */
const ROW_SUM_SLOT = 12;
const PANEL = 16;

function checkGrad(op: string, grad: AdderGrad): boolean {
  if (grad !== "paper" && grad !== "sign") throw new Error(`${op}: grad must be 'paper' or 'sign', got ${JSON.stringify(grad)}`);
  return grad === "sign";
}

function checkForm(op: string, form: AdderForm): boolean {
  if (form !== "min" && form !== "direct") throw new Error(`${op}: form must be 'min' or 'direct', got ${JSON.stringify(form)}`);
  return form === "min";
}


/** y = −Σ|x − w| (+ bias) over every tap, padded taps included (they add −|w|); y is overwritten. */
export function adder2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, s: Conv2dShape, form: AdderForm = "min"): void {
  const op = "adder2dForward";
  const minForm = checkForm(op, form);
  checkConvArrays(op, s, { x: [x, "input"], w: [w, "weight"], bias: [bias, "channels"], y: [y, "output"] });
  const p = plan(s);
  inMemory(p.rt, op, { x, w, bias, y });
  const blocks = Math.ceil(p.P / p.blockP);
  // padded planes, a col block, the min form's column sums and weight row sums
  const slotBytes = alignUp((p.padFloats + p.R * p.blockP + p.blockP + p.Kg) * 4, 64);
  p.rt.parallel(
    "adder2dForwardF32",
    [x.byteOffset, w.byteOffset, bias ? bias.byteOffset : 0, y.byteOffset, p.shape, +(minForm && p.Kg >= 2), threadScratch(p.rt, slotBytes), slotBytes],
    s.N * s.groups * blocks, grainFor(p.Kg * p.R * p.blockP), 1, true,
  );
}

/**
 * dx = Σ dy · f(w − x) over in-image taps (gradients landing on padding are dropped); dx is overwritten.
 * `zeroInputsDropped`: the caller discards dx wherever x is +0 (x is a ReLU's output, whose backward
 * multiplies by [x > 0]). Tile rows whose inputs are all +0 are then skipped: dx at those x holds
 * only part of its sum, and every other element has the same bits as without the flag.
 */
export function adder2dBackwardInput(
  x: Float32Array, dy: Float32Array, w: Float32Array, dx: Float32Array, s: Conv2dShape, grad: AdderGrad = "paper", zeroInputsDropped = false,
): void {
  const op = "adder2dBackwardInput";
  const sign = checkGrad(op, grad);
  checkConvArrays(op, s, { x: [x, "input"], dy: [dy, "output"], w: [w, "weight"], dx: [dx, "input"] });
  const p = plan(s);
  inMemory(p.rt, op, { x, dy, w, dx });
  // x and dx padded planes, a dy block, a col block (overwritten by dcol), f(W) of a group, tap offsets
  const slotBytes = alignUp((2 * p.padFloats + (p.Kg + p.R) * p.blockP + p.Kg * p.R + p.R) * 4, 64);
  p.rt.parallel(
    "adder2dBackwardInputF32",
    [x.byteOffset, dy.byteOffset, w.byteOffset, dx.byteOffset, p.shape, +sign, +zeroInputsDropped, threadScratch(p.rt, slotBytes), slotBytes],
    s.N * s.groups, grainFor(p.Kg * p.R * p.P), 1, true,
  );
}

/** dw = Σ dy · (x − w) (paper) or Σ dy · sgn(x − w), padded taps taking part with x = 0; dw is overwritten. */
export function adder2dBackwardWeight(x: Float32Array, dy: Float32Array, w: Float32Array, dw: Float32Array, s: Conv2dShape, grad: AdderGrad = "paper"): void {
  const op = "adder2dBackwardWeight";
  const sign = checkGrad(op, grad);
  checkConvArrays(op, s, { x: [x, "input"], dy: [dy, "output"], w: [w, "weight"], dw: [dw, "weight"] });
  const rt = runtime();
  inMemory(rt, op, { x, dy, w, dw });
  if (sign) {
    const p = plan(s);
    const slotBytes = alignUp(p.padFloats * 4 + p.Kg * p.dwCols * 16 + p.dwCols * p.blockP * 4, 64);
    // fixed slices, as conv2dBackwardWeight: each call walks every image
    rt.parallel(
      "adder2dSignWeightF32",
      [dy.byteOffset, x.byteOffset, w.byteOffset, dw.byteOffset, p.shape, threadScratch(rt, slotBytes), slotBytes],
      s.groups * p.R, grainFor(p.Kg * s.N * p.P), 4,
    );
    return;
  }
  const rowSum = rt.f32(rt.scratch(ROW_SUM_SLOT, s.K * 4), s.K);
  conv2dBackwardWeight(dy, x, dw, s, rowSum);
  subtractRowTerm(rt, dw, w, rowSum, s.K, w.length / s.K);
}

/** dw[k][r] −= w[k][r] · rowSum[k]: Σ dy·x becomes Σ dy·(x − w). */
function subtractRowTerm(rt: Runtime, dw: Float32Array, w: Float32Array, rowSum: Float32Array, K: number, R: number): void {
  rt.parallel("adderRowCorrectionF32", [dw.byteOffset, w.byteOffset, rowSum.byteOffset, R], K, grainFor(R * 64));
}

// ---- fully connected: x [N, I], w [O, I], y [N, O] ----

type LinearRole = "input" | "output" | "weight" | "features";

/** Validate the sizes, then each named array's length for its role, in order; null arrays pass. */
function checkLinearArrays(op: string, N: number, I: number, O: number, arrays: Record<string, [Float32Array | null, LinearRole]>): void {
  for (const [name, v] of [["N", N], ["inFeatures", I], ["outFeatures", O]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${name} must be a positive integer, got ${v}`);
  }
  const sizes: Record<LinearRole, [number, string]> = {
    input: [N * I, "N·inFeatures"],
    output: [N * O, "N·outFeatures"],
    weight: [O * I, "outFeatures·inFeatures"],
    features: [O, "outFeatures"],
  };
  for (const [name, [a, role]] of Object.entries(arrays)) checkLength(op, name, a, ...sizes[role]);
}

/** Rows per work item: whole columns of panels, cut into row blocks when there are few panels (as gemm). */
function rowsPerItem(rt: Runtime, M: number, cols: number): number {
  return rowsPerPanelItem(rt, M, Math.ceil(cols / PANEL));
}

/** y = −Σ_i |x[n][i] − w[o][i]| (+ bias[o]); y is overwritten. */
export function adderLinearForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, N: number, I: number, O: number, form: AdderForm = "min"): void {
  const op = "adderLinearForward";
  const minForm = checkForm(op, form);
  checkLinearArrays(op, N, I, O, { x: [x, "input"], w: [w, "weight"], bias: [bias, "features"], y: [y, "output"] });
  const rt = runtime();
  inMemory(rt, op, { x, w, bias, y });
  const rows = rowsPerItem(rt, N, O);
  // a packed panel of wᵀ, then the min form's panel column sums and x row sums
  const slotBytes = alignUp((I * PANEL + PANEL + rows) * 4, 64);
  const items = Math.ceil(O / PANEL) * Math.ceil(N / rows);
  rt.parallel("adderLinearForwardF32", [N, O, I, x.byteOffset, w.byteOffset, y.byteOffset, +minForm, rows, threadScratch(rt, slotBytes), slotBytes], items, grainFor(rows * PANEL * I), 1, true);
  if (bias) addChannelBias(y, bias, N, O, 1);
}

/**
 * out[M×cols] = Σ_k S[r][k]·f(V[k][j] − H[r][j]) on the held-operand kernel (see assembly/adder.ts);
 * `sars`/`saks` are S's row and reduction strides in floats.
 */
function linearGrad(rt: Runtime, S: Float32Array, sars: number, saks: number, V: Float32Array, H: Float32Array, out: Float32Array, M: number, cols: number, K: number, sign: boolean): void {
  const rows = rowsPerItem(rt, M, cols);
  const slotBytes = alignUp((K + rows) * PANEL * 4, 64);
  const items = Math.ceil(cols / PANEL) * Math.ceil(M / rows);
  rt.parallel(
    "adderLinearGradF32",
    [S.byteOffset, sars * 4, saks * 4, V.byteOffset, cols, H.byteOffset, cols, out.byteOffset, cols, M, cols, K, +sign, rows, threadScratch(rt, slotBytes), slotBytes],
    items, grainFor(rows * PANEL * K * 2), 1, true,
  );
}

/** dx[n][i] = Σ_o dy[n][o] · f(w[o][i] − x[n][i]); dx is overwritten. */
export function adderLinearBackwardInput(x: Float32Array, dy: Float32Array, w: Float32Array, dx: Float32Array, N: number, I: number, O: number, grad: AdderGrad = "paper"): void {
  const op = "adderLinearBackwardInput";
  const sign = checkGrad(op, grad);
  checkLinearArrays(op, N, I, O, { x: [x, "input"], dy: [dy, "output"], w: [w, "weight"], dx: [dx, "input"] });
  const rt = runtime();
  inMemory(rt, op, { x, dy, w, dx });
  linearGrad(rt, dy, O, 1, w, x, dx, N, I, O, sign);
}

/** dw[o][i] = Σ_n dy[n][o] · (x[n][i] − w[o][i]) (paper) or · sgn(x − w); dw is overwritten. */
export function adderLinearBackwardWeight(x: Float32Array, dy: Float32Array, w: Float32Array, dw: Float32Array, N: number, I: number, O: number, grad: AdderGrad = "paper"): void {
  const op = "adderLinearBackwardWeight";
  const sign = checkGrad(op, grad);
  checkLinearArrays(op, N, I, O, { x: [x, "input"], dy: [dy, "output"], w: [w, "weight"], dw: [dw, "weight"] });
  const rt = runtime();
  inMemory(rt, op, { x, dy, w, dw });
  if (sign) {
    // S = dyᵀ: S[o][n] = dy[n][o]
    linearGrad(rt, dy, 1, O, x, w, dw, O, I, N, true);
    return;
  }
  gemm(true, false, O, I, N, dy, O, x, I, dw, I, false);
  const rowSum = rt.f32(rt.scratch(ROW_SUM_SLOT, O * 4), O);
  sumChannels(dy, rowSum, N, O, 1);
  subtractRowTerm(rt, dw, w, rowSum, O, I);
}
