/**
 * GEMM conformance, every backend: C = op(A)·op(B) (+ C) for the four transpose combinations, with
 * and without accumulate, offsets and leading dimensions larger than the rows, on edge sizes that are
 * not multiples of the micro-tiles (1, 3, 5, 17, 33), sizes crossing the wasm blocking (K around 256,
 * M around 16 and 128, N around 1024) and the recurrent shapes.
 *
 * Tolerance: the classical bound for a float32 dot product in any summation order,
 *   |C − C_exact| ≤ (K + 2)·u·(|C₀| + Σ_k |a_ik|·|b_kj|),  u = 2⁻²⁴,
 * against C_exact computed by the reference in float64. Gaps between rows (ldc > N) and everything
 * outside the block must stay untouched; with accumulate off, C's old contents (NaN here) are ignored.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Kernels, referenceKernels } from "../../src/kernels/index.js";
import { Rng } from "../../src/tensor/rng.js";
import { BACKENDS, U, assertBitIdentical, threadedWasmKernels, wasmKernels } from "./conformance.js";

interface Shape {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  accumulate: boolean;
}

const GUARD = -777.25;

function fill(n: number, rng: Rng): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.fround(rng.uniform(-1, 1));
  return v;
}

/** Checks one product on every backend; returns the results by backend name. */
function checkGemm(s: Shape, rng: Rng, backends: readonly Kernels[] = BACKENDS): Map<string, Float32Array> {
  const { transA, transB, M, N, K, accumulate } = s;
  const [aRows, aCols] = transA ? [K, M] : [M, K];
  const [bRows, bCols] = transB ? [N, K] : [K, N];
  const lda = aCols + rng.int(3);
  const ldb = bCols + rng.int(3);
  const ldc = N + rng.int(3);
  const aOff = rng.int(4);
  const bOff = rng.int(4);
  const cOff = rng.int(4);
  const extent = (rows: number, cols: number, ld: number): number => (rows > 0 && cols > 0 ? (rows - 1) * ld + cols : 0);
  const aLen = aOff + extent(aRows, aCols, lda);
  const bLen = bOff + extent(bRows, bCols, ldb);
  const cLen = cOff + (M - 1) * ldc + N + 2;
  const a = fill(aLen, rng);
  const b = fill(bLen, rng);
  const c0 = new Float64Array(cLen).fill(GUARD);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) c0[cOff + i * ldc + j] = accumulate ? Math.fround(rng.uniform(-1, 1)) : Number.NaN;
  }

  // Exact product and the magnitude Σ|a||b| (+|C₀|), both in float64.
  const exact = Float64Array.from(c0);
  referenceKernels.gemm(transA, transB, M, N, K, a as unknown as Float32Array, aOff, lda, b as unknown as Float32Array, bOff, ldb,
    accumulate, exact as unknown as Float32Array, cOff, ldc);
  const magnitude = new Float64Array(cLen);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) magnitude[cOff + i * ldc + j] = accumulate ? Math.abs(c0[cOff + i * ldc + j]!) : 0;
  referenceKernels.gemm(transA, transB, M, N, K, a.map(Math.abs) as unknown as Float32Array, aOff, lda,
    b.map(Math.abs) as unknown as Float32Array, bOff, ldb, true, magnitude as unknown as Float32Array, cOff, ldc);

  const label = `${transA ? "T" : "N"}${transB ? "T" : "N"} M=${M} N=${N} K=${K}${accumulate ? " +C" : ""}`;
  const results = new Map<string, Float32Array>();
  for (const k of backends) {
    const A = k.allocate(aLen);
    const B = k.allocate(bLen);
    const C = k.allocate(cLen);
    A.set(a);
    B.set(b);
    C.set(c0);
    k.gemm(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, accumulate, C, cOff, ldc);
    for (let p = 0; p < cLen; p++) {
      const inBlock = p >= cOff && (p - cOff) % ldc < N && p < cOff + M * ldc;
      if (!inBlock) {
        if (C[p] !== GUARD) assert.fail(`gemm ${label} on ${k.name}: C[${p}] outside the block changed to ${C[p]}`);
        continue;
      }
      const bound = (K + 2) * U * magnitude[p]! + 1e-30;
      if (!(Math.abs(C[p]! - exact[p]!) <= bound)) {
        assert.fail(`gemm ${label} on ${k.name}: C[${p}] = ${C[p]}, exact ${exact[p]}, bound ${bound}`);
      }
    }
    for (let p = 0; p < aLen; p++) if (A[p] !== Math.fround(a[p]!)) assert.fail(`gemm ${label} on ${k.name}: A changed`);
    for (let p = 0; p < bLen; p++) if (B[p] !== Math.fround(b[p]!)) assert.fail(`gemm ${label} on ${k.name}: B changed`);
    results.set(k.name, C);
  }
  return results;
}

const TRANSPOSES: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];
const EDGES = [1, 3, 5, 17, 33];

describe("gemm conformance", () => {
  for (const [transA, transB] of TRANSPOSES) {
    const name = `${transA ? "T" : "N"}${transB ? "T" : "N"}`;
    it(`${name}: every combination of M, N, K in {1, 3, 5, 17, 33}, accumulate on and off`, () => {
      const rng = new Rng(11);
      for (const M of EDGES) for (const N of EDGES) for (const K of EDGES) {
        for (const accumulate of [false, true]) checkGemm({ transA, transB, M, N, K, accumulate }, rng);
      }
    });

    it(`${name}: sizes across the blocking (M 15/16/129, N 1025, K 255/257/513)`, () => {
      const rng = new Rng(12);
      for (const [M, N, K] of [[15, 40, 257], [16, 9, 513], [129, 33, 255], [4, 1025, 20], [130, 70, 300], [2, 3, 1000]] as const) {
        for (const accumulate of [false, true]) checkGemm({ transA, transB, M, N, K, accumulate }, rng);
      }
    });

    it(`${name}: K = 0 clears C without accumulate and leaves it with`, () => {
      const rng = new Rng(13);
      for (const accumulate of [false, true]) checkGemm({ transA, transB, M: 5, N: 7, K: 0, accumulate }, rng);
    });
  }

  it("the recurrent shapes: (32×256)·(256×1024)ᵀ, (1120×64)·(64×256)ᵀ and their gradients", () => {
    const rng = new Rng(14);
    checkGemm({ transA: false, transB: true, M: 32, N: 1024, K: 256, accumulate: true }, rng); // per-step h·W_hhᵀ
    checkGemm({ transA: false, transB: true, M: 1120, N: 256, K: 64, accumulate: false }, rng); // all-steps x·W_ihᵀ
    checkGemm({ transA: false, transB: false, M: 32, N: 256, K: 1024, accumulate: true }, rng); // dh += dGates·W_hh
    checkGemm({ transA: true, transB: false, M: 256, N: 64, K: 1120, accumulate: true }, rng); // dW += dGatesᵀ·x
  });

  it("M = 0 or N = 0 does nothing", () => {
    for (const k of BACKENDS) {
      const C = k.allocate(4).fill(3);
      const A = k.allocate(4);
      k.gemm(false, false, 0, 2, 2, A, 0, 2, A, 0, 2, false, C, 0, 2);
      k.gemm(false, false, 2, 0, 2, A, 0, 2, A, 0, 2, false, C, 0, 2);
      assert.deepEqual([...C], [3, 3, 3, 3], k.name);
    }
  });

  it("wasm results are bit-identical from run to run, and on 1 and 2 threads", () => {
    for (const [transA, transB] of TRANSPOSES) {
      const s = { transA, transB, M: 37, N: 130, K: 300, accumulate: true };
      const first = checkGemm(s, new Rng(15), [wasmKernels]).get("wasm-simd")!;
      const again = checkGemm(s, new Rng(15), [wasmKernels]).get("wasm-simd")!;
      const threaded = checkGemm(s, new Rng(15), [threadedWasmKernels]).get(threadedWasmKernels.name)!;
      assertBitIdentical(first, again, `gemm ${transA}${transB}`);
      assertBitIdentical(first, threaded, `gemm ${transA}${transB} on 2 threads`);
    }
  });
});
