// One wasm module: every kernel family re-exported from here.
// Kernels are pure functions over pointers into the shared memory; they know nothing of tensors.
// Parallel kernels take a half-open range [start, end) of their split dimension as the last two
// arguments, so the worker pool can hand each thread its own slice.
export * from "./elementwise";
export * from "./gemm";
export * from "./im2col";
export * from "./depthwise";
export * from "./pool";
export * from "./batchnorm";
export * from "./loss";
export * from "./adder";
export * from "./int8_shift";
export * from "./int8_adder";
export * from "./int8_mul";
export * from "./int8_ops";
export * from "./shift_round";
export * from "./int8_program";
export * from "./fake_quant";
export * from "./optim";
