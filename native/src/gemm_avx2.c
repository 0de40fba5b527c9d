/*
 * The AVX2/FMA GEMM micro-kernel: a 6×16 tile in twelve 256-bit accumulators (two per row); per k,
 * two vector loads of the packed operand and six broadcasts of the other. See bptt_native.h.
 */
#include "bptt_native.h"

#if defined(__x86_64__)
#pragma GCC target("avx2,fma")
#include <immintrin.h>

static void kernel_6x16(long kc, const float* u, const long* row, long uk, const float* v, float* tile) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  const float* u0 = u + row[0];
  const float* u1 = u + row[1];
  const float* u2 = u + row[2];
  const float* u3 = u + row[3];
  const float* u4 = u + row[4];
  const float* u5 = u + row[5];
#define ROW(r)                                      \
  {                                                 \
    const __m256 a = _mm256_broadcast_ss(u##r + k * uk); \
    c##r##0 = _mm256_fmadd_ps(a, b0, c##r##0);      \
    c##r##1 = _mm256_fmadd_ps(a, b1, c##r##1);      \
  }
#pragma GCC unroll 4
  for (long k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_load_ps(v + 16 * k);
    const __m256 b1 = _mm256_load_ps(v + 16 * k + 8);
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
  }
#undef ROW
  _mm256_store_ps(tile + 0, c00);
  _mm256_store_ps(tile + 8, c01);
  _mm256_store_ps(tile + 16, c10);
  _mm256_store_ps(tile + 24, c11);
  _mm256_store_ps(tile + 32, c20);
  _mm256_store_ps(tile + 40, c21);
  _mm256_store_ps(tile + 48, c30);
  _mm256_store_ps(tile + 56, c31);
  _mm256_store_ps(tile + 64, c40);
  _mm256_store_ps(tile + 72, c41);
  _mm256_store_ps(tile + 80, c50);
  _mm256_store_ps(tile + 88, c51);
}

const micro_kernel micro_kernel_avx2 = {"avx2", 6, 16, kernel_6x16};
#else
const micro_kernel micro_kernel_avx2 = {"avx2", 0, 0, 0};
#endif
