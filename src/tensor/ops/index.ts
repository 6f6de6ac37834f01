export { conv2d, type Conv2dOptions } from "./conv2d.js";
export { linear } from "./linear.js";
export { batchNorm } from "./batchnorm.js";
export { relu } from "./activation.js";
export { dropout } from "./dropout.js";
export { maxPool2d, avgPool2d, globalAvgPool, type Pool2dOptions } from "./pool.js";
export { crossEntropy } from "./loss.js";
export { reshape, flatten } from "./shape.js";
export { add } from "./arith.js";
