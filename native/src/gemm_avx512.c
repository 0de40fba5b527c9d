/*
 * The AVX-512 GEMM micro-kernel: an 8×32 tile in sixteen 512-bit accumulators (two per row); per k,
 * two vector loads of the packed operand and eight broadcasts of the other. See bptt_native.h.
 */
#include "bptt_native.h"

#if defined(__x86_64__)
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")
#include <immintrin.h>

static void kernel_8x32(long kc, const float* u, const long* row, long uk, const float* v, float* tile) {
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
  __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
  __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps(), c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
  const float* u0 = u + row[0];
  const float* u1 = u + row[1];
  const float* u2 = u + row[2];
  const float* u3 = u + row[3];
  const float* u4 = u + row[4];
  const float* u5 = u + row[5];
  const float* u6 = u + row[6];
  const float* u7 = u + row[7];
#define ROW(r)                                      \
  {                                                 \
    const __m512 a = _mm512_set1_ps(u##r[k * uk]);  \
    c##r##0 = _mm512_fmadd_ps(a, b0, c##r##0);      \
    c##r##1 = _mm512_fmadd_ps(a, b1, c##r##1);      \
  }
#pragma GCC unroll 4
  for (long k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(v + 32 * k);
    const __m512 b1 = _mm512_load_ps(v + 32 * k + 16);
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
  }
#undef ROW
  _mm512_store_ps(tile + 0, c00);
  _mm512_store_ps(tile + 16, c01);
  _mm512_store_ps(tile + 32, c10);
  _mm512_store_ps(tile + 48, c11);
  _mm512_store_ps(tile + 64, c20);
  _mm512_store_ps(tile + 80, c21);
  _mm512_store_ps(tile + 96, c30);
  _mm512_store_ps(tile + 112, c31);
  _mm512_store_ps(tile + 128, c40);
  _mm512_store_ps(tile + 144, c41);
  _mm512_store_ps(tile + 160, c50);
  _mm512_store_ps(tile + 176, c51);
  _mm512_store_ps(tile + 192, c60);
  _mm512_store_ps(tile + 208, c61);
  _mm512_store_ps(tile + 224, c70);
  _mm512_store_ps(tile + 240, c71);
}

const micro_kernel micro_kernel_avx512 = {"avx512", 8, 32, kernel_8x32};
#else
const micro_kernel micro_kernel_avx512 = {"avx512", 0, 0, 0};
#endif
