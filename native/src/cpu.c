/*
 * Run-time dispatch: the CPU's features (cpuid, and the operating system's support for the wider
 * registers, through __builtin_cpu_supports) choose the GEMM micro-kernel and the kernel set
 * (kernels_impl.h, compiled once per instruction set).
 * One binary runs on any x86-64 (AVX-512, else AVX2 + FMA, else the generic C) and elsewhere
 * (generic only).
 */
#include <string.h>

#include "bptt_native.h"

static const backend_paths generic_paths = {"generic", &micro_kernel_generic, &kernels_generic};

#if defined(__x86_64__)
static const backend_paths avx2_paths = {"avx2", &micro_kernel_avx2, &kernels_avx2};
static const backend_paths avx512_paths = {"avx512", &micro_kernel_avx512, &kernels_avx512};

static int has_avx2(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
static int has_avx512(void) {
  return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl");
}
#endif

const backend_paths* paths_for(const char* isa) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (isa == NULL) return has_avx512() ? &avx512_paths : has_avx2() ? &avx2_paths : &generic_paths;
  if (strcmp(isa, "avx512") == 0) return has_avx512() ? &avx512_paths : NULL;
  if (strcmp(isa, "avx2") == 0) return has_avx2() ? &avx2_paths : NULL;
#else
  if (isa == NULL) return &generic_paths;
#endif
  if (strcmp(isa, "generic") == 0) return &generic_paths;
  return NULL;
}

static const backend_paths* active = NULL;

const backend_paths* active_paths(void) {
  if (active == NULL) active = paths_for(NULL);
  return active;
}

void use_paths(const backend_paths* paths) { active = paths; }

const char* cpu_features(void) {
  static char list[256];
  list[0] = 0;
#if defined(__x86_64__)
  __builtin_cpu_init();
#define FEATURE(name)                                              \
  if (__builtin_cpu_supports(name)) {                              \
    if (list[0]) strcat(list, " ");                                \
    strcat(list, name);                                            \
  }
  FEATURE("sse4.2") FEATURE("avx") FEATURE("avx2") FEATURE("fma") FEATURE("avx512f") FEATURE("avx512dq")
  FEATURE("avx512bw") FEATURE("avx512vl")
#undef FEATURE
#endif
  return list;
}
