/* Every kernel (kernels_impl.h) compiled for AVX2: a 16-lane vector is two 256-bit registers. */
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma")
#define STEP(name) step_##name##_avx2
#define KERNEL_SET kernels_avx2
#include "kernels_impl.h"
#endif
