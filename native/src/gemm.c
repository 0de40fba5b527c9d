/*
 * The GEMM driver: C[M,N] = op(A)[M,K] · op(B)[K,N] (+ C), on any of the micro-kernels.
 *
 * The product is written as U·V with U the "broadcast" operand (nu rows, read in place through two
 * strides, never copied) and V the "vector" operand (nv columns, packed per K-block into NR-wide
 * panels, zero-padded). Either orientation is valid:
 *   direct      U = op(A) (nu = M), V = op(B) (nv = N), tile rows → rows of C;
 *   transposed  U = op(B)ᵀ (nu = N), V = op(A)ᵀ (nv = M), tile rows → columns of C (Cᵀ = op(B)ᵀ·op(A)ᵀ),
 * and the driver picks the cheaper: it packs the smaller side when the tiles stay full, so a per-step
 * h·W_hhᵀ packs h (B×H) rather than the weight (4H×H) on every step.
 *
 * Loops (KC = 256, VC = 512): for each VC-wide chunk of V's columns, for each K-block: pack the chunk's
 * kc×VC block (≤ 512 KiB, stays in L2), then for each MR rows of U (8×kc floats, stay in L1) and each NR
 * panel: micro-kernel into a tile, tile added into C.
 *
 * One row (M = 1, sampling) goes to a GEMV instead (steps_impl.h), single-threaded.
 *
 * Determinism: every element of C is computed the same way whatever the orientation, the thread count
 * and the instruction set: acc = Σ_k u·v by fused multiply-adds in k order within each K-block of the
 * fixed KC, then C = acc (first block without accumulate) or C = C + acc, block by block. Threads split
 * the output (V's panels, or U's rows when V has too few), never a sum, so results are bit-identical for
 * any thread count.
 */
#include <stdlib.h>
#include <string.h>

#include "bptt_native.h"

#define KC 256
#define VC 512
/*
 * Below this many flops (2·M·N·K, ~6 µs on one core) one thread: waking the others costs more than it
 * saves. 2²⁰ lets the vanilla RNN's per-step product (32×128)·(128×128) split: small-rnn on 2 threads
 * +20% against 2²², the other configurations unchanged (medians of alternating processes).
 */
#define PARALLEL_FLOPS (1L << 20)
/*
 * The cost of packing one element of V in lane multiply-adds (one AVX-512 FMA instruction is 16, two
 * issue per cycle): a row copy moves ~16 floats per cycle (≈ 2), a transposing gather ~1 (≈ 32).
 * Rough, but it steers a B = 1 product h·W_hhᵀ away from transposing the whole weight on every call.
 */
#define PACK_COST_COPY 2
#define PACK_COST_GATHER 32

/*
 * A transposed U is copied only when V's chunk has at least this many columns to reuse it over. TN
 * dW (1024×1120)·(1120×256): 60 → 83 GFLOP/s copied; NN dh (32×1024)·(1024×256), whose U is W_hhᵀ
 * over V's 32 columns (2 panels), fell from 72 to 56 when copied; TN (512×4096)·(4096×64) from 77 to
 * 72, (512×4096)·(4096×128) 77 either way (AVX2, one thread).
 */
#define U_PACK_MIN_COLUMNS 128

typedef struct {
  const float* u;
  long ui, uk, nu; /* U(i, k) = u[i·ui + k·uk], i < nu */
  const float* v;
  long vk, vj, nv; /* V(k, j) = v[k·vk + j·vj], j < nv */
  long K;
  float* c;
  long cu, cv; /* C element of (i, j) at c[i·cu + j·cv] */
  int accumulate;
  const micro_kernel* mk;
  int split_columns; /* threads split V's panels (1) or U's rows (0) */
} problem;

static long min_l(long a, long b) { return a < b ? a : b; }
static long round_up(long x, long m) { return (x + m - 1) / m * m; }

/* Packs V(k0 … k0+kc, j0 … j0+nj) into NR-wide panels: dst[panel][k][lane], missing lanes 0. */
static void pack_v(const problem* p, long k0, long kc, long j0, long nj, float* dst) {
  const int NR = p->mk->NR;
  for (long jp = 0; jp < nj; jp += NR) {
    const long w = min_l(NR, nj - jp);
    float* d = dst + jp * kc;
    if (p->vj == 1) {
      const float* s = p->v + k0 * p->vk + j0 + jp;
      for (long k = 0; k < kc; k++) {
        memcpy(d + k * NR, s + k * p->vk, (size_t)w * sizeof(float));
        if (w < NR) memset(d + k * NR + w, 0, (size_t)(NR - w) * sizeof(float));
      }
    } else {
      for (long l = 0; l < NR; l++) {
        if (l >= w) {
          for (long k = 0; k < kc; k++) d[k * NR + l] = 0.0f;
          continue;
        }
        const float* s = p->v + k0 * p->vk + (j0 + jp + l) * p->vj;
        for (long k = 0; k < kc; k++) d[k * NR + l] = s[k * p->vk];
      }
    }
  }
}

/*
 * C(i … i+mr, j … j+w) = tile (first) or += tile. Transposed (tile rows along C's rows), the loop runs
 * over C's rows outside so that each touches one run of mr consecutive floats: C's rows are often 4 KiB
 * apart, and visiting them once per tile row would thrash one L1 set.
 */
static void merge(const problem* p, const float* tile, long i, long mr, long j, long w, int first) {
  const int NR = p->mk->NR;
  if (p->cv == 1) {
    for (long r = 0; r < mr; r++) {
      float* c = p->c + (i + r) * p->cu + j;
      const float* t = tile + r * NR;
      if (first) memcpy(c, t, (size_t)w * sizeof(float));
      else for (long l = 0; l < w; l++) c[l] += t[l];
    }
  } else {
    for (long l = 0; l < w; l++) {
      float* c = p->c + i * p->cu + (j + l) * p->cv; /* cu = 1 */
      if (first) for (long r = 0; r < mr; r++) c[r] = tile[r * NR + l];
      else for (long r = 0; r < mr; r++) c[r] += tile[r * NR + l];
    }
  }
}

/* The block of C from U's rows [i0, i1) and V's columns [j0, j1). */
static void compute_block(const problem* p, long i0, long i1, long j0, long j1) {
  const micro_kernel* mk = p->mk;
  const int MR = mk->MR, NR = mk->NR;
  float tile[8 * 32] __attribute__((aligned(64)));
  float* packed = thread_scratch(0, (size_t)KC * VC);
  long row[8];
  float u_block[KC * 8] __attribute__((aligned(64)));
  long packed_rows[8];
  for (int r = 0; r < 8; r++) packed_rows[r] = r;
  for (long jc = j0; jc < j1; jc += VC) {
    const long nj = min_l(VC, j1 - jc);
    for (long pc = 0; pc < p->K; pc += KC) {
      const long kc = min_l(KC, p->K - pc);
      const int first = pc == 0 && !p->accumulate;
      pack_v(p, pc, kc, jc, nj, packed);
      for (long i = i0; i < i1; i += MR) {
        const long mr = min_l(MR, i1 - i);
        /* Rows past the end repeat row i (valid memory); their results are not stored. */
        for (int r = 0; r < MR; r++) row[r] = (i + (r < mr ? r : 0)) * p->ui + pc * p->uk;
        const float* u = p->u;
        const long* u_row = row;
        long uk = p->uk;
        if (uk != 1 && nj >= U_PACK_MIN_COLUMNS) {
          /*
           * U is transposed in memory (a weight gradient's dGatesᵀ): its k-steps are a row of A apart,
           * often 4 KiB, so the MR×kc block the kernel rereads for every panel would fall into a few L1
           * sets and be evicted. Copied once into [k][MR], the kernel reads it as a stream. The same
           * values in the same order: the same bits. Not worth it for a few panels (see the define).
           */
          for (long k = 0; k < kc; k++)
            for (int r = 0; r < MR; r++) u_block[k * MR + r] = p->u[row[r] + k * uk];
          u = u_block;
          u_row = packed_rows;
          uk = MR;
        }
        for (long jp = 0; jp < nj; jp += NR) {
          mk->kernel(kc, u, u_row, uk, packed + jp * kc, tile);
          merge(p, tile, i, mr, jc + jp, min_l(NR, nj - jp), first);
        }
      }
    }
  }
}

/* Thread `index` of `count` computes its share: a contiguous range of V's panels or of U's row blocks. */
static void compute_share(void* arg, int index, int count) {
  const problem* p = arg;
  if (p->split_columns) {
    const long panels = (p->nv + p->mk->NR - 1) / p->mk->NR;
    const long a = panels * index / count * p->mk->NR, b = min_l(p->nv, panels * (index + 1) / count * p->mk->NR);
    if (a < b) compute_block(p, 0, p->nu, a, b);
  } else {
    const long blocks = (p->nu + p->mk->MR - 1) / p->mk->MR;
    const long a = blocks * index / count * p->mk->MR, b = min_l(p->nu, blocks * (index + 1) / count * p->mk->MR);
    if (a < b) compute_block(p, a, b, 0, p->nv);
  }
}

/* Estimated cost in lane multiply-adds: padded tiles plus packing V (whose lanes are vj apart). */
static double cost(const micro_kernel* mk, long nu, long nv, long K, long vj) {
  const double pack = vj == 1 ? PACK_COST_COPY : PACK_COST_GATHER;
  return (double)round_up(nu, mk->MR) * (double)round_up(nv, mk->NR) * (double)K + pack * (double)nv * (double)K;
}

void gemm(int transA, int transB, long M, long N, long K, const float* A, long lda, const float* B, long ldb, int accumulate, float* C, long ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) for (long i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(float));
    return;
  }
  if (M == 1) {
    /* One row (sampling, B = 1): a GEMV reading W once beats tiles that would use 1 lane or row of 8 or 32. */
    const float* a = A;
    if (transA && lda != 1) {
      float* row = thread_scratch(1, (size_t)K);
      for (long k = 0; k < K; k++) row[k] = A[k * lda];
      a = row;
    }
    active_paths()->kernels->gemv(transB, N, K, a, B, ldb, accumulate, C);
    return;
  }
  const micro_kernel* mk = active_paths()->gemm;
  /* op(A)(i, k) = A[i·ai + k·ak], op(B)(k, j) = B[k·bk + j·bj]. */
  const long ai = transA ? 1 : lda, ak = transA ? lda : 1;
  const long bk = transB ? 1 : ldb, bj = transB ? ldb : 1;
  problem p;
  if (cost(mk, M, N, K, bj) <= cost(mk, N, M, K, ai)) {
    p = (problem){A, ai, ak, M, B, bk, bj, N, K, C, ldc, 1, accumulate, mk, 0};
  } else {
    p = (problem){B, bj, bk, N, A, ak, ai, M, K, C, 1, ldc, accumulate, mk, 0};
  }
  int threads = pool_threads();
  if (2.0 * (double)M * (double)N * (double)K < (double)PARALLEL_FLOPS) threads = 1;
  const long panels = (p.nv + mk->NR - 1) / mk->NR, blocks = (p.nu + mk->MR - 1) / mk->MR;
  p.split_columns = panels >= 2L * threads || panels >= blocks;
  if (threads > 1) pool_run(compute_share, &p, threads);
  else compute_share(&p, 0, 1);
}
