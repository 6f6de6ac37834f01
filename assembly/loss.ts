// placeholder: filled in by the kernel work
export const lossPlaceholder: i32 = 0;
