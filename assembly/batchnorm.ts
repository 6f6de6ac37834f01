// placeholder: filled in by the kernel work
export const batchnormPlaceholder: i32 = 0;
