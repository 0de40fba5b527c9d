/*
 * Float32 vectors as wide as the instruction set's registers, as GCC/Clang vector types, with σ, tanh
 * and exp on them; and sums over 16 lanes whose order every instruction set shares.
 *
 * The including file (kernels_avx512.c, kernels_avx2.c, kernels_generic.c) defines VEC_LANES: 16 (one
 * AVX-512 register), 8 (one AVX register) or 4 (SSE, NEON, or whatever the compiler makes of it), and
 * everything here is static inline so each gets its own copy for its target. A vector type wider than
 * the registers does not stay in them: GCC without AVX-512 keeps a 64-byte vector in memory and moves
 * it through general registers, which made the step kernels several times slower on AVX2.
 *
 * Elementwise arithmetic is the same per lane whatever the width. Sums across lanes are defined on 16
 * lanes — lane l holds the terms whose index is l mod 16 — kept as 16 / VEC_LANES vectors (v16) and
 * reduced by a fixed tree (reduce16), so every instruction set gives the same bits.
 *
 * Numerics: the same Cephes single-precision algorithms as the WebAssembly backend (wasm/activations.ts),
 * operation for operation, and the build disables FMA contraction (-ffp-contract=off):
 *   exp ≤ 1 ulp,  σ ≤ 2.5 ulp,  tanh ≤ 1.5 ulp   (measured by test/native/activations.test.ts).
 * NaN propagates; ±∞ and large arguments saturate (σ → 0 or 1, tanh → ±1); tanh(±0) = ±0.
 */
#ifndef BPTT_VEC_H
#define BPTT_VEC_H

#include <stdint.h>
#include <string.h>

#ifndef VEC_LANES
#error "define VEC_LANES (16, 8 or 4) before including vec.h"
#endif

/* VEC_LANES float32 (or int32) lanes; VEC_PARTS of them make 16. */
typedef float vf __attribute__((vector_size(4 * VEC_LANES)));
typedef int32_t vi __attribute__((vector_size(4 * VEC_LANES)));
#define VEC_PARTS (16 / VEC_LANES)

#define V_INLINE static inline __attribute__((always_inline))

V_INLINE vf splat(float x) {
  vf v;
  for (int l = 0; l < VEC_LANES; l++) v[l] = x; /* (not 0 + x, which turns −0 into +0) */
  return v;
}

/* Lanes 0…n−1 from p (0 ≤ n ≤ VEC_LANES), the others 0: a row's tail goes through the same arithmetic. */
V_INLINE vf loadv(const float* p, int n) {
  vf v;
  if (n == VEC_LANES) {
    memcpy(&v, p, sizeof v); /* a constant size: one unaligned vector load */
    return v;
  }
  v = splat(0.0f);
  memcpy(&v, p, (size_t)n * sizeof(float));
  return v;
}

/* Stores lanes 0…n−1 of v at p. */
V_INLINE void storev(float* p, vf v, int n) {
  if (n == VEC_LANES) memcpy(p, &v, sizeof v);
  else memcpy(p, &v, (size_t)n * sizeof(float));
}

/* The lanes left of the `n` wanted from position j of a row of `length` (all of them, or its tail). */
#define LANES(length, j) ((length) - (j) < VEC_LANES ? (int)((length) - (j)) : VEC_LANES)

/* cond ? a : b, lane by lane (cond from a vector comparison: all bits set or clear). */
V_INLINE vf selectv(vi cond, vf a, vf b) {
  return (vf)(((vi)a & cond) | ((vi)b & ~cond));
}

/* 1 − x² as (1 − x)(1 + x): accurate where x² ≈ 1 (tanh′ near saturation). */
V_INLINE vf one_minus_square(vf x) {
  return (1.0f - x) * (1.0f + x);
}

/*
 * e^x = 2ⁿ · e^r with n = round(x / ln 2), r = x − n·ln 2 (ln 2 in two parts for an exact product);
 * x clamped to [−87.34, 88.38] so that 2ⁿ is a normal float. n is rounded by adding 1.5·2²³, which
 * also leaves n in the low bits of t. e^r = 1 + r + r²·P(r), P of degree 5 by Estrin's scheme.
 */
V_INLINE vf expv(vf x) {
  const vf hi = splat(88.3762626647949f), lo = splat(-87.3365447505531f);
  x = selectv(hi < x, hi, x); /* keeps NaN (the comparison is false) */
  x = selectv(x < lo, lo, x);
  const vf round = splat(12582912.0f);
  const vf t = x * 1.44269504088896341f + round;
  const vf n = t - round;
  vf r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const vf r2 = r * r;
  const vf r4 = r2 * r2;
  const vf p01 = 1.9875691500e-4f * r + 1.3981999507e-3f;
  const vf p23 = 8.3334519073e-3f * r + 4.1665795894e-2f;
  const vf p45 = 1.6666665459e-1f * r + 5.0000001201e-1f;
  const vf p = (p23 * r2 + p45) + p01 * r4;
  const vf er = (p * r2 + r) + 1.0f;
  const vi scale = ((vi)t + 127) << 23; /* 2ⁿ: the 0x4B4… bits of t shift out */
  return er * (vf)scale;
}

/* σ(x) = 1 / (1 + e^−x). */
V_INLINE vf sigmoidv(vf x) {
  return 1.0f / (1.0f + expv(-x));
}

/*
 * tanh on |x| with x's sign put back (tanh is odd, so tanh(−0) = −0): an odd polynomial for
 * |x| < 0.625 (Cephes tanhf: |x| + |x|³·Q(x²), no cancellation near 0), else 1 − 2/(e^{2|x|} + 1).
 */
V_INLINE vf tanhv(vf x) {
  const vi sign = (vi)splat(-0.0f);
  const vf ax = (vf)((vi)x & ~sign);
  const vf e = expv(ax + ax);
  const vf large = 1.0f - 2.0f / (e + 1.0f);
  const vf z = ax * ax;
  vf q = splat(-5.70498872745e-3f);
  q = q * z + 2.06390887954e-2f;
  q = q * z + -5.37397155531e-2f;
  q = q * z + 1.33314422036e-1f;
  q = q * z + -3.33332819422e-1f;
  const vf small = (q * z) * ax + ax;
  const vf magnitude = selectv(ax < splat(0.625f), small, large);
  return (vf)((vi)magnitude | ((vi)x & sign));
}

/* ---- 16 lanes ----------------------------------------------------------------------------------- */

/* Sixteen float32 lanes: part q holds lanes q·VEC_LANES … (q + 1)·VEC_LANES − 1. */
typedef struct {
  vf part[VEC_PARTS];
} v16;

V_INLINE v16 zero16(void) {
  v16 v;
  for (int q = 0; q < VEC_PARTS; q++) v.part[q] = splat(0.0f);
  return v;
}

/* The lanes of part q among the first n (0 ≤ n ≤ 16) of a 16-lane block. */
V_INLINE int part_lanes(int n, int q) {
  const int left = n - q * VEC_LANES;
  return left <= 0 ? 0 : left < VEC_LANES ? left : VEC_LANES;
}

/*
 * Σ of the 16 lanes by a fixed pairwise tree: lanes l and l + 8 (l < 8), then l and l + 4, l and
 * l + 2, and the last two, so every instruction set gives the same bits.
 */
V_INLINE float reduce16(v16 v) {
#if VEC_LANES == 16
  typedef float v4f __attribute__((vector_size(16)));
  typedef float v8f __attribute__((vector_size(32)));
  const vf w = v.part[0];
  const v8f a = __builtin_shufflevector(w, w, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(w, w, 8, 9, 10, 11, 12, 13, 14, 15);
  const v4f b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
#elif VEC_LANES == 8
  typedef float v4f __attribute__((vector_size(16)));
  const vf a = v.part[0] + v.part[1];
  const v4f b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
#elif VEC_LANES == 4
  const vf b = (v.part[0] + v.part[2]) + (v.part[1] + v.part[3]);
#else
#error "VEC_LANES must be 16, 8 or 4"
#endif
  return (b[0] + b[2]) + (b[1] + b[3]);
}

#endif
