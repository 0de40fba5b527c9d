/*
 * The fused loss and optimizer kernels, compiled per instruction set like steps_impl.h
 * (kernels_impl.h). kernels.ts states the maths; reference.ts is the
 * specification; the arithmetic follows wasm/softmax.ts and wasm/adam.ts.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "vec.h"

/* Float64 vectors of half as many lanes as vf (the same bytes); two hold a vf converted. */
typedef double vd __attribute__((vector_size(4 * VEC_LANES)));
#if VEC_LANES == 16
#define LOW_HALF(v) __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7)
#define HIGH_HALF(v) __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15)
#elif VEC_LANES == 8
#define LOW_HALF(v) __builtin_shufflevector(v, v, 0, 1, 2, 3)
#define HIGH_HALF(v) __builtin_shufflevector(v, v, 4, 5, 6, 7)
#else
#define LOW_HALF(v) __builtin_shufflevector(v, v, 0, 1)
#define HIGH_HALF(v) __builtin_shufflevector(v, v, 2, 3)
#endif

/* Lanes 0…n−1 of v, the others 0. */
static inline vf first_lanes(vf v, int n) {
  vi index, limit;
  for (int l = 0; l < VEC_LANES; l++) {
    index[l] = l;
    limit[l] = n;
  }
  return selectv(index < limit, v, splat(0.0f));
}

/* Math.max: NaN if either is NaN, +0 above −0. */
static inline double js_max(double a, double b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a > b) return a;
  if (b > a) return b;
  return signbit(a) ? b : a;
}

/*
 * Softmax cross-entropy of N rows of C logits (z) against targets t, weights w (NULL: 1); dLogits NULL:
 * loss only. Per row: m = max z (NaN skipped; it propagates through the sum), the first index holding m,
 * e_j = exp(z_j − m) parked in dLogits, s = Σ e_j in float64 (16 lanes, then a fixed order), loss +=
 * w·(m + log s − z_t), dLogits = e·(scale·w/s) − scale·w·[j = t]. A row whose maximum is ±∞ follows the
 * reference in float64 (logsumexp = m). Returns the loss; *hits counts the rows predicted right.
 */
double STEP(softmax_cross_entropy)(long N, long C, const float* logits, const int32_t* targets, const float* weights, long ignoreIndex,
                          double scale, float* dLogits, long* hits) {
  double loss = 0;
  long right = 0;
  const long full = C & ~15L;
  for (long r = 0; r < N; r++) {
    const long t = targets[r];
    const double w = weights == NULL ? 1.0 : (double)weights[r];
    const float* z = logits + r * C;
    float* d = dLogits == NULL ? NULL : dLogits + r * C;
    if (t == ignoreIndex || w == 0) {
      if (d != NULL) memset(d, 0, (size_t)C * sizeof(float));
      continue;
    }
    /* The maximum over 16 lanes per block of 16, lane l seeing the terms l mod 16, then over the lanes in order. */
    v16 mv;
    for (int q = 0; q < VEC_PARTS; q++) mv.part[q] = splat(-INFINITY);
    for (long j = 0; j < full; j += 16) {
      for (int q = 0; q < VEC_PARTS; q++) {
        const vf x = loadv(z + j + q * VEC_LANES, VEC_LANES);
        mv.part[q] = selectv(mv.part[q] < x, x, mv.part[q]);
      }
    }
    float m = -INFINITY;
    for (int q = 0; q < VEC_PARTS; q++)
      for (int l = 0; l < VEC_LANES; l++)
        if (mv.part[q][l] > m) m = mv.part[q][l];
    for (long j = full; j < C; j++)
      if (z[j] > m) m = z[j];
    const double zt = z[t];
    if (isfinite(m)) {
      /* The reference's argmax: the first index holding the maximum, unless z[0] is NaN (never beaten). */
      long best = 0;
      if (z[0] == z[0])
        while (z[best] != m) best++;
      if (best == t) right++;
      /* s: 16 float64 lanes, lane l summing e_j for j ≡ l mod 16; sums[2q], sums[2q + 1] hold part q's halves. */
      vd sums[2 * VEC_PARTS];
      for (int q = 0; q < 2 * VEC_PARTS; q++) sums[q] = (vd){0};
      for (long j = 0; j < C; j += 16) {
        const int n = C - j < 16 ? (int)(C - j) : 16;
        for (int q = 0; q < VEC_PARTS; q++) {
          const int lanes = part_lanes(n, q);
          if (lanes == 0) break;
          vf e = expv(loadv(z + j + q * VEC_LANES, lanes) - splat(m));
          if (lanes < VEC_LANES) e = first_lanes(e, lanes);
          if (d != NULL) storev(d + j + q * VEC_LANES, e, lanes);
          sums[2 * q] += __builtin_convertvector(LOW_HALF(e), vd);
          sums[2 * q + 1] += __builtin_convertvector(HIGH_HALF(e), vd);
        }
      }
      double lane[16];
      memcpy(lane, sums, sizeof lane);
      for (int width = 8; width >= 1; width /= 2)
        for (int l = 0; l < width; l++) lane[l] = lane[l] + lane[l + width];
      loss += w * ((double)m + log(lane[0]) - zt);
      if (d == NULL) continue;
      const double ws = w * scale;
      const vf factor = splat((float)(ws / lane[0]));
      for (long j = 0; j < C; j += VEC_LANES) {
        const int n = LANES(C, j);
        storev(d + j, loadv(d + j, n) * factor, n);
      }
      d[t] = (float)((double)d[t] - ws);
    } else {
      double lse = z[0];
      long best = 0;
      for (long j = 1; j < C; j++) {
        if (z[j] > z[best]) best = j;
        lse = js_max(lse, z[j]);
      }
      if (best == t) right++;
      loss += w * (lse - zt);
      if (d == NULL) continue;
      const double ws = w * scale;
      for (long j = 0; j < C; j++) d[j] = (float)(ws * exp((double)z[j] - lse));
      d[t] = (float)((double)d[t] - ws);
    }
  }
  *hits = right;
  return loss;
}

/*
 * One Adam/AdamW update in float64 per element, operation for operation as the reference (no
 * contraction: -ffp-contract=off), so every backend gives the same bits. vMax NULL: no amsgrad.
 */
void STEP(adam_step)(long n, float* theta, const float* grad, float* m, float* v, float* vMax, double beta1, double beta2, double eps,
                double stepSize, double biasCorrection2Sqrt, double l2, double shrink) {
  const double c1 = 1 - beta1, c2 = 1 - beta2;
  if (vMax == NULL) {
    for (long j = 0; j < n; j++) {
      const double p = (double)theta[j] * shrink;
      const double g = (double)grad[j] + l2 * p;
      const double mj = beta1 * (double)m[j] + c1 * g;
      const double vj = beta2 * (double)v[j] + c2 * g * g;
      m[j] = (float)mj;
      v[j] = (float)vj;
      theta[j] = (float)(p - (stepSize * mj) / (sqrt(vj) / biasCorrection2Sqrt + eps));
    }
    return;
  }
  for (long j = 0; j < n; j++) {
    const double p = (double)theta[j] * shrink;
    const double g = (double)grad[j] + l2 * p;
    const double mj = beta1 * (double)m[j] + c1 * g;
    const double vj = beta2 * (double)v[j] + c2 * g * g;
    m[j] = (float)mj;
    v[j] = (float)vj;
    const double vHat = js_max((double)vMax[j], vj);
    vMax[j] = (float)vHat;
    theta[j] = (float)(p - (stepSize * mj) / (sqrt(vHat) / biasCorrection2Sqrt + eps));
  }
}
