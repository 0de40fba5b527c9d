/*
 * The fused step kernels and Adam split across the thread pool. Each thread runs the instruction
 * set's own kernel on a contiguous range of the batch's rows (Adam: of the parameters), so every
 * element is computed by the same operations as on one thread: the same bits for any thread count.
 * A kernel that sums across rows (the LSTM's peephole gradient) stays on one thread.
 *
 * Below SPLIT_MIN_ELEMENTS (B·H) a step runs on the calling thread: an LSTM step forward costs about
 * 6 ns per element on one AVX2 core, backward 3 ns (bench/gemm.ts), so 2,048 elements are 6–12 µs of
 * work to share against one hand-over to a spinning worker. The threshold was chosen, not tuned.
 * The rows of a step are otherwise waited on by nobody: the per-step GEMMs before and after it already
 * use the pool, whose workers spin between tasks (threads.c).
 */
#include "bptt_native.h"

#define SPLIT_MIN_ELEMENTS 2048L
/* Adam's shares are multiples of 16 parameters (whole vectors) and at least this many in all. */
#define SPLIT_MIN_PARAMETERS 65536L

static long min_l(long a, long b) { return a < b ? a : b; }

/* Threads for a step of B rows and B·H elements: 1 below the threshold, never more than B. */
static int step_threads(long B, long H) {
  if (B * H < SPLIT_MIN_ELEMENTS) return 1;
  return (int)min_l(pool_threads(), B);
}

/* Rows [*b0, *b1) of thread `index` of `count`. */
static void share(long B, int index, int count, long* b0, long* b1) {
  *b0 = B * index / count;
  *b1 = B * (index + 1) / count;
}

/* A per-row array's pointer at row b0 (NULL stays NULL). */
#define AT(p, b0, width) ((p) == NULL ? NULL : (p) + (b0) * (width))

typedef struct {
  long B, H;
  float* gates;
  const float* peephole;
  const float *cPrev, *hPrev, *mask;
  float *c, *h, *out;
} lstm_forward_args;

static void lstm_forward_share(void* arg, int index, int count) {
  const lstm_forward_args* a = arg;
  long b0, b1;
  share(a->B, index, count, &b0, &b1);
  if (b0 == b1) return;
  const long H = a->H;
  active_paths()->kernels->lstm_step_forward(b1 - b0, H, a->gates + b0 * 4 * H, a->peephole, a->cPrev + b0 * H, a->hPrev + b0 * H,
                                             AT(a->mask, b0, 1), a->c + b0 * H, a->h + b0 * H, a->out + b0 * H);
}

void split_lstm_step_forward(long B, long H, float* gates, const float* peephole, const float* cPrev, const float* hPrev, const float* mask,
                             float* c, float* h, float* out) {
  lstm_forward_args a = {B, H, gates, peephole, cPrev, hPrev, mask, c, h, out};
  pool_run(lstm_forward_share, &a, step_threads(B, H));
}

typedef struct {
  long B, H;
  const float *gates, *peephole, *cPrev, *c, *dOut, *mask;
  float *dh, *dc, *dGates;
} lstm_backward_args;

static void lstm_backward_share(void* arg, int index, int count) {
  const lstm_backward_args* a = arg;
  long b0, b1;
  share(a->B, index, count, &b0, &b1);
  if (b0 == b1) return;
  const long H = a->H;
  active_paths()->kernels->lstm_step_backward(b1 - b0, H, a->gates + b0 * 4 * H, a->peephole, a->cPrev + b0 * H, a->c + b0 * H,
                                              a->dOut + b0 * H, AT(a->mask, b0, 1), a->dh + b0 * H, a->dc + b0 * H,
                                              a->dGates + b0 * 4 * H, NULL);
}

void split_lstm_step_backward(long B, long H, const float* gates, const float* peephole, const float* cPrev, const float* c, const float* dOut,
                              const float* mask, float* dh, float* dc, float* dGates, float* dPeephole) {
  if (dPeephole != NULL) {
    /* dPeephole sums over the rows in row order: one thread. */
    active_paths()->kernels->lstm_step_backward(B, H, gates, peephole, cPrev, c, dOut, mask, dh, dc, dGates, dPeephole);
    return;
  }
  lstm_backward_args a = {B, H, gates, peephole, cPrev, c, dOut, mask, dh, dc, dGates};
  pool_run(lstm_backward_share, &a, step_threads(B, H));
}

typedef struct {
  long B, H;
  float* xGates;
  const float *hGates, *hPrev, *mask;
  float *h, *out;
} gru_forward_args;

static void gru_forward_share(void* arg, int index, int count) {
  const gru_forward_args* a = arg;
  long b0, b1;
  share(a->B, index, count, &b0, &b1);
  if (b0 == b1) return;
  const long H = a->H;
  active_paths()->kernels->gru_step_forward(b1 - b0, H, a->xGates + b0 * 3 * H, a->hGates + b0 * 3 * H, a->hPrev + b0 * H,
                                            AT(a->mask, b0, 1), a->h + b0 * H, a->out + b0 * H);
}

void split_gru_step_forward(long B, long H, float* xGates, const float* hGates, const float* hPrev, const float* mask, float* h, float* out) {
  gru_forward_args a = {B, H, xGates, hGates, hPrev, mask, h, out};
  pool_run(gru_forward_share, &a, step_threads(B, H));
}

typedef struct {
  long B, H;
  const float *gates, *hGates, *hPrev, *dOut, *mask;
  float *dh, *dXGates, *dHGates;
} gru_backward_args;

static void gru_backward_share(void* arg, int index, int count) {
  const gru_backward_args* a = arg;
  long b0, b1;
  share(a->B, index, count, &b0, &b1);
  if (b0 == b1) return;
  const long H = a->H;
  active_paths()->kernels->gru_step_backward(b1 - b0, H, a->gates + b0 * 3 * H, a->hGates + b0 * 3 * H, a->hPrev + b0 * H,
                                             a->dOut + b0 * H, AT(a->mask, b0, 1), a->dh + b0 * H, a->dXGates + b0 * 3 * H,
                                             a->dHGates + b0 * 3 * H);
}

void split_gru_step_backward(long B, long H, const float* gates, const float* hGates, const float* hPrev, const float* dOut, const float* mask,
                             float* dh, float* dXGates, float* dHGates) {
  gru_backward_args a = {B, H, gates, hGates, hPrev, dOut, mask, dh, dXGates, dHGates};
  pool_run(gru_backward_share, &a, step_threads(B, H));
}

typedef struct {
  long n;
  float *theta;
  const float* grad;
  float *m, *v, *vMax;
  double beta1, beta2, eps, stepSize, biasCorrection2Sqrt, l2, shrink;
} adam_args;

static void adam_share(void* arg, int index, int count) {
  const adam_args* a = arg;
  const long vectors = (a->n + 15) / 16;
  const long j0 = min_l(a->n, vectors * index / count * 16), j1 = min_l(a->n, vectors * (index + 1) / count * 16);
  if (j0 == j1) return;
  active_paths()->kernels->adam_step(j1 - j0, a->theta + j0, a->grad + j0, a->m + j0, a->v + j0, AT(a->vMax, j0, 1), a->beta1, a->beta2,
                                     a->eps, a->stepSize, a->biasCorrection2Sqrt, a->l2, a->shrink);
}

void split_adam_step(long n, float* theta, const float* grad, float* m, float* v, float* vMax, double beta1, double beta2, double eps,
                     double stepSize, double biasCorrection2Sqrt, double l2, double shrink) {
  adam_args a = {n, theta, grad, m, v, vMax, beta1, beta2, eps, stepSize, biasCorrection2Sqrt, l2, shrink};
  pool_run(adam_share, &a, n < SPLIT_MIN_PARAMETERS ? 1 : pool_threads());
}
