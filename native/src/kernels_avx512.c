/* Every kernel (kernels_impl.h) compiled for AVX-512: vectors of 16 lanes, one register. */
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")
#define STEP(name) step_##name##_avx512
#define KERNEL_SET kernels_avx512
#define VEC_LANES 16
#include "kernels_impl.h"
#endif
