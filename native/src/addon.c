/*
 * The N-API surface of the native backend: `kernels`, one function per kernel of kernels.ts taking the
 * same arguments (Float32Array, offset, leading dimension …), generated from the kernel table into
 * napi_kernels.generated.h; and info(), configure(), byteMisalignment() and activate().
 *
 * The argument readers below check every argument before any pointer is formed: an array must be a
 * Float32Array (an Int32Array for indices) and the block the kernel touches (offset + extent) must lie
 * inside it, else a RangeError or TypeError naming the kernel and the argument is thrown. Sizes and
 * offsets must be non-negative integers.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NAPI_VERSION 8
#include <node_api.h>

#include "bptt_native.h"

/* The most arguments a kernel takes (napi_kernels.generated.h asserts each kernel's count against it). */
#define MAX_ARGS 24

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

/* Any finite or infinite number argument (a hyperparameter, a scale). */
static double number(call* c, size_t i, const char* name) {
  double d = 0;
  if (c->failed) return 0;
  if (napi_get_value_double(c->env, c->argv[i], &d) != napi_ok) fail(c, 0, name, "must be a number");
  return d;
}

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

/* The Int32Array of row indices at argument i, from element `offset`, N of them, each checked to lie in [0, V). */
static const int32_t* row_indices(call* c, size_t i, const char* name, long offset, long N, long V) {
  const int32_t* ids = int32_block(c, i, name, offset, N);
  if (ids == NULL) return NULL;
  for (long r = 0; r < N; r++) {
    if (ids[r] < 0 || ids[r] >= V) {
      char detail[160];
      snprintf(detail, sizeof detail, "[%ld] = %d is out of range: expected a row in [0, %ld)", r, ids[r], V);
      fail(c, 1, name, detail);
      return NULL;
    }
  }
  return ids;
}

/*
 * The Int32Array of class indices at argument i, from element `offset`, N of them, each checked to be a
 * class in [0, C) or `except` (the argument named except_name): a kernel indexes its row with it.
 */
static const int32_t* class_indices(call* c, size_t i, const char* name, long offset, long N, long C, double except,
                                    const char* except_name) {
  const int32_t* t = int32_block(c, i, name, offset, N);
  if (t == NULL) return NULL;
  for (long r = 0; r < N; r++) {
    if ((t[r] < 0 || t[r] >= C) && (double)t[r] != except) {
      char detail[200];
      snprintf(detail, sizeof detail, "[%ld] = %d is out of range: expected a class in [0, %ld) or %s (%g)", r, t[r], C,
               except_name, except);
      fail(c, 1, name, detail);
      return NULL;
    }
  }
  return t;
}

/* An i32 argument as the kernels take it: the number when it is an int32, else 2^40, which no int32 equals. */
static long int32_or_none(double value) {
  return value == floor(value) && fabs(value) < 2147483648.0 ? (long)value : 1L << 40;
}

static napi_value number_value(napi_env env, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  return v;
}

/* A SoftmaxCrossEntropySums: { loss, hits }. */
static napi_value loss_and_hits(napi_env env, double loss, long hits) {
  napi_value result;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "loss", number_value(env, loss));
  napi_set_named_property(env, result, "hits", number_value(env, (double)hits));
  return result;
}

/* The table's kernels: js_gemm … js_adam_step, and kernel_functions(env), the object that holds them. */
#include "napi_kernels.generated.h"

/* activate(kind, n, x, out): out = exp | σ | tanh (kind 0 | 1 | 2) of x, for the accuracy tests. */
static napi_value js_activate(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "activate", 4)) return NULL;
  const long kind = integer(&c, 0, "kind"), n = integer(&c, 1, "n");
  const float* x = array(&c, 2, "x", 0, n, 0);
  float* out = array(&c, 3, "out", 0, n, 0);
  if (c.failed) return NULL;
  active_paths()->kernels->activate((int)kind, n, x, out);
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

/* info() → { isa, best, features, threads, tile } */
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

/* profileCounters(enable) → Float64Array: turns the profile counters on or off and returns them (bptt_native.h). */
static napi_value js_profile_counters(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(&c, env, info, "profileCounters", 1)) return NULL;
  profile_on = boolean(&c, 0);
  napi_value buffer, result;
  void* data = NULL;
  napi_create_arraybuffer(env, sizeof profile_counters, &data, &buffer);
  memcpy(data, profile_counters, sizeof profile_counters);
  napi_create_typedarray(env, napi_float64_array, PROFILE_COUNTERS, buffer, 0, &result);
  return result;
}

NAPI_MODULE_INIT() {
  const napi_property_descriptor functions[] = {
      {"kernels", NULL, NULL, NULL, NULL, kernel_functions(env), napi_default, NULL},
      {"activate", NULL, js_activate, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, js_info, NULL, NULL, NULL, napi_default, NULL},
      {"byteMisalignment", NULL, js_byte_misalignment, NULL, NULL, NULL, napi_default, NULL},
      {"configure", NULL, js_configure, NULL, NULL, NULL, napi_default, NULL},
      {"profileCounters", NULL, js_profile_counters, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}
