/*
 * The portable GEMM micro-kernel: a 4×16 tile in plain C, one fmaf per term (a single rounding, as the
 * vector paths' fused multiply-adds, so every path gives the same bits; where the CPU has no FMA
 * instruction fmaf is a slow library call, but correct). See bptt_native.h.
 */
#include <math.h>

#include "bptt_native.h"

#define MR 4
#define NR 16

static void kernel_4x16(long kc, const float* u, const long* row, long uk, const float* v, float* tile) {
  float acc[MR][NR] = {{0}};
  for (long k = 0; k < kc; k++) {
    for (int r = 0; r < MR; r++) {
      const float a = u[row[r] + k * uk];
      for (int l = 0; l < NR; l++) acc[r][l] = fmaf(a, v[k * NR + l], acc[r][l]);
    }
  }
  for (int r = 0; r < MR; r++)
    for (int l = 0; l < NR; l++) tile[r * NR + l] = acc[r][l];
}

const micro_kernel micro_kernel_generic = {"generic", MR, NR, kernel_4x16};
