/*
 * Declarations shared by the native backend's translation units: the GEMM micro-kernels, the
 * kernels per instruction set, the dispatch table chosen at run time from the CPU's features, and the
 * thread pool.
 *
 * Legend: B = batch rows, H = hidden size, M×K · K×N = M×N; MR×NR = a micro-kernel's output tile.
 */
#ifndef BPTT_NATIVE_H
#define BPTT_NATIVE_H

#include <stddef.h>
#include <stdint.h>

/* ---- GEMM micro-kernels (gemm_avx512.c, gemm_avx2.c, gemm_generic.c) ---------------------------
 *
 * tile[r][l] = Σ_{k < kc} u[row[r] + k·uk] · v[k·NR + l]   for r < MR, l < NR, summed in k order with
 * one fused multiply-add per term starting from 0 (so every path gives the same bits).
 *   u:   the broadcast operand, row r at u + row[r], consecutive k uk apart (any strides: no packing);
 *   v:   the packed vector operand, kc rows of NR floats, 64-byte aligned;
 *   tile: MR×NR floats, row-major, 64-byte aligned.
 */
typedef void (*micro_kernel_fn)(long kc, const float* u, const long* row, long uk, const float* v, float* tile);

typedef struct {
  const char* name; /* "avx512", "avx2", "generic" */
  int MR, NR;
  micro_kernel_fn kernel;
} micro_kernel;

extern const micro_kernel micro_kernel_avx512;
extern const micro_kernel micro_kernel_avx2;
extern const micro_kernel micro_kernel_generic;

/* ---- kernels, one set per instruction set (kernels_impl.h) ------------------------------------
 *
 * BPTT_KERNELS: the kernel table's (kernels.generated.h, from src/kernels/kernels.ts); BPTT_KERNEL_EXTRAS:
 * the addon's own. X(result, name, (parameters)) each.
 */
#include "kernels.generated.h"

#define BPTT_KERNEL_EXTRAS(X)                                                        \
  /* out = exp | σ | tanh (kind 0 | 1 | 2) of x, for the accuracy tests. */         \
  X(void, activate, (int kind, long n, const float* x, float* out))                 \
  /* B = 1 products (gemm.c): c = a·W or a·Wᵀ. */                                   \
  X(void, gemv, (int transposed, long N, long K, const float* a, const float* w, long ld, int accumulate, float* c))

typedef struct {
#define BPTT_MEMBER(result, name, parameters) result(*name) parameters;
  BPTT_KERNELS(BPTT_MEMBER)
  BPTT_KERNEL_EXTRAS(BPTT_MEMBER)
#undef BPTT_MEMBER
} kernel_set;

extern const kernel_set kernels_generic, kernels_avx2, kernels_avx512;

/* ---- dispatch (cpu.c) -------------------------------------------------------------------------- */
typedef struct {
  const char* isa; /* the instruction set in use: "avx512", "avx2" or "generic" */
  const micro_kernel* gemm;
  const kernel_set* kernels;
} backend_paths;

/* The paths for `isa` ("avx512", "avx2", "generic", or NULL for the best this CPU runs); NULL if the CPU lacks it. */
const backend_paths* paths_for(const char* isa);
/* The paths in use (set by use_paths; the best available until then). */
const backend_paths* active_paths(void);
void use_paths(const backend_paths* paths);
/* A space-separated list of the CPU features detected ("sse4.2 avx avx2 fma avx512f …"). */
const char* cpu_features(void);

/* ---- GEMM driver (gemm.c) ---------------------------------------------------------------------- */
/* C[M,N] = op(A)·op(B) (+ C when accumulate), row-major with leading dimensions, as kernels.ts. */
void gemm(int transA, int transB, long M, long N, long K, const float* A, long lda, const float* B, long ldb, int accumulate, float* C, long ldc);

/* ---- thread pool (threads.c) ------------------------------------------------------------------- */
/* fn(arg, index, count) for index = 0 … count − 1, concurrently; the caller runs index 0. */
typedef void (*pool_task)(void* arg, int index, int count);
/* Runs the task on up to `want` threads and returns how many ran it (1 when the pool is busy with another caller). */
int pool_run(pool_task task, void* arg, int want);
/* Sets the number of threads (the caller included); returns the number in effect. */
int pool_set_threads(int count);
int pool_threads(void);

/* ---- kernels split across the pool (split.c) ---------------------------------------------------
 *
 * split_NAME has NAME's parameters and results, and runs the active instruction set's NAME on ranges of
 * rows (of parameters) on the pool's threads; the N-API glue calls these for the kernels SPLIT_KERNELS
 * lists in scripts/glue/native.mjs.
 */
#define BPTT_SPLIT_DECLARE(result, name, parameters) result split_##name parameters;
BPTT_KERNELS(BPTT_SPLIT_DECLARE)
#undef BPTT_SPLIT_DECLARE

/* A 64-byte aligned scratch buffer of at least `floats` floats, private to the calling thread, slot 0 or 1. */
float* thread_scratch(int slot, size_t floats);

/* ---- profile counters (threads.c) ---------------------------------------------------------------
 *
 * Recorded only while profile_on (set by the addon's profileCounters(true), read by src/kernels/profile.ts);
 * cumulative, in nanoseconds of the calling thread's clock.
 */
enum { PROFILE_WAIT_NS, PROFILE_COUNTERS };
extern int profile_on;
extern double profile_counters[PROFILE_COUNTERS];
/* Monotonic clock, nanoseconds. */
long now_ns(void);

#endif
