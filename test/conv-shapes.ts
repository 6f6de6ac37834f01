// Random conv shapes for the kernel-vs-reference tests (conv2d and adder2d draw the same ones).
import { conv2dShape, type Conv2dShape } from "../src/kernels/conv2d.js";

export type ConvKind = "dense" | "grouped" | "depthwise";

/** A random conv shape of the given kind: strides 1–3, dilations 1–2, paddings 0–3, odd sizes often. */
export function randomConvShape(rand: () => number, kind: ConvKind): Conv2dShape {
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const N = rand() < 0.25 ? 1 : int(2, 3);
  let C: number, K: number, groups: number;
  if (kind === "dense") {
    groups = 1; C = int(1, 6); K = int(1, 9);
  } else if (kind === "grouped") {
    groups = int(2, 3); C = groups * int(1, 3); K = groups * int(1, 4);
  } else {
    C = int(2, 6); groups = C; K = C * int(1, 3); // channel multiplier 1..3
  }
  const kh = int(1, 5), kw = int(1, 5);
  const stride: [number, number] = [int(1, 3), int(1, 3)];
  const dilation: [number, number] = [int(1, 2), int(1, 2)];
  const padding: [number, number] = [int(0, 3), int(0, 3)];
  // the smallest input the dilated kernel fits, then some random extra (often odd)
  const H = Math.max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0]) + int(0, 11);
  const W = Math.max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1]) + int(0, 13);
  return conv2dShape([N, C, H, W], [K, C / groups, kh, kw], { stride, padding, dilation, groups });
}

/** Shapes for the 1- vs 2-thread byte tests: LeNet's, grouped, depthwise, dilated, and one whose
 *  weight gradient takes two passes of columns. */
export function threadSplitShapes(): Conv2dShape[] {
  return [
    conv2dShape([8, 6, 14, 14], [16, 6, 5, 5]),
    conv2dShape([4, 1, 28, 28], [6, 1, 5, 5], { padding: 2 }),
    conv2dShape([3, 12, 9, 11], [9, 4, 3, 2], { groups: 3, stride: [2, 1], padding: 1 }),
    conv2dShape([5, 8, 10, 10], [16, 1, 3, 3], { groups: 8, padding: 1 }),
    conv2dShape([2, 5, 7, 13], [7, 5, 3, 3], { dilation: 2, padding: [2, 3] }),
    conv2dShape([3, 40, 6, 5], [6, 40, 3, 3], { padding: 1 }), // R = 360: two passes of dW columns
  ];
}
