// Every tap of a convolution sum, in one fixed order (n, k, oh, ow, c, ki, kj): the loops that the
// reference conv and adder kernels share. For output y[n][k][oh][ow] and weight w[k][c][ki][kj] the
// tap reads x[n][g·Cg + c][ih][iw] with ih = oh·strideH − padH + ki·dilationH (likewise iw), or
// nothing when (ih, iw) falls in the padding.
import { checkConv2dShape, type Conv2dShape } from "../conv2d.js";

/** Calls visit(yIndex, xIndex or −1 for a padded tap, wIndex) for every tap of the sum. */
export function forEachTap(s: Conv2dShape, visit: (yIndex: number, xIndex: number, wIndex: number) => void): void {
  checkConv2dShape(s);
  const Cg = s.C / s.groups, Kg = s.K / s.groups;
  for (let n = 0; n < s.N; n++) {
    for (let k = 0; k < s.K; k++) {
      const g = Math.floor(k / Kg);
      for (let oh = 0; oh < s.OH; oh++) {
        for (let ow = 0; ow < s.OW; ow++) {
          const yIndex = ((n * s.K + k) * s.OH + oh) * s.OW + ow;
          for (let c = 0; c < Cg; c++) {
            for (let ki = 0; ki < s.kh; ki++) {
              const ih = oh * s.strideH - s.padH + ki * s.dilationH;
              for (let kj = 0; kj < s.kw; kj++) {
                const iw = ow * s.strideW - s.padW + kj * s.dilationW;
                const inside = ih >= 0 && ih < s.H && iw >= 0 && iw < s.W;
                const xIndex = inside ? ((n * s.C + g * Cg + c) * s.H + ih) * s.W + iw : -1;
                visit(yIndex, xIndex, ((k * Cg + c) * s.kh + ki) * s.kw + kj);
              }
            }
          }
        }
      }
    }
  }
}
