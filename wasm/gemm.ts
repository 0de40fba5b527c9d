/**
 * GEMM on f32x4 vectors: C (M×N) = op(A) (M×K) · op(B) (K×N)  (+ C when accumulate).
 *
 * Pointers are byte addresses in linear memory; leading dimensions count floats, as in BLAS.
 *
 * Main path (every transpose combination), GotoBLAS-style: op(B) is packed in blocks of KC (depth) ×
 * NC (columns) into 8-column panels, op(A) in blocks of MC rows into 4-row panels, both k-major
 * ([panel][k][lane]) so that the micro-kernel streams them contiguously; a packed B panel (8 KB) stays
 * in L1 while the A panels (≤ 128 KB) pass from L2. The micro-kernel keeps a 4×8 tile of C in eight
 * f32x4 accumulators: per k, one row of the B panel (2 vectors) times 4 broadcast A values. Transposes
 * only change the packing: B stored (N, K) — the cells' x·Wᵀ — is packed with 4×4 transposes.
 * Partial tiles at the edges are computed in a scratch tile and copied.
 *
 * Small path, C = A·Bᵀ with M < 16 (a batch of a few sequences, e.g. generation): packing W would cost
 * more than the product, so A rows and B rows, both contiguous in k, are multiplied in place as 2×4
 * tiles of f32x4 dot products, reduced horizontally at the end.
 *
 * Measured on the recurrent shapes (bench/gemm.ts): ~40–45 GFLOP/s per core (CPU time), about 75% of
 * the 128-bit mul + add peak of the machine (there is no fused multiply-add in WebAssembly SIMD 1.0).
 *
 * Every call writes only its own block of C and its own workspace, so a worker-thread split (ranges of
 * C's rows or columns, one workspace per worker) can call the same function on the same shared memory.
 */

const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 128;
const NC: i32 = 1024;

/** Bytes of workspace `gemm` needs: packed B (KC×NC), packed A (MC×KC), one edge tile (MR×NR). */
export const GEMM_WORKSPACE_BYTES: i32 = (KC * NC + MC * KC + MR * NR) * 4;

// @ts-ignore: decorator
@inline function min(a: i32, b: i32): i32 {
  return a < b ? a : b;
}

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

export function gemm(
  transA: bool, transB: bool, M: i32, N: i32, K: i32,
  a: usize, lda: i32, b: usize, ldb: i32,
  accumulate: bool, c: usize, ldc: i32, work: usize,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) {
      for (let i = 0; i < M; i++) memory.fill(at(c, i * ldc), 0, <usize>N << 2);
    }
    return;
  }
  if (!transA && transB && M < DOT_MAX_M) {
    gemmDot(M, N, K, a, lda, b, ldb, accumulate, c, ldc);
    return;
  }
  const bp = work;
  const ap = work + (<usize>(KC * NC) << 2);
  const tile = ap + (<usize>(MC * KC) << 2);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const addC = accumulate || pc > 0;
      if (transB) packBT(kc, nc, at(b, jc * ldb + pc), ldb, bp);
      else packBN(kc, nc, at(b, pc * ldb + jc), ldb, bp);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        if (transA) packAT(mc, kc, at(a, pc * lda + ic), lda, ap);
        else packAN(mc, kc, at(a, ic * lda + pc), lda, ap);
        macroKernel(mc, nc, kc, ap, bp, at(c, ic * ldc + jc), ldc, addC, tile);
      }
    }
  }
}

/** C block (mc×nc) (+)= packed A block · packed B block, tile by tile. */
function macroKernel(mc: i32, nc: i32, kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, addC: bool, tile: usize): void {
  const ldcBytes = <usize>ldc << 2;
  for (let jr = 0; jr < nc; jr += NR) {
    const n = min(NR, nc - jr);
    const bPanel = at(bp, jr * kc);
    for (let ir = 0; ir < mc; ir += MR) {
      const m = min(MR, mc - ir);
      const aPanel = at(ap, ir * kc);
      const cTile = at(c, ir * ldc + jr);
      if (m == MR && n == NR) {
        micro4x8(kc, aPanel, bPanel, cTile, ldcBytes, addC);
      } else {
        micro4x8(kc, aPanel, bPanel, tile, NR << 2, false);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            const dst = at(cTile, i * ldc + j);
            const v = load<f32>(at(tile, i * NR + j));
            store<f32>(dst, addC ? load<f32>(dst) + v : v);
          }
        }
      }
    }
  }
}

/** C (4×8) (+)= Ap (kc×4, k-major) · Bp (kc×8, k-major). */
// @ts-ignore: decorator
@inline function micro4x8(kc: i32, ap: usize, bp: usize, c: usize, ldcBytes: usize, addC: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const bEnd = bp + (<usize>kc << 5);
  while (bp < bEnd) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += 16;
    bp += 32;
  }
  if (addC) {
    c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  c += ldcBytes;
  if (addC) {
    c10 = f32x4.add(c10, v128.load(c)); c11 = f32x4.add(c11, v128.load(c, 16));
  }
  v128.store(c, c10); v128.store(c, c11, 16);
  c += ldcBytes;
  if (addC) {
    c20 = f32x4.add(c20, v128.load(c)); c21 = f32x4.add(c21, v128.load(c, 16));
  }
  v128.store(c, c20); v128.store(c, c21, 16);
  c += ldcBytes;
  if (addC) {
    c30 = f32x4.add(c30, v128.load(c)); c31 = f32x4.add(c31, v128.load(c, 16));
  }
  v128.store(c, c30); v128.store(c, c31, 16);
}

/** Packs A (mc×kc, A(i,k) = a[i·lda + k]) into 4-row panels [i/4][k][4], zero-padding the last. */
function packAN(mc: i32, kc: i32, a: usize, lda: i32, dst: usize): void {
  const ldaBytes = <usize>lda << 2;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const rows = min(MR, mc - i0);
    const r0 = at(a, i0 * lda);
    if (rows == MR) {
      const r1 = r0 + ldaBytes, r2 = r1 + ldaBytes, r3 = r2 + ldaBytes;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const off = <usize>k << 2;
        const x0 = v128.load(r0 + off), x1 = v128.load(r1 + off);
        const x2 = v128.load(r2 + off), x3 = v128.load(r3 + off);
        const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
        const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
        const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
        v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
        v128.store(dst, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
        v128.store(dst, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
        v128.store(dst, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
        dst += 64;
      }
      for (; k < kc; k++) {
        const off = <usize>k << 2;
        store<f32>(dst, load<f32>(r0 + off));
        store<f32>(dst, load<f32>(r1 + off), 4);
        store<f32>(dst, load<f32>(r2 + off), 8);
        store<f32>(dst, load<f32>(r3 + off), 12);
        dst += 16;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let r = 0; r < MR; r++) {
          store<f32>(at(dst, r), r < rows ? load<f32>(at(r0, r * lda + k)) : 0);
        }
        dst += 16;
      }
    }
  }
}

/** Packs A (mc×kc, A(i,k) = a[k·lda + i]) into 4-row panels [i/4][k][4], zero-padding the last. */
function packAT(mc: i32, kc: i32, a: usize, lda: i32, dst: usize): void {
  const ldaBytes = <usize>lda << 2;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const rows = min(MR, mc - i0);
    let src = at(a, i0);
    if (rows == MR) {
      for (let k = 0; k < kc; k++) {
        v128.store(dst, v128.load(src));
        src += ldaBytes;
        dst += 16;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let r = 0; r < MR; r++) store<f32>(at(dst, r), r < rows ? load<f32>(at(src, r)) : 0);
        src += ldaBytes;
        dst += 16;
      }
    }
  }
}

/** Packs B (kc×nc, B(k,j) = b[k·ldb + j]) into 8-column panels [j/8][k][8], zero-padding the last. */
function packBN(kc: i32, nc: i32, b: usize, ldb: i32, dst: usize): void {
  const ldbBytes = <usize>ldb << 2;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const cols = min(NR, nc - j0);
    let src = at(b, j0);
    if (cols == NR) {
      for (let k = 0; k < kc; k++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += ldbBytes;
        dst += 32;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let j = 0; j < NR; j++) store<f32>(at(dst, j), j < cols ? load<f32>(at(src, j)) : 0);
        src += ldbBytes;
        dst += 32;
      }
    }
  }
}

/** Packs B (kc×nc, B(k,j) = b[j·ldb + k]) into 8-column panels [j/8][k][8], zero-padding the last. */
function packBT(kc: i32, nc: i32, b: usize, ldb: i32, dst: usize): void {
  const ldbBytes = <usize>ldb << 2;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const cols = min(NR, nc - j0);
    const r0 = at(b, j0 * ldb);
    if (cols == NR) {
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const off = <usize>k << 2;
        let p = r0 + off;
        transpose4(v128.load(p), v128.load(p + ldbBytes), v128.load(p + 2 * ldbBytes), v128.load(p + 3 * ldbBytes), dst, 32);
        p += 4 * ldbBytes;
        transpose4(v128.load(p), v128.load(p + ldbBytes), v128.load(p + 2 * ldbBytes), v128.load(p + 3 * ldbBytes), dst + 16, 32);
        dst += 128;
      }
      for (; k < kc; k++) {
        for (let j = 0; j < NR; j++) store<f32>(at(dst, j), load<f32>(at(r0, j * ldb + k)));
        dst += 32;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let j = 0; j < NR; j++) store<f32>(at(dst, j), j < cols ? load<f32>(at(r0, j * ldb + k)) : 0);
        dst += 32;
      }
    }
  }
}

/** Stores the transpose of the 4×4 block with rows x0…x3 as four vectors, `stride` bytes apart. */
// @ts-ignore: decorator
@inline function transpose4(x0: v128, x1: v128, x2: v128, x3: v128, dst: usize, stride: usize): void {
  const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(dst + stride, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

// ---------------------------------------------------------------------------------------------
// Small path, C = A·Bᵀ for M < DOT_MAX_M: A (M×K) rows and B (N×K) rows are contiguous in k.

const DOT_MAX_M: i32 = 16;
const DOT_NB: i32 = 32; // rows of B kept in L1 while every row pair of A passes

function gemmDot(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, accumulate: bool, c: usize, ldc: i32): void {
  for (let pc = 0; pc < K; pc += KC) {
    const kc = min(KC, K - pc);
    const addC = accumulate || pc > 0;
    for (let jb = 0; jb < N; jb += DOT_NB) {
      const nb = min(DOT_NB, N - jb);
      let i = 0;
      for (; i + 2 <= M; i += 2) {
        const a0 = at(a, i * lda + pc);
        const a1 = at(a, (i + 1) * lda + pc);
        let j = jb;
        for (; j + 4 <= jb + nb; j += 4) {
          dot2x4(kc, a0, a1, at(b, j * ldb + pc), <usize>ldb << 2, at(c, i * ldc + j), <usize>ldc << 2, addC);
        }
        for (; j < jb + nb; j++) {
          const b0 = at(b, j * ldb + pc);
          dot1x1(kc, a0, b0, at(c, i * ldc + j), addC);
          dot1x1(kc, a1, b0, at(c, (i + 1) * ldc + j), addC);
        }
      }
      if (i < M) {
        const a0 = at(a, i * lda + pc);
        for (let j = jb; j < jb + nb; j++) dot1x1(kc, a0, at(b, j * ldb + pc), at(c, i * ldc + j), addC);
      }
    }
  }
}

/** Lanes (Σx0, Σx1, Σx2, Σx3): the horizontal sums of four vectors, in one vector. */
// @ts-ignore: decorator
@inline function sum4(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const s01 = f32x4.add(v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), v128.shuffle<f32>(x0, x1, 2, 6, 3, 7));
  const s23 = f32x4.add(v128.shuffle<f32>(x2, x3, 0, 4, 1, 5), v128.shuffle<f32>(x2, x3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(s01, s23, 0, 1, 4, 5), v128.shuffle<f32>(s01, s23, 2, 3, 6, 7));
}

/** C[0..1, 0..3] (+)= A rows a0, a1 (kc) · B rows b, b+ldb, b+2ldb, b+3ldb (kc). */
// @ts-ignore: decorator
@inline function dot2x4(kc: i32, a0: usize, a1: usize, b: usize, ldbBytes: usize, c: usize, ldcBytes: usize, addC: bool): void {
  const b1 = b + ldbBytes, b2 = b1 + ldbBytes, b3 = b2 + ldbBytes;
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
  let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
  const kv = kc & ~3;
  const end = <usize>kv << 2;
  for (let off: usize = 0; off < end; off += 16) {
    const x0 = v128.load(a0 + off);
    const x1 = v128.load(a1 + off);
    let y = v128.load(b + off);
    s00 = f32x4.add(s00, f32x4.mul(x0, y));
    s10 = f32x4.add(s10, f32x4.mul(x1, y));
    y = v128.load(b1 + off);
    s01 = f32x4.add(s01, f32x4.mul(x0, y));
    s11 = f32x4.add(s11, f32x4.mul(x1, y));
    y = v128.load(b2 + off);
    s02 = f32x4.add(s02, f32x4.mul(x0, y));
    s12 = f32x4.add(s12, f32x4.mul(x1, y));
    y = v128.load(b3 + off);
    s03 = f32x4.add(s03, f32x4.mul(x0, y));
    s13 = f32x4.add(s13, f32x4.mul(x1, y));
  }
  let r0 = sum4(s00, s01, s02, s03);
  let r1 = sum4(s10, s11, s12, s13);
  for (let k = kv; k < kc; k++) {
    const off = <usize>k << 2;
    let y = f32x4.splat(load<f32>(b + off));
    y = f32x4.replace_lane(y, 1, load<f32>(b1 + off));
    y = f32x4.replace_lane(y, 2, load<f32>(b2 + off));
    y = f32x4.replace_lane(y, 3, load<f32>(b3 + off));
    r0 = f32x4.add(r0, f32x4.mul(v128.load32_splat(a0 + off), y));
    r1 = f32x4.add(r1, f32x4.mul(v128.load32_splat(a1 + off), y));
  }
  if (addC) r0 = f32x4.add(r0, v128.load(c));
  v128.store(c, r0);
  c += ldcBytes;
  if (addC) r1 = f32x4.add(r1, v128.load(c));
  v128.store(c, r1);
}

/** C[0,0] (+)= a (kc) · b (kc). */
// @ts-ignore: decorator
@inline function dot1x1(kc: i32, a: usize, b: usize, c: usize, addC: bool): void {
  let s = f32x4.splat(0);
  const kv = kc & ~3;
  const end = <usize>kv << 2;
  for (let off: usize = 0; off < end; off += 16) s = f32x4.add(s, f32x4.mul(v128.load(a + off), v128.load(b + off)));
  let r = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
  for (let k = kv; k < kc; k++) r += load<f32>(at(a, k)) * load<f32>(at(b, k));
  store<f32>(c, addC ? load<f32>(c) + r : r);
}
