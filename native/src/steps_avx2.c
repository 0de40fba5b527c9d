/* The step kernels (steps_impl.h) compiled for AVX2: a 16-lane vector is two 256-bit registers. */
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma")
#define STEP(name) step_##name##_avx2
#include "steps_impl.h"
#include "fused_impl.h"
#endif
