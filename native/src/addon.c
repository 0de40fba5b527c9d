/*
 * The N-API surface of the native backend: one function per kernel of kernels.ts, taking the same
 * arguments (Float32Array, offset, leading dimension …), plus info() and configure().
 *
 * Every array argument is checked before any pointer is formed: it must be a Float32Array and the
 * block the kernel touches (offset + extent) must lie inside it, else a RangeError or TypeError naming
 * the kernel and the argument is thrown. Sizes and offsets must be non-negative integers.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NAPI_VERSION 8
#include <node_api.h>

#include "bptt_native.h"

#define MAX_ARGS 20

/* One call's arguments and the first error met while reading them. */
typedef struct {
  napi_env env;
  const char* kernel;
  napi_value argv[MAX_ARGS];
  size_t argc;
  int failed;
} call;

static int begin(call* c, napi_env env, napi_callback_info info, const char* kernel, size_t expected) {
  c->env = env;
  c->kernel = kernel;
  c->argc = MAX_ARGS;
  c->failed = 0;
  if (napi_get_cb_info(env, info, &c->argc, c->argv, NULL, NULL) != napi_ok) return 0;
  if (c->argc < expected) {
    char message[160];
    snprintf(message, sizeof message, "bptt native %s: expected %zu arguments, got %zu", kernel, expected, c->argc);
    napi_throw_type_error(env, NULL, message);
    return 0;
  }
  return 1;
}

static void fail(call* c, int range, const char* what, const char* detail) {
  if (c->failed) return;
  c->failed = 1;
  char message[240];
  snprintf(message, sizeof message, "bptt native %s: %s %s", c->kernel, what, detail);
  if (range) napi_throw_range_error(c->env, NULL, message);
  else napi_throw_type_error(c->env, NULL, message);
}

/* A non-negative integer argument (a size, an offset or a leading dimension). */
static long integer(call* c, size_t i, const char* name) {
  double d = 0;
  if (c->failed) return 0;
  if (napi_get_value_double(c->env, c->argv[i], &d) != napi_ok) {
    fail(c, 0, name, "must be a number");
    return 0;
  }
  if (!(d >= 0 && d <= 9007199254740991.0 && d == floor(d))) {
    char detail[80];
    snprintf(detail, sizeof detail, "must be a non-negative integer, got %g", d);
    fail(c, 1, name, detail);
    return 0;
  }
  return (long)d;
}

static int boolean(call* c, size_t i) {
  bool b = false;
  if (!c->failed) napi_get_value_bool(c->env, c->argv[i], &b);
  return b;
}

/*
 * The Float32Array at argument i, as a pointer to its element `offset`, after checking that
 * offset + extent ≤ length. With nullable, null gives NULL.
 */
static float* array(call* c, size_t i, const char* name, long offset, long extent, int nullable) {
  if (c->failed) return NULL;
  if (nullable) {
    napi_valuetype type;
    napi_typeof(c->env, c->argv[i], &type);
    if (type == napi_null || type == napi_undefined) return NULL;
  }
  bool is_typed = false;
  napi_is_typedarray(c->env, c->argv[i], &is_typed);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = NULL;
  if (!is_typed || napi_get_typedarray_info(c->env, c->argv[i], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_float32_array) {
    fail(c, 0, name, nullable ? "must be a Float32Array or null" : "must be a Float32Array");
    return NULL;
  }
  if (extent > 0 && (offset > (long)length || extent > (long)length - offset)) {
    char detail[160];
    snprintf(detail, sizeof detail, "needs elements %ld … %ld, but has length %zu", offset, offset + extent - 1, length);
    fail(c, 1, name, detail);
    return NULL;
  }
  return (float*)data + offset;
}

/* Elements spanned by a rows×cols block with leading dimension ld (checking ld ≥ cols). */
static long extent(call* c, const char* name, long rows, long cols, long ld) {
  if (c->failed || rows == 0 || cols == 0) return 0;
  if (ld < cols) {
    char detail[120];
    snprintf(detail, sizeof detail, "(leading dimension) is %ld, less than the %ld columns", ld, cols);
    fail(c, 1, name, detail);
    return 0;
  }
  return (rows - 1) * ld + cols;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* gemm(transA, transB, M, N, K, A, aOffset, lda, B, bOffset, ldb, accumulate, C, cOffset, ldc) */
static napi_value js_gemm(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "gemm", 15)) return NULL;
  const int transA = boolean(&c, 0), transB = boolean(&c, 1);
  const long M = integer(&c, 2, "M"), N = integer(&c, 3, "N"), K = integer(&c, 4, "K");
  const long aOff = integer(&c, 6, "aOffset"), lda = integer(&c, 7, "lda");
  const long bOff = integer(&c, 9, "bOffset"), ldb = integer(&c, 10, "ldb");
  const int accumulate = boolean(&c, 11);
  const long cOff = integer(&c, 13, "cOffset"), ldc = integer(&c, 14, "ldc");
  const long aRows = transA ? K : M, aCols = transA ? M : K;
  const long bRows = transB ? N : K, bCols = transB ? K : N;
  const float* A = array(&c, 5, "A", aOff, extent(&c, "lda", aRows, aCols, lda), 0);
  const float* B = array(&c, 8, "B", bOff, extent(&c, "ldb", bRows, bCols, ldb), 0);
  float* C = array(&c, 12, "C", cOff, extent(&c, "ldc", M, N, ldc), 0);
  if (c.failed) return NULL;
  gemm(transA, transB, M, N, K, A, lda, B, ldb, accumulate, C, ldc);
  return undefined(env);
}

/* addRowVector(M, N, C, cOffset, bias, biasOffset): C[m, :] += bias. */
static napi_value js_add_row_vector(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "addRowVector", 6)) return NULL;
  const long M = integer(&c, 0, "M"), N = integer(&c, 1, "N");
  float* C = array(&c, 2, "C", integer(&c, 3, "cOffset"), M * N, 0);
  const float* bias = array(&c, 4, "bias", integer(&c, 5, "biasOffset"), M > 0 ? N : 0, 0);
  if (c.failed) return NULL;
  for (long i = 0; i < M; i++)
    for (long j = 0; j < N; j++) C[i * N + j] += bias[j];
  return undefined(env);
}

/* sumSquares(n, a, aOffset, b | null, bOffset): Σ (a + b)² in float64, in index order as the reference. */
static napi_value js_sum_squares(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "sumSquares", 5)) return NULL;
  const long n = integer(&c, 0, "n");
  const float* a = array(&c, 1, "a", integer(&c, 2, "aOffset"), n, 0);
  const float* b = array(&c, 3, "b", integer(&c, 4, "bOffset"), n, 1);
  if (c.failed) return NULL;
  double sum = 0;
  for (long i = 0; i < n; i++) {
    const double v = (double)a[i] + (b == NULL ? 0.0 : (double)b[i]);
    sum += v * v;
  }
  napi_value result;
  napi_create_double(env, sum, &result);
  return result;
}

/* sumRowsInto(M, N, A, aOffset, out, outOffset): out[n] += Σ_m A[m, n], rows in order (as the reference). */
static napi_value js_sum_rows_into(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "sumRowsInto", 6)) return NULL;
  const long M = integer(&c, 0, "M"), N = integer(&c, 1, "N");
  const float* A = array(&c, 2, "A", integer(&c, 3, "aOffset"), M * N, 0);
  float* out = array(&c, 4, "out", integer(&c, 5, "outOffset"), N, 0);
  if (c.failed) return NULL;
  for (long i = 0; i < M; i++)
    for (long j = 0; j < N; j++) out[j] += A[i * N + j];
  return undefined(env);
}

static double number(call* c, size_t i, const char* name);

/* The Int32Array at argument i as a pointer to its element `offset`, after checking that N elements fit. */
static const int32_t* int32_block(call* c, size_t i, const char* name, long offset, long N) {
  if (c->failed) return NULL;
  bool is_typed = false;
  napi_is_typedarray(c->env, c->argv[i], &is_typed);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = NULL;
  if (!is_typed || napi_get_typedarray_info(c->env, c->argv[i], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_int32_array) {
    fail(c, 0, name, "must be an Int32Array");
    return NULL;
  }
  if (N > 0 && (offset > (long)length || N > (long)length - offset)) {
    char detail[160];
    snprintf(detail, sizeof detail, "needs elements %ld … %ld, but has length %zu", offset, offset + N - 1, length);
    fail(c, 1, name, detail);
    return NULL;
  }
  return (const int32_t*)data + offset;
}

/* The Int32Array of row ids at argument i, from element `offset`, N of them, each checked to lie in [0, V). */
static const int32_t* row_ids(call* c, size_t i, long offset, long N, long V) {
  const int32_t* ids = int32_block(c, i, "ids", offset, N);
  if (ids == NULL) return NULL;
  for (long r = 0; r < N; r++) {
    if (ids[r] < 0 || ids[r] >= V) {
      char detail[160];
      snprintf(detail, sizeof detail, "[%ld] = %d is out of range: expected a row in [0, %ld)", r, ids[r], V);
      fail(c, 1, "ids", detail);
      return NULL;
    }
  }
  return ids;
}

/* gatherRows(N, D, V, table, o, ids, o, out, o): out[r, :] = table[ids[r], :]. */
static napi_value js_gather_rows(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "gatherRows", 9)) return NULL;
  const long N = integer(&c, 0, "N"), D = integer(&c, 1, "D"), V = integer(&c, 2, "V");
  const int32_t* ids = row_ids(&c, 5, integer(&c, 6, "idsOffset"), N, V);
  const float* table = array(&c, 3, "table", integer(&c, 4, "tableOffset"), V * D, 0);
  float* out = array(&c, 7, "out", integer(&c, 8, "outOffset"), N * D, 0);
  if (c.failed) return NULL;
  for (long r = 0; r < N; r++) memcpy(out + r * D, table + (long)ids[r] * D, (size_t)D * sizeof(float));
  return undefined(env);
}

/* scatterAddRows(N, D, V, src, o, ids, o, skipId, table, o): table[ids[r], :] += src[r, :] in r order, skipping skipId. */
static napi_value js_scatter_add_rows(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "scatterAddRows", 10)) return NULL;
  const long N = integer(&c, 0, "N"), D = integer(&c, 1, "D"), V = integer(&c, 2, "V");
  const int32_t* ids = row_ids(&c, 5, integer(&c, 6, "idsOffset"), N, V);
  const double skip = number(&c, 7, "skipId");
  const float* src = array(&c, 3, "src", integer(&c, 4, "srcOffset"), N * D, 0);
  float* table = array(&c, 8, "table", integer(&c, 9, "tableOffset"), V * D, 0);
  if (c.failed) return NULL;
  for (long r = 0; r < N; r++) {
    if ((double)ids[r] == skip) continue;
    float* t = table + (long)ids[r] * D;
    const float* x = src + r * D;
    for (long j = 0; j < D; j++) t[j] += x[j];
  }
  return undefined(env);
}

/* rnnStepForward(B, H, relu, pre, o, hPrev, o, mask, o, h, o, out, o) */
static napi_value js_rnn_forward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "rnnStepForward", 13)) return NULL;
  const long B = integer(&c, 0, "B"), H = integer(&c, 1, "H"), BH = B * H;
  const int relu = boolean(&c, 2);
  const float* pre = array(&c, 3, "pre", integer(&c, 4, "preOffset"), BH, 0);
  const float* hPrev = array(&c, 5, "hPrev", integer(&c, 6, "hPrevOffset"), BH, 0);
  const float* mask = array(&c, 7, "mask", integer(&c, 8, "maskOffset"), B, 1);
  float* h = array(&c, 9, "h", integer(&c, 10, "hOffset"), BH, 0);
  float* out = array(&c, 11, "out", integer(&c, 12, "outOffset"), BH, 0);
  if (c.failed) return NULL;
  active_paths()->steps->rnn_forward(B, H, relu, pre, hPrev, mask, h, out);
  return undefined(env);
}

/* rnnStepBackward(B, H, relu, h, o, dOut, o, mask, o, dh, o, dPre, o) */
static napi_value js_rnn_backward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "rnnStepBackward", 13)) return NULL;
  const long B = integer(&c, 0, "B"), H = integer(&c, 1, "H"), BH = B * H;
  const int relu = boolean(&c, 2);
  const float* h = array(&c, 3, "h", integer(&c, 4, "hOffset"), BH, 0);
  const float* dOut = array(&c, 5, "dOut", integer(&c, 6, "dOutOffset"), BH, 0);
  const float* mask = array(&c, 7, "mask", integer(&c, 8, "maskOffset"), B, 1);
  float* dh = array(&c, 9, "dh", integer(&c, 10, "dhOffset"), BH, 0);
  float* dPre = array(&c, 11, "dPre", integer(&c, 12, "dPreOffset"), BH, 0);
  if (c.failed) return NULL;
  active_paths()->steps->rnn_backward(B, H, relu, h, dOut, mask, dh, dPre);
  return undefined(env);
}

/* lstmStepForward(B, H, gates, o, cPrev, o, hPrev, o, mask, o, c, o, h, o, out, o) */
static napi_value js_lstm_forward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "lstmStepForward", 16)) return NULL;
  const long B = integer(&c, 0, "B"), H = integer(&c, 1, "H"), BH = B * H;
  float* gates = array(&c, 2, "gates", integer(&c, 3, "gatesOffset"), 4 * BH, 0);
  const float* cPrev = array(&c, 4, "cPrev", integer(&c, 5, "cPrevOffset"), BH, 0);
  const float* hPrev = array(&c, 6, "hPrev", integer(&c, 7, "hPrevOffset"), BH, 0);
  const float* mask = array(&c, 8, "mask", integer(&c, 9, "maskOffset"), B, 1);
  float* cell = array(&c, 10, "c", integer(&c, 11, "cOffset"), BH, 0);
  float* h = array(&c, 12, "h", integer(&c, 13, "hOffset"), BH, 0);
  float* out = array(&c, 14, "out", integer(&c, 15, "outOffset"), BH, 0);
  if (c.failed) return NULL;
  active_paths()->steps->lstm_forward(B, H, gates, cPrev, hPrev, mask, cell, h, out);
  return undefined(env);
}

/* lstmStepBackward(B, H, gates, o, cPrev, o, c, o, dOut, o, mask, o, dh, o, dc, o, dGates, o) */
static napi_value js_lstm_backward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "lstmStepBackward", 18)) return NULL;
  const long B = integer(&c, 0, "B"), H = integer(&c, 1, "H"), BH = B * H;
  const float* gates = array(&c, 2, "gates", integer(&c, 3, "gatesOffset"), 4 * BH, 0);
  const float* cPrev = array(&c, 4, "cPrev", integer(&c, 5, "cPrevOffset"), BH, 0);
  const float* cell = array(&c, 6, "c", integer(&c, 7, "cOffset"), BH, 0);
  const float* dOut = array(&c, 8, "dOut", integer(&c, 9, "dOutOffset"), BH, 0);
  const float* mask = array(&c, 10, "mask", integer(&c, 11, "maskOffset"), B, 1);
  float* dh = array(&c, 12, "dh", integer(&c, 13, "dhOffset"), BH, 0);
  float* dc = array(&c, 14, "dc", integer(&c, 15, "dcOffset"), BH, 0);
  float* dGates = array(&c, 16, "dGates", integer(&c, 17, "dGatesOffset"), 4 * BH, 0);
  if (c.failed) return NULL;
  active_paths()->steps->lstm_backward(B, H, gates, cPrev, cell, dOut, mask, dh, dc, dGates);
  return undefined(env);
}

/* gruStepForward(B, H, xGates, o, hGates, o, hPrev, o, mask, o, h, o, out, o) */
static napi_value js_gru_forward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "gruStepForward", 14)) return NULL;
  const long B = integer(&c, 0, "B"), H = integer(&c, 1, "H"), BH = B * H;
  float* xGates = array(&c, 2, "xGates", integer(&c, 3, "xGatesOffset"), 3 * BH, 0);
  const float* hGates = array(&c, 4, "hGates", integer(&c, 5, "hGatesOffset"), 3 * BH, 0);
  const float* hPrev = array(&c, 6, "hPrev", integer(&c, 7, "hPrevOffset"), BH, 0);
  const float* mask = array(&c, 8, "mask", integer(&c, 9, "maskOffset"), B, 1);
  float* h = array(&c, 10, "h", integer(&c, 11, "hOffset"), BH, 0);
  float* out = array(&c, 12, "out", integer(&c, 13, "outOffset"), BH, 0);
  if (c.failed) return NULL;
  active_paths()->steps->gru_forward(B, H, xGates, hGates, hPrev, mask, h, out);
  return undefined(env);
}

/* gruStepBackward(B, H, gates, o, hGates, o, hPrev, o, dOut, o, mask, o, dh, o, dXGates, o, dHGates, o) */
static napi_value js_gru_backward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "gruStepBackward", 18)) return NULL;
  const long B = integer(&c, 0, "B"), H = integer(&c, 1, "H"), BH = B * H;
  const float* gates = array(&c, 2, "gates", integer(&c, 3, "gatesOffset"), 3 * BH, 0);
  const float* hGates = array(&c, 4, "hGates", integer(&c, 5, "hGatesOffset"), 3 * BH, 0);
  const float* hPrev = array(&c, 6, "hPrev", integer(&c, 7, "hPrevOffset"), BH, 0);
  const float* dOut = array(&c, 8, "dOut", integer(&c, 9, "dOutOffset"), BH, 0);
  const float* mask = array(&c, 10, "mask", integer(&c, 11, "maskOffset"), B, 1);
  float* dh = array(&c, 12, "dh", integer(&c, 13, "dhOffset"), BH, 0);
  float* dXGates = array(&c, 14, "dXGates", integer(&c, 15, "dXGatesOffset"), 3 * BH, 0);
  float* dHGates = array(&c, 16, "dHGates", integer(&c, 17, "dHGatesOffset"), 3 * BH, 0);
  if (c.failed) return NULL;
  active_paths()->steps->gru_backward(B, H, gates, hGates, hPrev, dOut, mask, dh, dXGates, dHGates);
  return undefined(env);
}

/* Any finite or infinite number argument (a hyperparameter, a scale). */
static double number(call* c, size_t i, const char* name) {
  double d = 0;
  if (c->failed) return 0;
  if (napi_get_value_double(c->env, c->argv[i], &d) != napi_ok) fail(c, 0, name, "must be a number");
  return d;
}

/*
 * The Int32Array of class targets at argument i, from element `offset`, N of them, each checked to be a
 * class in [0, C) or ignoreIndex (a kernel indexes its row with it).
 */
static const int32_t* class_targets(call* c, size_t i, long offset, long N, long C, double ignoreIndex) {
  const int32_t* t = int32_block(c, i, "targets", offset, N);
  if (t == NULL) return NULL;
  for (long r = 0; r < N; r++) {
    if ((t[r] < 0 || t[r] >= C) && (double)t[r] != ignoreIndex) {
      char detail[160];
      snprintf(detail, sizeof detail, "[%ld] = %d is out of range: expected a class in [0, %ld) or ignoreIndex (%g)", r, t[r], C, ignoreIndex);
      fail(c, 1, "targets", detail);
      return NULL;
    }
  }
  return t;
}

/* softmaxCrossEntropy(N, C, logits, o, targets, o, weights | null, o, ignoreIndex, scale, dLogits | null, o) → { loss, hits } */
static napi_value js_softmax_cross_entropy(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "softmaxCrossEntropy", 12)) return NULL;
  const long N = integer(&c, 0, "N"), C = integer(&c, 1, "C");
  const double ignoreIndex = number(&c, 8, "ignoreIndex");
  const double scale = number(&c, 9, "scale");
  const float* logits = array(&c, 2, "logits", integer(&c, 3, "logitsOffset"), N * C, 0);
  const int32_t* targets = class_targets(&c, 4, integer(&c, 5, "targetsOffset"), N, C, ignoreIndex);
  const float* weights = array(&c, 6, "weights", integer(&c, 7, "weightsOffset"), N, 1);
  float* dLogits = array(&c, 10, "dLogits", integer(&c, 11, "dLogitsOffset"), N * C, 1);
  if (c.failed) return NULL;
  long hits = 0;
  double loss = 0;
  /* An ignoreIndex no int32 target can equal: no row is ignored. */
  const long ignored = ignoreIndex == floor(ignoreIndex) && fabs(ignoreIndex) < 2147483648.0 ? (long)ignoreIndex : 1L << 40;
  if (N > 0) loss = active_paths()->steps->softmax_xent(N, C, logits, targets, weights, ignored, scale, dLogits, &hits);
  napi_value result, value;
  napi_create_object(env, &result);
  napi_create_double(env, loss, &value);
  napi_set_named_property(env, result, "loss", value);
  napi_create_double(env, (double)hits, &value);
  napi_set_named_property(env, result, "hits", value);
  return result;
}

/* adamStep(n, theta, o, grad, o, m, o, v, o, vMax | null, o, beta1, beta2, eps, stepSize, biasCorrection2Sqrt, l2, shrink) */
static napi_value js_adam_step(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "adamStep", 18)) return NULL;
  const long n = integer(&c, 0, "n");
  float* theta = array(&c, 1, "theta", integer(&c, 2, "thetaOffset"), n, 0);
  const float* grad = array(&c, 3, "grad", integer(&c, 4, "gradOffset"), n, 0);
  float* m = array(&c, 5, "m", integer(&c, 6, "mOffset"), n, 0);
  float* v = array(&c, 7, "v", integer(&c, 8, "vOffset"), n, 0);
  float* vMax = array(&c, 9, "vMax", integer(&c, 10, "vMaxOffset"), n, 1);
  const double beta1 = number(&c, 11, "beta1"), beta2 = number(&c, 12, "beta2"), eps = number(&c, 13, "eps");
  const double stepSize = number(&c, 14, "stepSize"), bc2 = number(&c, 15, "biasCorrection2Sqrt");
  const double l2 = number(&c, 16, "l2"), shrink = number(&c, 17, "shrink");
  if (c.failed) return NULL;
  if (n > 0) active_paths()->steps->adam(n, theta, grad, m, v, vMax, beta1, beta2, eps, stepSize, bc2, l2, shrink);
  return undefined(env);
}

/* activate(kind, n, x, out): out = exp | σ | tanh (kind 0 | 1 | 2) of x, for the accuracy tests. */
static napi_value js_activate(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "activate", 4)) return NULL;
  const long kind = integer(&c, 0, "kind"), n = integer(&c, 1, "n");
  const float* x = array(&c, 2, "x", 0, n, 0);
  float* out = array(&c, 3, "out", 0, n, 0);
  if (c.failed) return NULL;
  active_paths()->steps->activate((int)kind, n, x, out);
  return undefined(env);
}

static void set_string(napi_env env, napi_value object, const char* key, const char* value) {
  napi_value v;
  napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, object, key, v);
}

static void set_int(napi_env env, napi_value object, const char* key, int value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  napi_set_named_property(env, object, key, v);
}

/* info() → { isa, best, features, threads, tile } */
/* byteMisalignment(array): the address of the typed array's first element modulo 64, so that allocate can align. */
static napi_value js_byte_misalignment(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "byteMisalignment", 1)) return NULL;
  const float* data = array(&c, 0, "array", 0, 0, 0);
  if (c.failed) return NULL;
  napi_value result;
  napi_create_int32(env, (int32_t)((uintptr_t)data & 63), &result);
  return result;
}

static napi_value js_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_object(env, &result);
  const backend_paths* p = active_paths();
  set_string(env, result, "isa", p->isa);
  set_string(env, result, "best", paths_for(NULL)->isa);
  set_string(env, result, "features", cpu_features());
  set_int(env, result, "threads", pool_threads());
  char tile[32];
  snprintf(tile, sizeof tile, "%dx%d", p->gemm->MR, p->gemm->NR);
  set_string(env, result, "tile", tile);
  return result;
}

/* configure(threads, isa | null): the thread count (≥ 1) and the instruction set ("avx512" | "avx2" | "generic" | null = best). */
static napi_value js_configure(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "configure", 2)) return NULL;
  const long threads = integer(&c, 0, "threads");
  if (c.failed) return NULL;
  napi_valuetype type;
  napi_typeof(env, c.argv[1], &type);
  const backend_paths* paths = NULL;
  if (type == napi_string) {
    char isa[16] = {0};
    size_t length = 0;
    napi_get_value_string_utf8(env, c.argv[1], isa, sizeof isa, &length);
    paths = paths_for(isa);
    if (paths == NULL) {
      char detail[96];
      snprintf(detail, sizeof detail, "\"%s\" is not available on this CPU (it has: %s)", isa, cpu_features());
      fail(&c, 1, "isa", detail);
      return NULL;
    }
  } else {
    paths = paths_for(NULL);
  }
  use_paths(paths);
  pool_set_threads(threads < 1 ? 1 : (int)threads);
  return js_info(env, info);
}

NAPI_MODULE_INIT() {
  const napi_property_descriptor functions[] = {
      {"gemm", NULL, js_gemm, NULL, NULL, NULL, napi_default, NULL},
      {"addRowVector", NULL, js_add_row_vector, NULL, NULL, NULL, napi_default, NULL},
      {"sumSquares", NULL, js_sum_squares, NULL, NULL, NULL, napi_default, NULL},
      {"sumRowsInto", NULL, js_sum_rows_into, NULL, NULL, NULL, napi_default, NULL},
      {"gatherRows", NULL, js_gather_rows, NULL, NULL, NULL, napi_default, NULL},
      {"scatterAddRows", NULL, js_scatter_add_rows, NULL, NULL, NULL, napi_default, NULL},
      {"rnnStepForward", NULL, js_rnn_forward, NULL, NULL, NULL, napi_default, NULL},
      {"rnnStepBackward", NULL, js_rnn_backward, NULL, NULL, NULL, napi_default, NULL},
      {"lstmStepForward", NULL, js_lstm_forward, NULL, NULL, NULL, napi_default, NULL},
      {"lstmStepBackward", NULL, js_lstm_backward, NULL, NULL, NULL, napi_default, NULL},
      {"gruStepForward", NULL, js_gru_forward, NULL, NULL, NULL, napi_default, NULL},
      {"gruStepBackward", NULL, js_gru_backward, NULL, NULL, NULL, napi_default, NULL},
      {"activate", NULL, js_activate, NULL, NULL, NULL, napi_default, NULL},
      {"softmaxCrossEntropy", NULL, js_softmax_cross_entropy, NULL, NULL, NULL, napi_default, NULL},
      {"adamStep", NULL, js_adam_step, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, js_info, NULL, NULL, NULL, napi_default, NULL},
      {"byteMisalignment", NULL, js_byte_misalignment, NULL, NULL, NULL, napi_default, NULL},
      {"configure", NULL, js_configure, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}
