/*
 * The fused per-step kernels of the three cells, forward above backward for each, written once on
 * vectors of the instruction set's width (vec.h) and compiled per instruction set (kernels_impl.h: STEP(name) names the
 * instruction set's copy, e.g. step_name_avx512). kernels.ts states the maths; reference.ts is the
 * specification; the arithmetic is operation for operation that of wasm/steps.ts.
 *
 * Pointers address each block's first element; mask is NULL for "every row valid". A row's tail
 * (H not a multiple of 16) goes through the same arithmetic with partial loads and stores.
 * Legend: B = batch rows, H = hidden size; gate blocks are H wide within a row of 4H (LSTM i, f, g, o)
 * or 3H (GRU r, z, n).
 */
#include <stddef.h>
#include <string.h>

#include "vec.h"

#define ROW_VALID(mask, b) ((mask) == NULL || (mask)[b] != 0.0f)

/* h = act(pre) on valid rows, hPrev on masked rows; out = mask·h. All (B, H). */
void STEP(rnn_step_forward)(long B, long H, int relu, const float* pre, const float* hPrev, const float* mask, float* h, float* out) {
  for (long b = 0; b < B; b++) {
    const int valid = ROW_VALID(mask, b);
    const long row = b * H;
    for (long j = 0; j < H; j += VEC_LANES) {
      const int n = LANES(H, j);
      const long k = row + j;
      if (valid) {
        const vf p = loadv(pre + k, n);
        const vf v = relu ? selectv(splat(0.0f) < p, p, splat(0.0f)) : tanhv(p);
        storev(h + k, v, n);
        storev(out + k, v, n);
      } else {
        memmove(h + k, hPrev + k, (size_t)n * sizeof(float));
        memset(out + k, 0, (size_t)n * sizeof(float));
      }
    }
  }
}

/* g = dh + dOut; dPre = mask·g·act′(h); dh = (1 − mask)·g. All (B, H). */
void STEP(rnn_step_backward)(long B, long H, int relu, const float* h, const float* dOut, const float* mask, float* dh, float* dPre) {
  for (long b = 0; b < B; b++) {
    const int valid = ROW_VALID(mask, b);
    const long row = b * H;
    for (long j = 0; j < H; j += VEC_LANES) {
      const int n = LANES(H, j);
      const long k = row + j;
      if (valid) {
        const vf g = loadv(dh + k, n) + loadv(dOut + k, n);
        const vf y = loadv(h + k, n);
        storev(dPre + k, relu ? selectv(splat(0.0f) < y, g, splat(0.0f)) : g * one_minus_square(y), n);
        memset(dh + k, 0, (size_t)n * sizeof(float));
      } else {
        memset(dPre + k, 0, (size_t)n * sizeof(float));
      }
    }
  }
}

/*
 * gates (B, 4H): pre-activations in, activations (σ, σ, tanh, σ) out. c = f⊙cPrev + i⊙g and
 * h = o⊙tanh(c) on valid rows; masked rows carry cPrev, hPrev; out = mask·h. cPrev … out: (B, H).
 * peephole (3H) or NULL: i, f also read p_i⊙cPrev, p_f⊙cPrev and o reads p_o⊙c̃, c̃ = f⊙cPrev + i⊙g.
 */
void STEP(lstm_step_forward)(long B, long H, float* gates, const float* peephole, const float* cPrev,
                        const float* hPrev, const float* mask, float* c, float* h, float* out) {
  for (long b = 0; b < B; b++) {
    const int valid = ROW_VALID(mask, b);
    const long row = b * H;
    float* gi = gates + b * 4 * H;
    float* gf = gi + H;
    float* gg = gf + H;
    float* go = gg + H;
    for (long j = 0; j < H; j += VEC_LANES) {
      const int n = LANES(H, j);
      const long k = row + j;
      const vf cp = loadv(cPrev + k, n);
      vf preI = loadv(gi + j, n);
      vf preF = loadv(gf + j, n);
      vf preO = loadv(go + j, n);
      if (peephole != NULL) {
        preI = preI + loadv(peephole + j, n) * cp;
        preF = preF + loadv(peephole + H + j, n) * cp;
      }
      const vf i = sigmoidv(preI);
      const vf f = sigmoidv(preF);
      const vf g = tanhv(loadv(gg + j, n));
      const vf cNew = f * cp + i * g;
      if (peephole != NULL) preO = preO + loadv(peephole + 2 * H + j, n) * cNew;
      const vf o = sigmoidv(preO);
      storev(gi + j, i, n);
      storev(gf + j, f, n);
      storev(gg + j, g, n);
      storev(go + j, o, n);
      if (valid) {
        const vf hNew = o * tanhv(cNew);
        storev(c + k, cNew, n);
        storev(h + k, hNew, n);
        storev(out + k, hNew, n);
      } else {
        memmove(c + k, cPrev + k, (size_t)n * sizeof(float));
        memmove(h + k, hPrev + k, (size_t)n * sizeof(float));
        memset(out + k, 0, (size_t)n * sizeof(float));
      }
    }
  }
}

/*
 * With δh = dh + dOut, δo = δh⊙tanh(c)⊙o(1−o) and δc = dc + δh⊙o⊙(1 − tanh²c) [+ δo⊙p_o] on valid rows:
 *   dGates = (δc⊙g⊙i(1−i), δc⊙cPrev⊙f(1−f), δc⊙i⊙(1−g²), δo),  dc = δc⊙f [+ δi⊙p_i + δf⊙p_f],  dh = 0;
 *   with peepholes and dPeephole: dPeephole += (δi⊙cPrev, δf⊙cPrev, δo⊙c), row after row.
 * Masked rows keep dh, dc and get dGates = 0. gates, dGates: (B, 4H); peephole, dPeephole (3H); the rest (B, H).
 */
void STEP(lstm_step_backward)(long B, long H, const float* gates, const float* peephole, const float* cPrev,
                         const float* c, const float* dOut, const float* mask, float* dh, float* dc, float* dGates,
                         float* dPeephole) {
  for (long b = 0; b < B; b++) {
    const float* gi = gates + b * 4 * H;
    const float* gf = gi + H;
    const float* gg = gf + H;
    const float* go = gg + H;
    float* di = dGates + b * 4 * H;
    float* df = di + H;
    float* dg = df + H;
    float* dO = dg + H;
    if (!ROW_VALID(mask, b)) {
      memset(di, 0, (size_t)(4 * H) * sizeof(float));
      continue;
    }
    const long row = b * H;
    for (long j = 0; j < H; j += VEC_LANES) {
      const int n = LANES(H, j);
      const long k = row + j;
      const vf i = loadv(gi + j, n);
      const vf f = loadv(gf + j, n);
      const vf g = loadv(gg + j, n);
      const vf o = loadv(go + j, n);
      const vf cp = loadv(cPrev + k, n);
      const vf ct = loadv(c + k, n);
      const vf tc = tanhv(ct);
      const vf deltaH = loadv(dh + k, n) + loadv(dOut + k, n);
      const vf deltaO = ((deltaH * tc) * o) * (1.0f - o);
      vf deltaC = loadv(dc + k, n) + (deltaH * o) * one_minus_square(tc);
      if (peephole != NULL) deltaC = deltaC + deltaO * loadv(peephole + 2 * H + j, n);
      const vf deltaI = ((deltaC * g) * i) * (1.0f - i);
      const vf deltaF = ((deltaC * cp) * f) * (1.0f - f);
      storev(di + j, deltaI, n);
      storev(df + j, deltaF, n);
      storev(dg + j, (deltaC * i) * one_minus_square(g), n);
      storev(dO + j, deltaO, n);
      vf dcPrev = deltaC * f;
      if (peephole != NULL) {
        dcPrev = (dcPrev + deltaI * loadv(peephole + j, n)) + deltaF * loadv(peephole + H + j, n);
        if (dPeephole != NULL) {
          storev(dPeephole + j, loadv(dPeephole + j, n) + deltaI * cp, n);
          storev(dPeephole + H + j, loadv(dPeephole + H + j, n) + deltaF * cp, n);
          storev(dPeephole + 2 * H + j, loadv(dPeephole + 2 * H + j, n) + deltaO * ct, n);
        }
      }
      storev(dc + k, dcPrev, n);
      memset(dh + k, 0, (size_t)n * sizeof(float));
    }
  }
}

/*
 * xGates (B, 3H): W_ih·x + b_ih in, activations (r, z, n) out; hGates (B, 3H) = W_hh·hPrev + b_hh.
 *   r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r⊙h_n), h = (1 − z)⊙n + z⊙hPrev on valid rows,
 * hPrev on masked rows; out = mask·h.
 */
void STEP(gru_step_forward)(long B, long H, float* xGates, const float* hGates, const float* hPrev, const float* mask, float* h, float* out) {
  for (long b = 0; b < B; b++) {
    const int valid = ROW_VALID(mask, b);
    const long row = b * H;
    float* xr = xGates + b * 3 * H;
    float* xz = xr + H;
    float* xn = xz + H;
    const float* hr = hGates + b * 3 * H;
    const float* hz = hr + H;
    const float* hn = hz + H;
    for (long j = 0; j < H; j += VEC_LANES) {
      const int n = LANES(H, j);
      const long k = row + j;
      const vf r = sigmoidv(loadv(xr + j, n) + loadv(hr + j, n));
      const vf z = sigmoidv(loadv(xz + j, n) + loadv(hz + j, n));
      const vf nn = tanhv(loadv(xn + j, n) + r * loadv(hn + j, n));
      storev(xr + j, r, n);
      storev(xz + j, z, n);
      storev(xn + j, nn, n);
      const vf hp = loadv(hPrev + k, n);
      if (valid) {
        const vf hNew = (1.0f - z) * nn + z * hp;
        storev(h + k, hNew, n);
        storev(out + k, hNew, n);
      } else {
        storev(h + k, hp, n);
        memset(out + k, 0, (size_t)n * sizeof(float));
      }
    }
  }
}

/*
 * gates (B, 3H): the (r, z, n) activations; hGates: W_hh·hPrev + b_hh. With δh = dh + dOut on valid rows:
 *   dn = δh(1−z)(1−n²), dz = δh(hPrev−n)z(1−z), dr = dn·h_n·r(1−r);
 *   dXGates = (dr, dz, dn), dHGates = (dr, dz, dn⊙r), dh = δh⊙z. Masked rows keep dh and get zeros.
 */
void STEP(gru_step_backward)(long B, long H, const float* gates, const float* hGates, const float* hPrev, const float* dOut, const float* mask,
                        float* dh, float* dXGates, float* dHGates) {
  for (long b = 0; b < B; b++) {
    const long g0 = b * 3 * H;
    if (!ROW_VALID(mask, b)) {
      memset(dXGates + g0, 0, (size_t)(3 * H) * sizeof(float));
      memset(dHGates + g0, 0, (size_t)(3 * H) * sizeof(float));
      continue;
    }
    const long row = b * H;
    for (long j = 0; j < H; j += VEC_LANES) {
      const int n = LANES(H, j);
      const long k = row + j;
      const long gr = g0 + j, gz = gr + H, gn = gz + H;
      const vf r = loadv(gates + gr, n);
      const vf z = loadv(gates + gz, n);
      const vf nn = loadv(gates + gn, n);
      const vf hn = loadv(hGates + gn, n);
      const vf hp = loadv(hPrev + k, n);
      const vf deltaH = loadv(dh + k, n) + loadv(dOut + k, n);
      const vf dn = (deltaH * (1.0f - z)) * one_minus_square(nn);
      const vf dz = ((deltaH * (hp - nn)) * z) * (1.0f - z);
      const vf dr = ((dn * hn) * r) * (1.0f - r);
      storev(dXGates + gr, dr, n);
      storev(dXGates + gz, dz, n);
      storev(dXGates + gn, dn, n);
      storev(dHGates + gr, dr, n);
      storev(dHGates + gz, dz, n);
      storev(dHGates + gn, dn * r, n);
      storev(dh + k, deltaH * z, n);
    }
  }
}

/* out[i] = f(x[i]) for f = 0 exp, 1 σ, 2 tanh: for the accuracy tests. */
void STEP(activate)(int kind, long n, const float* x, float* out) {
  for (long i = 0; i < n; i += VEC_LANES) {
    const int m = LANES(n, i);
    const vf v = loadv(x + i, m);
    storev(out + i, kind == 0 ? expv(v) : kind == 1 ? sigmoidv(v) : tanhv(v), m);
  }
}

/*
 * The GEMM of the kernel table: one driver for every instruction set (gemm.c), which takes the
 * micro-kernel of the active paths, and their gemv (below) for a single row.
 */
void STEP(gemm)(int transA, int transB, long M, long N, long K, const float* A, long lda, const float* B, long ldb, int accumulate,
                float* C, long ldc) {
  gemm(transA, transB, M, N, K, A, lda, B, ldb, accumulate, C, ldc);
}

/* acc += x·w over the 16 lanes of k … k + n − 1 (n ≤ 16): lane l takes the term k + l. */
V_INLINE v16 dot16(v16 acc, const float* x, const float* w, int n) {
  for (int q = 0; q < VEC_PARTS; q++) {
    const int lanes = part_lanes(n, q);
    acc.part[q] = acc.part[q] + loadv(x + q * VEC_LANES, lanes) * loadv(w + q * VEC_LANES, lanes);
  }
  return acc;
}

/*
 * One row times a matrix, for B = 1 (sampling): c[j] = Σ_k a[k]·W(k, j) (+ c[j] when accumulate), where
 * W(k, j) = w[j·ld + k] (transposed: rows of W are dot products along k) or w[k·ld + j]. a: (K) contiguous.
 * Transposed, each c[j] sums 16 partial sums (k ≡ lane mod 16, in k order) and adds them pairwise in a
 * fixed tree; else each c[j] sums in k order. Without contraction, so every instruction set gives the
 * same bits.
 */
void STEP(gemv)(int transposed, long N, long K, const float* a, const float* w, long ld, int accumulate, float* c) {
  if (transposed) {
    long j = 0;
    /* Four rows at once: four independent chains of vector adds instead of one (the same sums per row). */
    for (; j + 4 <= N; j += 4) {
      const float* r0 = w + j * ld;
      const float* r1 = r0 + ld;
      const float* r2 = r1 + ld;
      const float* r3 = r2 + ld;
      v16 acc0 = zero16(), acc1 = zero16(), acc2 = zero16(), acc3 = zero16();
      long k = 0;
      for (; k + 16 <= K; k += 16) { /* full blocks: a constant width the compiler keeps in registers */
        acc0 = dot16(acc0, a + k, r0 + k, 16);
        acc1 = dot16(acc1, a + k, r1 + k, 16);
        acc2 = dot16(acc2, a + k, r2 + k, 16);
        acc3 = dot16(acc3, a + k, r3 + k, 16);
      }
      if (k < K) {
        const int n = (int)(K - k);
        acc0 = dot16(acc0, a + k, r0 + k, n);
        acc1 = dot16(acc1, a + k, r1 + k, n);
        acc2 = dot16(acc2, a + k, r2 + k, n);
        acc3 = dot16(acc3, a + k, r3 + k, n);
      }
      const float s0 = reduce16(acc0), s1 = reduce16(acc1), s2 = reduce16(acc2), s3 = reduce16(acc3);
      c[j] = accumulate ? c[j] + s0 : s0;
      c[j + 1] = accumulate ? c[j + 1] + s1 : s1;
      c[j + 2] = accumulate ? c[j + 2] + s2 : s2;
      c[j + 3] = accumulate ? c[j + 3] + s3 : s3;
    }
    for (; j < N; j++) {
      const float* row = w + j * ld;
      v16 acc = zero16();
      for (long k = 0; k < K; k += 16) acc = dot16(acc, a + k, row + k, K - k < 16 ? (int)(K - k) : 16);
      const float s = reduce16(acc);
      c[j] = accumulate ? c[j] + s : s;
    }
  } else {
    for (long j = 0; j < N; j += VEC_LANES) {
      const int n = LANES(N, j);
      vf acc = splat(0.0f);
      for (long k = 0; k < K; k++) acc = acc + splat(a[k]) * loadv(w + k * ld + j, n);
      storev(c + j, accumulate ? loadv(c + j, n) + acc : acc, n);
    }
  }
}
