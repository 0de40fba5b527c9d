/*
 * The small kernels: bias rows and their gradient, squared norms, the embedding's row gather and
 * scatter-add; compiled per instruction set like the others (kernels_impl.h), in plain C loops whose
 * order of operations is the reference's (no sum is reassociated: -ffp-contract=off and no fast-math),
 * so every instruction set gives the same bits. Row ids were checked against V by the caller (the
 * N-API glue) before any pointer was formed.
 */
#include <string.h>

/* C[m, :] += bias[:] for m < M; C is (M, N) with contiguous rows. */
void STEP(add_row_vector)(long M, long N, float* C, const float* bias) {
  for (long i = 0; i < M; i++)
    for (long j = 0; j < N; j++) C[i * N + j] += bias[j];
}

/* Σ (a + b)² over n elements (b NULL: none), in float64 and in index order as the reference. */
double STEP(sum_squares)(long n, const float* a, const float* b) {
  double sum = 0;
  for (long i = 0; i < n; i++) {
    const double v = (double)a[i] + (b == NULL ? 0.0 : (double)b[i]);
    sum += v * v;
  }
  return sum;
}

/* out[n] += Σ_m A[m, n], rows in order (as the reference); A is (M, N) with contiguous rows. */
void STEP(sum_rows_into)(long M, long N, const float* A, float* out) {
  for (long i = 0; i < M; i++)
    for (long j = 0; j < N; j++) out[j] += A[i * N + j];
}

/* out[r, :] = table[ids[r], :] for r < N; rows D wide and contiguous. */
void STEP(gather_rows)(long N, long D, long V, const float* table, const int32_t* ids, float* out) {
  for (long r = 0; r < N; r++) memcpy(out + r * D, table + (long)ids[r] * D, (size_t)D * sizeof(float));
}

/* table[ids[r], :] += src[r, :] for r = 0 … N−1 in order, skipping the rows whose id is skipId. */
void STEP(scatter_add_rows)(long N, long D, long V, const float* src, const int32_t* ids, long skipId, float* table) {
  for (long r = 0; r < N; r++) {
    if (ids[r] == skipId) continue;
    float* t = table + (long)ids[r] * D;
    const float* x = src + r * D;
    for (long j = 0; j < D; j++) t[j] += x[j];
  }
}
