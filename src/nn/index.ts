export { Module } from "./module.js";
export { Conv2d, convGeometry, convOptions, weightShape, type ConvGeometry, type Conv2dConfig } from "./conv.js";
export { Linear } from "./linear.js";
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from "./batchnorm.js";
export { ReLU, MaxPool2d, AvgPool2d, GlobalAvgPool2d, Dropout, Flatten } from "./layers.js";
export { Sequential, Residual } from "./container.js";
export * as init from "./init.js";
export { Adder2d, AdderLinear, AdderLayer, type AdderOptions, type AdderForm, type AdderGrad } from "./adder.js";
