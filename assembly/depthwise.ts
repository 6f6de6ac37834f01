// placeholder: filled in by the kernel work
export const depthwisePlaceholder: i32 = 0;
