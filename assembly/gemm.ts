// placeholder: filled in by the kernel work
export const gemmPlaceholder: i32 = 0;
