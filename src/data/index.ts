// The data layer: IDX and CIFAR-10 readers, in-memory datasets, a seeded RNG, loaders, augmentation.
export * from "./errors.js";
export * from "./idx.js";
export * from "./dataset.js";
export { Rng, permutation } from "../tensor/random.js";
export * from "./augment.js";
export * from "./loader.js";
export * from "./mnist.js";
export * from "./cifar.js";
export * from "./files.js";
export * from "./registry.js";
export * from "./preprocess.js";
