/*
 * Sixteen float32 lanes as a GCC/Clang vector type, with σ, tanh and exp on them.
 *
 * This header is included by one translation unit per instruction set (steps_avx512.c, steps_avx2.c,
 * steps_generic.c, each compiled for its target); the compiler maps a 16-lane operation onto one
 * AVX-512 register, two AVX2 registers or four SSE registers. Everything here is static inline so each
 * unit gets its own copy for its target.
 *
 * Numerics: the same Cephes single-precision algorithms as the WebAssembly backend (wasm/activations.ts),
 * operation for operation, and the build disables FMA contraction (-ffp-contract=off), so every path
 * (AVX-512, AVX2, generic) gives the same bits:
 *   exp ≤ 1 ulp,  σ ≤ 2.5 ulp,  tanh ≤ 1.5 ulp   (measured by test/native/activations.test.ts).
 * NaN propagates; ±∞ and large arguments saturate (σ → 0 or 1, tanh → ±1); tanh(±0) = ±0.
 */
#ifndef BPTT_VEC16_H
#define BPTT_VEC16_H

#include <stdint.h>
#include <string.h>

typedef float v16 __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

#define V16_INLINE static inline __attribute__((always_inline))

V16_INLINE v16 splat(float x) {
  return (v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
}

/* Lanes 0…n−1 from p (n ≤ 16), the others 0: a row's tail goes through the same arithmetic. */
V16_INLINE v16 load16(const float* p, int n) {
  v16 v;
  if (n == 16) {
    memcpy(&v, p, sizeof v); /* a constant size: one unaligned vector load */
    return v;
  }
  v = splat(0.0f);
  memcpy(&v, p, (size_t)n * sizeof(float));
  return v;
}

/* Stores lanes 0…n−1 of v at p. */
V16_INLINE void store16(float* p, v16 v, int n) {
  if (n == 16) memcpy(p, &v, sizeof v);
  else memcpy(p, &v, (size_t)n * sizeof(float));
}

typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

/*
 * Σ of the 16 lanes by a fixed pairwise tree: lanes l and l + 8 (l < 8), then l and l + 4, l and
 * l + 2, and the last two, so every instruction set gives the same bits.
 */
V16_INLINE float reduce16(v16 v) {
  const v8f a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const v4f b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
  return (b[0] + b[2]) + (b[1] + b[3]);
}

/* cond ? a : b, lane by lane (cond from a vector comparison: all bits set or clear). */
V16_INLINE v16 select16(v16i cond, v16 a, v16 b) {
  return (v16)(((v16i)a & cond) | ((v16i)b & ~cond));
}

/* 1 − x² as (1 − x)(1 + x): accurate where x² ≈ 1 (tanh′ near saturation). */
V16_INLINE v16 one_minus_square(v16 x) {
  return (1.0f - x) * (1.0f + x);
}

/*
 * e^x = 2ⁿ · e^r with n = round(x / ln 2), r = x − n·ln 2 (ln 2 in two parts for an exact product);
 * x clamped to [−87.34, 88.38] so that 2ⁿ is a normal float. n is rounded by adding 1.5·2²³, which
 * also leaves n in the low bits of t. e^r = 1 + r + r²·P(r), P of degree 5 by Estrin's scheme.
 */
V16_INLINE v16 exp16(v16 x) {
  const v16 hi = splat(88.3762626647949f), lo = splat(-87.3365447505531f);
  x = select16(hi < x, hi, x); /* keeps NaN (the comparison is false) */
  x = select16(x < lo, lo, x);
  const v16 round = splat(12582912.0f);
  const v16 t = x * 1.44269504088896341f + round;
  const v16 n = t - round;
  v16 r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const v16 r2 = r * r;
  const v16 r4 = r2 * r2;
  const v16 p01 = 1.9875691500e-4f * r + 1.3981999507e-3f;
  const v16 p23 = 8.3334519073e-3f * r + 4.1665795894e-2f;
  const v16 p45 = 1.6666665459e-1f * r + 5.0000001201e-1f;
  const v16 p = (p23 * r2 + p45) + p01 * r4;
  const v16 er = (p * r2 + r) + 1.0f;
  const v16i scale = ((v16i)t + 127) << 23; /* 2ⁿ: the 0x4B4… bits of t shift out */
  return er * (v16)scale;
}

/* σ(x) = 1 / (1 + e^−x). */
V16_INLINE v16 sigmoid16(v16 x) {
  return 1.0f / (1.0f + exp16(-x));
}

/*
 * tanh on |x| with x's sign put back (tanh is odd, so tanh(−0) = −0): an odd polynomial for
 * |x| < 0.625 (Cephes tanhf: |x| + |x|³·Q(x²), no cancellation near 0), else 1 − 2/(e^{2|x|} + 1).
 */
V16_INLINE v16 tanh16(v16 x) {
  const v16i sign = (v16i)splat(-0.0f);
  const v16 ax = (v16)((v16i)x & ~sign);
  const v16 e = exp16(ax + ax);
  const v16 large = 1.0f - 2.0f / (e + 1.0f);
  const v16 z = ax * ax;
  v16 q = splat(-5.70498872745e-3f);
  q = q * z + 2.06390887954e-2f;
  q = q * z + -5.37397155531e-2f;
  q = q * z + 1.33314422036e-1f;
  q = q * z + -3.33332819422e-1f;
  const v16 small = (q * z) * ax + ax;
  const v16 magnitude = select16(ax < splat(0.625f), small, large);
  return (v16)((v16i)magnitude | ((v16i)x & sign));
}

#endif
