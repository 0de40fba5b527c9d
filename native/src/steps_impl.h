/*
 * The fused per-step kernels of the three cells, forward above backward for each, written once on
 * 16-lane vectors (vec16.h) and compiled per instruction set (kernels_impl.h: STEP(name) names the
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

#include "vec16.h"

#define ROW_VALID(mask, b) ((mask) == NULL || (mask)[b] != 0.0f)
#define LANES(H, j) ((H) - (j) < 16 ? (int)((H) - (j)) : 16)

/* h = act(pre) on valid rows, hPrev on masked rows; out = mask·h. All (B, H). */
void STEP(rnn_step_forward)(long B, long H, int relu, const float* pre, const float* hPrev, const float* mask, float* h, float* out) {
  for (long b = 0; b < B; b++) {
    const int valid = ROW_VALID(mask, b);
    const long row = b * H;
    for (long j = 0; j < H; j += 16) {
      const int n = LANES(H, j);
      const long k = row + j;
      if (valid) {
        const v16 p = load16(pre + k, n);
        const v16 v = relu ? select16(splat(0.0f) < p, p, splat(0.0f)) : tanh16(p);
        store16(h + k, v, n);
        store16(out + k, v, n);
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
    for (long j = 0; j < H; j += 16) {
      const int n = LANES(H, j);
      const long k = row + j;
      if (valid) {
        const v16 g = load16(dh + k, n) + load16(dOut + k, n);
        const v16 y = load16(h + k, n);
        store16(dPre + k, relu ? select16(splat(0.0f) < y, g, splat(0.0f)) : g * one_minus_square(y), n);
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
    for (long j = 0; j < H; j += 16) {
      const int n = LANES(H, j);
      const long k = row + j;
      const v16 cp = load16(cPrev + k, n);
      v16 preI = load16(gi + j, n);
      v16 preF = load16(gf + j, n);
      v16 preO = load16(go + j, n);
      if (peephole != NULL) {
        preI = preI + load16(peephole + j, n) * cp;
        preF = preF + load16(peephole + H + j, n) * cp;
      }
      const v16 i = sigmoid16(preI);
      const v16 f = sigmoid16(preF);
      const v16 g = tanh16(load16(gg + j, n));
      const v16 cNew = f * cp + i * g;
      if (peephole != NULL) preO = preO + load16(peephole + 2 * H + j, n) * cNew;
      const v16 o = sigmoid16(preO);
      store16(gi + j, i, n);
      store16(gf + j, f, n);
      store16(gg + j, g, n);
      store16(go + j, o, n);
      if (valid) {
        const v16 hNew = o * tanh16(cNew);
        store16(c + k, cNew, n);
        store16(h + k, hNew, n);
        store16(out + k, hNew, n);
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
    for (long j = 0; j < H; j += 16) {
      const int n = LANES(H, j);
      const long k = row + j;
      const v16 i = load16(gi + j, n);
      const v16 f = load16(gf + j, n);
      const v16 g = load16(gg + j, n);
      const v16 o = load16(go + j, n);
      const v16 cp = load16(cPrev + k, n);
      const v16 ct = load16(c + k, n);
      const v16 tc = tanh16(ct);
      const v16 deltaH = load16(dh + k, n) + load16(dOut + k, n);
      const v16 deltaO = ((deltaH * tc) * o) * (1.0f - o);
      v16 deltaC = load16(dc + k, n) + (deltaH * o) * one_minus_square(tc);
      if (peephole != NULL) deltaC = deltaC + deltaO * load16(peephole + 2 * H + j, n);
      const v16 deltaI = ((deltaC * g) * i) * (1.0f - i);
      const v16 deltaF = ((deltaC * cp) * f) * (1.0f - f);
      store16(di + j, deltaI, n);
      store16(df + j, deltaF, n);
      store16(dg + j, (deltaC * i) * one_minus_square(g), n);
      store16(dO + j, deltaO, n);
      v16 dcPrev = deltaC * f;
      if (peephole != NULL) {
        dcPrev = (dcPrev + deltaI * load16(peephole + j, n)) + deltaF * load16(peephole + H + j, n);
        if (dPeephole != NULL) {
          store16(dPeephole + j, load16(dPeephole + j, n) + deltaI * cp, n);
          store16(dPeephole + H + j, load16(dPeephole + H + j, n) + deltaF * cp, n);
          store16(dPeephole + 2 * H + j, load16(dPeephole + 2 * H + j, n) + deltaO * ct, n);
        }
      }
      store16(dc + k, dcPrev, n);
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
    for (long j = 0; j < H; j += 16) {
      const int n = LANES(H, j);
      const long k = row + j;
      const v16 r = sigmoid16(load16(xr + j, n) + load16(hr + j, n));
      const v16 z = sigmoid16(load16(xz + j, n) + load16(hz + j, n));
      const v16 nn = tanh16(load16(xn + j, n) + r * load16(hn + j, n));
      store16(xr + j, r, n);
      store16(xz + j, z, n);
      store16(xn + j, nn, n);
      const v16 hp = load16(hPrev + k, n);
      if (valid) {
        const v16 hNew = (1.0f - z) * nn + z * hp;
        store16(h + k, hNew, n);
        store16(out + k, hNew, n);
      } else {
        store16(h + k, hp, n);
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
    for (long j = 0; j < H; j += 16) {
      const int n = LANES(H, j);
      const long k = row + j;
      const long gr = g0 + j, gz = gr + H, gn = gz + H;
      const v16 r = load16(gates + gr, n);
      const v16 z = load16(gates + gz, n);
      const v16 nn = load16(gates + gn, n);
      const v16 hn = load16(hGates + gn, n);
      const v16 hp = load16(hPrev + k, n);
      const v16 deltaH = load16(dh + k, n) + load16(dOut + k, n);
      const v16 dn = (deltaH * (1.0f - z)) * one_minus_square(nn);
      const v16 dz = ((deltaH * (hp - nn)) * z) * (1.0f - z);
      const v16 dr = ((dn * hn) * r) * (1.0f - r);
      store16(dXGates + gr, dr, n);
      store16(dXGates + gz, dz, n);
      store16(dXGates + gn, dn, n);
      store16(dHGates + gr, dr, n);
      store16(dHGates + gz, dz, n);
      store16(dHGates + gn, dn * r, n);
      store16(dh + k, deltaH * z, n);
    }
  }
}

/* out[i] = f(x[i]) for f = 0 exp, 1 σ, 2 tanh: for the accuracy tests. */
void STEP(activate)(int kind, long n, const float* x, float* out) {
  for (long i = 0; i < n; i += 16) {
    const int m = n - i < 16 ? (int)(n - i) : 16;
    const v16 v = load16(x + i, m);
    store16(out + i, kind == 0 ? exp16(v) : kind == 1 ? sigmoid16(v) : tanh16(v), m);
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
      v16 acc0 = splat(0.0f), acc1 = splat(0.0f), acc2 = splat(0.0f), acc3 = splat(0.0f);
      long k = 0;
      for (; k + 16 <= K; k += 16) { /* full vectors: a constant width the compiler keeps in registers */
        const v16 x = load16(a + k, 16);
        acc0 = acc0 + x * load16(r0 + k, 16);
        acc1 = acc1 + x * load16(r1 + k, 16);
        acc2 = acc2 + x * load16(r2 + k, 16);
        acc3 = acc3 + x * load16(r3 + k, 16);
      }
      if (k < K) {
        const int n = (int)(K - k);
        const v16 x = load16(a + k, n);
        acc0 = acc0 + x * load16(r0 + k, n);
        acc1 = acc1 + x * load16(r1 + k, n);
        acc2 = acc2 + x * load16(r2 + k, n);
        acc3 = acc3 + x * load16(r3 + k, n);
      }
      const float s0 = reduce16(acc0), s1 = reduce16(acc1), s2 = reduce16(acc2), s3 = reduce16(acc3);
      c[j] = accumulate ? c[j] + s0 : s0;
      c[j + 1] = accumulate ? c[j + 1] + s1 : s1;
      c[j + 2] = accumulate ? c[j + 2] + s2 : s2;
      c[j + 3] = accumulate ? c[j + 3] + s3 : s3;
    }
    for (; j < N; j++) {
      const float* row = w + j * ld;
      v16 acc = splat(0.0f);
      for (long k = 0; k < K; k += 16) {
        const int n = LANES(K, k);
        acc = acc + load16(a + k, n) * load16(row + k, n);
      }
      const float s = reduce16(acc);
      c[j] = accumulate ? c[j] + s : s;
    }
  } else {
    for (long j = 0; j < N; j += 16) {
      const int n = LANES(N, j);
      v16 acc = splat(0.0f);
      for (long k = 0; k < K; k++) acc = acc + splat(a[k]) * load16(w + k * ld + j, n);
      store16(c + j, accumulate ? load16(c + j, n) + acc : acc, n);
    }
  }
}
