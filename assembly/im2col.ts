// placeholder: filled in by the kernel work
export const im2colPlaceholder: i32 = 0;
