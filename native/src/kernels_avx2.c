/* Every kernel (kernels_impl.h) compiled for AVX2: vectors of 8 lanes, one 256-bit register. */
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma")
#define STEP(name) step_##name##_avx2
#define KERNEL_SET kernels_avx2
#define VEC_LANES 8
#include "kernels_impl.h"
#endif
