// placeholder: filled in by the kernel work
export const poolPlaceholder: i32 = 0;
