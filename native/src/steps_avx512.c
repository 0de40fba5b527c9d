/* The step kernels (steps_impl.h) compiled for AVX-512: one 16-lane vector per register. */
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")
#define STEP(name) step_##name##_avx512
#include "steps_impl.h"
#include "fused_impl.h"
#endif
