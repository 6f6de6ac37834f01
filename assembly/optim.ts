// The optimizers' element-wise updates (src/optim/adam.ts, radam.ts and sgd.ts give the formulas,
// after torch.optim). Each step below is one f32 operation. The TypeScript loops compute each in f64
// and round with Math.fround; for +, −, ×, ÷ and √ of f32 operands that double rounding gives the
// correctly rounded f32 result (f64 has more than 2·24 + 2 bits), so both give the same bits.
// Maps over [start, end): vector body of 4 lanes, then the tail one lane at a time through the
// same vector code (lane 0 loaded, lane 0 stored), so the formulas are written once.

/** Adam flags: AdamW's decoupled decay; L2 decay added to the gradient; AMSGrad; lerp's w ≥ 0.5 form. */
export const ADAM_DECOUPLED: i32 = 1;
export const ADAM_L2: i32 = 2;
export const ADAM_AMSGRAD: i32 = 4;
export const ADAM_LERP_HIGH: i32 = 8;

/** RAdam flag: the rectified step (ρt > 5). */
export const RADAM_RECTIFIED: i32 = 16;

/** SGD flags: weight decay; momentum; the first momentum step (buf = g); Nesterov. */
export const SGD_DECAY: i32 = 1;
export const SGD_MOMENTUM: i32 = 2;
export const SGD_FIRST: i32 = 4;
export const SGD_NESTEROV: i32 = 8;

// @ts-ignore: decorator
@inline function splat(x: f32): v128 {
  return f32x4.splat(x);
}

/** Load 4 lanes, or lane 0 alone for the tail. */
// @ts-ignore: decorator
@inline function loadLanes(a: usize, lanes: i32): v128 {
  return lanes == 4 ? v128.load(a) : v128.load32_zero(a);
}

// @ts-ignore: decorator
@inline function storeLanes(a: usize, x: v128, lanes: i32): void {
  if (lanes == 4) v128.store(a, x);
  else v128.store32_lane(a, x, 0);
}

/**
 * Adam's and RAdam's common part at byte offset o: weight decay (decoupled, or L2 into the
 * gradient), then m = lerp(m, g, w) and v = β2·v + (1 − β2)·g·g stored. Returns p after decay.
 */
// @ts-ignore: decorator
@inline function decayAndMoments(
  o: usize, lanes: i32, p: usize, g: usize, m: usize, v: usize, flags: i32,
  decay: v128, l2: v128, w: v128, wc: v128, b2: v128, oneMinusB2: v128,
): v128 {
  let pi = loadLanes(p + o, lanes);
  let gi = loadLanes(g + o, lanes);
  const m0 = loadLanes(m + o, lanes), v0 = loadLanes(v + o, lanes);
  if (flags & ADAM_DECOUPLED) pi = f32x4.mul(pi, decay);
  if (flags & ADAM_L2) gi = f32x4.add(gi, f32x4.mul(l2, pi));
  // torch.lerp(m, g, w)
  const diff = f32x4.sub(gi, m0);
  storeLanes(m + o, flags & ADAM_LERP_HIGH ? f32x4.sub(gi, f32x4.mul(diff, wc)) : f32x4.add(m0, f32x4.mul(w, diff)), lanes);
  storeLanes(v + o, f32x4.add(f32x4.mul(b2, v0), f32x4.mul(f32x4.mul(oneMinusB2, gi), gi)), lanes);
  return pi;
}

/** One Adam step of 4 lanes at byte offset o; `flags` is a constant where the caller inlines it. */
// @ts-ignore: decorator
@inline function adamLanes(
  o: usize, lanes: i32, p: usize, g: usize, m: usize, v: usize, vmax: usize, flags: i32,
  decay: v128, l2: v128, w: v128, wc: v128, b2: v128, oneMinusB2: v128, bc2Sqrt: v128, eps: v128, negStep: v128,
): void {
  const pi = decayAndMoments(o, lanes, p, g, m, v, flags, decay, l2, w, wc, b2, oneMinusB2);
  const mi = loadLanes(m + o, lanes);
  let vHat = loadLanes(v + o, lanes);
  if (flags & ADAM_AMSGRAD) {
    // f32x4.max is IEEE maximum (NaN in, NaN out; max(−0, +0) = +0), as Math.max
    vHat = f32x4.max(loadLanes(vmax + o, lanes), vHat);
    storeLanes(vmax + o, vHat, lanes);
  }
  const denom = f32x4.add(f32x4.div(f32x4.sqrt(vHat), bc2Sqrt), eps);
  storeLanes(p + o, f32x4.add(pi, f32x4.div(f32x4.mul(negStep, mi), denom)), lanes);
}

// @ts-ignore: decorator
@inline function adamRange(
  p: usize, g: usize, m: usize, v: usize, vmax: usize, flags: i32,
  decay: f32, l2: f32, w: f32, wc: f32, b2: f32, oneMinusB2: f32, bc2Sqrt: f32, eps: f32, negStep: f32, start: i32, end: i32,
): void {
  const vd = splat(decay), vl2 = splat(l2), vw = splat(w), vwc = splat(wc), vb2 = splat(b2), vomb2 = splat(oneMinusB2);
  const vbc = splat(bc2Sqrt), veps = splat(eps), vstep = splat(negStep);
  let i = start;
  for (; i + 4 <= end; i += 4) adamLanes(<usize>i << 2, 4, p, g, m, v, vmax, flags, vd, vl2, vw, vwc, vb2, vomb2, vbc, veps, vstep);
  for (; i < end; i++) adamLanes(<usize>i << 2, 1, p, g, m, v, vmax, flags, vd, vl2, vw, vwc, vb2, vomb2, vbc, veps, vstep);
}

/**
 * Adam over elements [start, end): p parameters, g gradients, m and v the moment estimates, vmax
 * AMSGrad's running max (read only with ADAM_AMSGRAD). Scalars are those of src/optim/adam.ts.
 */
export function adamStepF32(
  p: usize, g: usize, m: usize, v: usize, vmax: usize, flags: i32,
  decay: f32, l2: f32, w: f32, wc: f32, b2: f32, oneMinusB2: f32, bc2Sqrt: f32, eps: f32, negStep: f32, start: i32, end: i32,
): void {
  // the default options get a loop of their own; the others test their flags per vector
  if (flags == 0) adamRange(p, g, m, v, vmax, 0, decay, l2, w, wc, b2, oneMinusB2, bc2Sqrt, eps, negStep, start, end);
  else adamRange(p, g, m, v, vmax, flags, decay, l2, w, wc, b2, oneMinusB2, bc2Sqrt, eps, negStep, start, end);
}

// @ts-ignore: decorator
@inline function sgdLanes(o: usize, lanes: i32, p: usize, g: usize, buf: usize, flags: i32, negLr: v128, wd: v128, mom: v128, keep: v128): void {
  const pi = loadLanes(p + o, lanes);
  let gi = loadLanes(g + o, lanes);
  if (flags & SGD_DECAY) gi = f32x4.add(gi, f32x4.mul(wd, pi));
  let u = gi;
  if (flags & SGD_MOMENTUM) {
    const b = flags & SGD_FIRST ? gi : f32x4.add(f32x4.mul(mom, loadLanes(buf + o, lanes)), f32x4.mul(keep, gi));
    storeLanes(buf + o, b, lanes);
    u = flags & SGD_NESTEROV ? f32x4.add(gi, f32x4.mul(mom, b)) : b;
  }
  storeLanes(p + o, f32x4.add(pi, f32x4.mul(negLr, u)), lanes);
}

// @ts-ignore: decorator
@inline function sgdRange(p: usize, g: usize, buf: usize, flags: i32, negLr: f32, wd: f32, mom: f32, keep: f32, start: i32, end: i32): void {
  const vl = splat(negLr), vwd = splat(wd), vm = splat(mom), vk = splat(keep);
  let i = start;
  for (; i + 4 <= end; i += 4) sgdLanes(<usize>i << 2, 4, p, g, buf, flags, vl, vwd, vm, vk);
  for (; i < end; i++) sgdLanes(<usize>i << 2, 1, p, g, buf, flags, vl, vwd, vm, vk);
}

/**
 * SGD over elements [start, end): p parameters, g gradients, buf the momentum buffer (used with
 * SGD_MOMENTUM). Scalars are those of src/optim/sgd.ts: −lr, weight decay, momentum, 1 − dampening.
 */
export function sgdStepF32(p: usize, g: usize, buf: usize, flags: i32, negLr: f32, wd: f32, mom: f32, keep: f32, start: i32, end: i32): void {
  if (flags == SGD_MOMENTUM) sgdRange(p, g, buf, SGD_MOMENTUM, negLr, wd, mom, keep, start, end);
  else sgdRange(p, g, buf, flags, negLr, wd, mom, keep, start, end);
}

/** One RAdam step of 4 lanes at byte offset o (src/optim/radam.ts). */
// @ts-ignore: decorator
@inline function radamLanes(
  o: usize, lanes: i32, p: usize, g: usize, m: usize, v: usize, flags: i32,
  decay: v128, l2: v128, w: v128, wc: v128, b2: v128, oneMinusB2: v128, bc1: v128, lr: v128, bc2Sqrt: v128, eps: v128, rect: v128,
): void {
  const pi = decayAndMoments(o, lanes, p, g, m, v, flags, decay, l2, w, wc, b2, oneMinusB2);
  const scaled = f32x4.mul(f32x4.div(loadLanes(m + o, lanes), bc1), lr);
  let step = scaled;
  if (flags & RADAM_RECTIFIED) {
    // Python's `float / tensor` is tensor.reciprocal() · float
    const adaptive = f32x4.mul(f32x4.div(f32x4.splat(1), f32x4.add(f32x4.sqrt(loadLanes(v + o, lanes)), eps)), bc2Sqrt);
    step = f32x4.mul(f32x4.mul(scaled, adaptive), rect);
  }
  storeLanes(p + o, f32x4.sub(pi, step), lanes);
}

/**
 * RAdam over elements [start, end): p, g, m, v as adamStepF32 (ADAM_DECOUPLED, ADAM_L2 and
 * ADAM_LERP_HIGH apply), RADAM_RECTIFIED for the rectified step. Scalars are those of radam.ts.
 */
export function radamStepF32(
  p: usize, g: usize, m: usize, v: usize, flags: i32,
  decay: f32, l2: f32, w: f32, wc: f32, b2: f32, oneMinusB2: f32, bc1: f32, lr: f32, bc2Sqrt: f32, eps: f32, rect: f32, start: i32, end: i32,
): void {
  const vd = splat(decay), vl2 = splat(l2), vw = splat(w), vwc = splat(wc), vb2 = splat(b2), vomb2 = splat(oneMinusB2);
  const vbc1 = splat(bc1), vlr = splat(lr), vbc2 = splat(bc2Sqrt), veps = splat(eps), vrect = splat(rect);
  let i = start;
  for (; i + 4 <= end; i += 4) radamLanes(<usize>i << 2, 4, p, g, m, v, flags, vd, vl2, vw, vwc, vb2, vomb2, vbc1, vlr, vbc2, veps, vrect);
  for (; i < end; i++) radamLanes(<usize>i << 2, 1, p, g, m, v, flags, vd, vl2, vw, vwc, vb2, vomb2, vbc1, vlr, vbc2, veps, vrect);
}
