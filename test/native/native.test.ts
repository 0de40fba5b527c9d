/**
 * The native backend beyond the shared conformance suites (test/kernels/ run every kernel on it too):
 * 1. the addon is built and loads (CI has a compiler; BPTT_EXPECT_NATIVE=0 declares a machine without);
 * 2. σ, tanh and exp accuracy in ulp against float64 — the same algorithms and bounds as wasm-simd
 *    (test/kernels/activations.test.ts): exp ≤ 1.5, σ ≤ 3, tanh ≤ 2 ulp; NaN, ±∞, ±0;
 * 3. determinism: GEMM results bit-identical from run to run, for 1 to 4 threads, and across the
 *    AVX-512, AVX2 and generic paths (every path sums with fused multiply-adds in the same order);
 *    the step kernels bit-identical across paths;
 * 4. bad calls throw (RangeError for a block outside its array, TypeError for a non-Float32Array)
 *    instead of touching memory.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NativeKernels } from "../../src/native/index.js";
import { Rng } from "../../src/tensor/rng.js";
import { assertBitIdentical, nativeKernels } from "../kernels/conformance.js";

const expected = process.env["BPTT_EXPECT_NATIVE"] !== "0";

it("the native addon is built and loads (BPTT_EXPECT_NATIVE=0 on a machine without a compiler)", () => {
  if (expected) assert.ok(nativeKernels !== null, "native backend did not load: run `npm rebuild` or see build/native-build.log");
});

if (nativeKernels !== null) nativeTests(nativeKernels);

function nativeTests(k: NativeKernels): void {
  const addon = k.addon;
  const initial = addon.info();
  const isas = ["avx512", "avx2", "generic"].filter((isa) => {
    try {
      addon.configure(initial.threads, isa);
      return true;
    } catch {
      return false;
    } finally {
      addon.configure(initial.threads, null);
    }
  });

  /** Runs `body` with the addon configured to `threads` and `isa`, then restores it. */
  function configured<T>(threads: number, isa: string | null, body: () => T): T {
    addon.configure(threads, isa);
    try {
      return body();
    } finally {
      addon.configure(initial.threads, null);
    }
  }

  describe("native activations", () => {
    const N = 1 << 18;
    const ulp = (v: number): number => {
      const a = Math.abs(Math.fround(v));
      return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
    };
    const apply = (kind: number, values: ArrayLike<number>): Float32Array => {
      const x = Float32Array.from(values);
      const y = new Float32Array(x.length);
      addon.activate(kind, x.length, x, y);
      return y;
    };
    const worst = (kind: number, f: (v: number) => number, lo: number, hi: number): number => {
      const x = new Float32Array(N).map((_, i) => lo + ((hi - lo) * i) / (N - 1));
      const y = apply(kind, x);
      let w = 0;
      for (let i = 0; i < N; i++) w = Math.max(w, Math.abs(y[i]! - f(x[i]!)) / ulp(f(x[i]!)));
      return w;
    };
    const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

    for (const [lo, hi] of [[-30, 30], [-2, 2], [-1e-3, 1e-3]] as const) {
      it(`σ, tanh on [${lo}, ${hi}], exp on [max(${lo}, −87), min(${hi}, 88)], on ${k.info().isa}`, (t) => {
        const e = worst(0, Math.exp, Math.max(lo, -87), Math.min(hi, 88));
        const s = worst(1, sigmoid, lo, hi);
        const h = worst(2, Math.tanh, lo, hi);
        t.diagnostic(`worst: exp ${e.toFixed(2)} ulp, σ ${s.toFixed(2)}, tanh ${h.toFixed(2)}`);
        assert.ok(e <= 1.5, `exp ${e} ulp`);
        assert.ok(s <= 3, `σ ${s} ulp`);
        assert.ok(h <= 2, `tanh ${h} ulp`);
      });
    }

    it("limits: NaN, ±∞, huge arguments, signed zero", () => {
      const inputs = [Number.NaN, Infinity, -Infinity, 1e30, -1e30, 100, -100, 0, -0];
      const s = apply(1, inputs);
      const h = apply(2, inputs);
      assert.ok(Number.isNaN(s[0]!) && Number.isNaN(h[0]!), "NaN propagates");
      for (const i of [1, 3, 5]) assert.equal(s[i], 1, `σ(${inputs[i]})`);
      for (const i of [2, 4, 6]) assert.ok(s[i]! >= 0 && s[i]! < 1e-38, `σ(${inputs[i]}) = ${s[i]}`);
      assert.deepEqual([...h.slice(1)], [1, -1, 1, -1, 1, -1, 0, -0]);
      assert.ok(Object.is(h[8], -0), "tanh(−0) = −0");
    });
  });

  describe("native determinism", () => {
    const random = (n: number, rng: Rng): Float32Array => new Float32Array(n).map(() => rng.uniform(-1, 1));
    // Large enough to be split over threads (> 2²² flops), with edges that are not multiples of any tile.
    const SHAPES = [
      { transA: false, transB: true, M: 37, N: 1030, K: 300 },
      { transA: false, transB: false, M: 33, N: 257, K: 700 },
      { transA: true, transB: false, M: 300, N: 129, K: 261 },
      { transA: true, transB: true, M: 70, N: 45, K: 1530 },
      // B = 1 (sampling): the GEMV paths, rows not a multiple of 4 nor K of 16.
      { transA: false, transB: true, M: 1, N: 515, K: 300 },
      { transA: false, transB: false, M: 1, N: 515, K: 300 },
    ];
    const gemmOnce = (s: (typeof SHAPES)[number], seed: number): Float32Array => {
      const rng = new Rng(seed);
      const A = random(s.M * s.K, rng);
      const B = random(s.K * s.N, rng);
      const C = random(s.M * s.N, rng);
      k.gemm(s.transA, s.transB, s.M, s.N, s.K, A, 0, s.transA ? s.M : s.K, B, 0, s.transB ? s.K : s.N, true, C, 0, s.N);
      return C;
    };

    it(`GEMM: bit-identical run to run, for 1–4 threads and on every path (${isas.join(", ")})`, () => {
      SHAPES.forEach((s, i) => {
        const first = configured(1, isas[0]!, () => gemmOnce(s, i));
        for (const isa of isas) {
          for (const threads of [1, 2, 3, 4]) {
            const got = configured(threads, isa, () => gemmOnce(s, i));
            assertBitIdentical(got, first, `gemm ${JSON.stringify(s)} on ${isa}, ${threads} threads`);
          }
        }
        assertBitIdentical(gemmOnce(s, i), first, `gemm ${JSON.stringify(s)} again`);
      });
    });

    it(`GEMM: a transposed operand (copied into a block) gives the bits of the same operand stored untransposed (${isas.join(", ")})`, () => {
      // A weight gradient's shape: op(A) = dGatesᵀ read 4 KiB apart per k, copied block by block
      // (gemm.c: U_PACK_MIN_COLUMNS); against Aᵀ materialised, read in place. Two K-blocks, ragged tiles.
      const [M, N, K] = [1030, 200, 300];
      const rng = new Rng(11);
      const A = random(K * M, rng); // (K, M): op(A) = Aᵀ
      const B = random(K * N, rng);
      const At = new Float32Array(M * K);
      for (let kk = 0; kk < K; kk++) for (let i = 0; i < M; i++) At[i * K + kk] = A[kk * M + i]!;
      for (const isa of isas) {
        for (const threads of [1, 2]) {
          const [viaTranspose, viaCopy] = configured(threads, isa, () => {
            const c1 = new Float32Array(M * N);
            const c2 = new Float32Array(M * N);
            k.gemm(true, false, M, N, K, A, 0, M, B, 0, N, false, c1, 0, N);
            k.gemm(false, false, M, N, K, At, 0, K, B, 0, N, false, c2, 0, N);
            return [c1, c2];
          });
          assertBitIdentical(viaTranspose, viaCopy, `gemm TN ${M}×${N}×${K} on ${isa}, ${threads} threads`);
        }
      }
    });

    it(`B = 1, transposed: each output sums 16 lane partials in k order, then a fixed pairwise tree (${isas.join(", ")})`, () => {
      const rng = new Rng(9);
      for (const [N, K] of [[7, 5], [9, 16], [6, 37], [13, 128]] as const) {
        const a = random(K, rng);
        const W = random(N * K, rng);
        const expected = new Float32Array(N);
        for (let j = 0; j < N; j++) {
          const lanes = new Array<number>(16).fill(0);
          for (let k0 = 0; k0 < K; k0++) lanes[k0 % 16] = Math.fround(lanes[k0 % 16]! + Math.fround(a[k0]! * W[j * K + k0]!));
          for (let width = 8; width >= 1; width /= 2) for (let l = 0; l < width; l++) lanes[l] = Math.fround(lanes[l]! + lanes[l + width]!);
          expected[j] = lanes[0]!;
        }
        for (const isa of isas) {
          const c = configured(1, isa, () => {
            const out = new Float32Array(N);
            k.gemm(false, true, 1, N, K, a, 0, K, W, 0, K, false, out, 0, N);
            return out;
          });
          assertBitIdentical(c, expected, `gemv N=${N} K=${K} on ${isa}`);
        }
      }
    });

    /** Every step kernel once on B rows of H (masked rows among them); the arrays they wrote. */
    const stepKernels = (B: number, H: number) => (): Float32Array[] => {
        const rng = new Rng(3);
        const mask = Float32Array.from({ length: B }, (_, b) => [1, 0, 1, 1, 0][b % 5]!);
        const gates = random(4 * B * H, rng).map((v) => 6 * v);
        const [cPrev, hPrev, dOut, dh, dc] = Array.from({ length: 5 }, () => random(B * H, rng));
        const c = new Float32Array(B * H);
        const h = new Float32Array(B * H);
        const out = new Float32Array(B * H);
        const dGates = new Float32Array(4 * B * H);
        k.lstmStepForward(B, H, gates, 0, null, 0, cPrev!, 0, hPrev!, 0, mask, 0, c, 0, h, 0, out, 0);
        k.lstmStepBackward(
          B, H, gates, 0, null, 0, cPrev!, 0, c, 0, dOut!, 0, mask, 0, dh!, 0, dc!, 0, dGates, 0, null, 0,
        );
        const peephole = random(3 * H, rng);
        const dPeephole = random(3 * H, rng);
        const peepholeGates = random(4 * B * H, rng).map((v) => 6 * v);
        k.lstmStepForward(B, H, peepholeGates, 0, peephole, 0, cPrev!, 0, hPrev!, 0, mask, 0, c, 0, h, 0, out, 0);
        k.lstmStepBackward(
          B, H, peepholeGates, 0, peephole, 0, cPrev!, 0, c, 0, dOut!, 0, mask, 0,
          dh!, 0, dc!, 0, dGates, 0, dPeephole, 0,
        );
        const xGates = random(3 * B * H, rng).map((v) => 6 * v);
        const hGates = random(3 * B * H, rng);
        const hg = new Float32Array(B * H);
        const dX = new Float32Array(3 * B * H);
        const dH = new Float32Array(3 * B * H);
        k.gruStepForward(B, H, xGates, 0, hGates, 0, hPrev!, 0, null, 0, hg, 0, out, 0);
        k.gruStepBackward(B, H, xGates, 0, hGates, 0, hPrev!, 0, dOut!, 0, null, 0, dh!, 0, dX, 0, dH, 0);
        const pre = random(B * H, rng).map((v) => 4 * v);
        const hr = new Float32Array(B * H);
        const dPre = new Float32Array(B * H);
        k.rnnStepForward(B, H, false, pre, 0, hPrev!, 0, mask, 0, hr, 0, out, 0);
        k.rnnStepBackward(B, H, false, hr, 0, dOut!, 0, mask, 0, dh!, 0, dPre, 0);
        return [gates, peepholeGates, dPeephole, c, h, dGates, dc!, xGates, hg, dX, dH, hr, dPre, dh!];
    };

    it(`step kernels: bit-identical on every path (${isas.join(", ")})`, () => {
      const run = stepKernels(5, 37);
      const first = configured(1, isas[0]!, run);
      for (const isa of isas) {
        const got = configured(1, isa, run);
        got.forEach((a, i) => assertBitIdentical(a, first[i]!, `step output ${i} on ${isa}`));
      }
    });

    it(`step kernels and Adam split across threads by rows (split.c): the bits of one thread (${isas.join(", ")})`, () => {
      // 67 × 45 = 3,015 elements: above split.c's threshold, rows that do not divide evenly.
      const run = stepKernels(67, 45);
      const adam = (): Float32Array[] => {
        const rng = new Rng(5);
        const n = 70_003;
        const [theta, grad, m, v, vMax] = Array.from({ length: 5 }, () => random(n, rng));
        k.adamStep(n, theta!, 0, grad!, 0, m!, 0, v!, 0, vMax!.map(Math.abs), 0, 0.9, 0.999, 1e-8, 1e-3, 0.5, 0.01, 0.999);
        k.adamStep(n, theta!, 0, grad!, 0, m!, 0, v!, 0, null, 0, 0.9, 0.999, 1e-8, 1e-3, 0.5, 0, 1);
        return [theta!, m!, v!];
      };
      for (const isa of isas) {
        const first = configured(1, isa, run);
        const firstAdam = configured(1, isa, adam);
        for (const threads of [2, 3]) {
          configured(threads, isa, run).forEach((a, i) => assertBitIdentical(a, first[i]!, `step output ${i} on ${isa}, ${threads} threads`));
          configured(threads, isa, adam).forEach((a, i) => assertBitIdentical(a, firstAdam[i]!, `Adam output ${i} on ${isa}, ${threads} threads`));
        }
      }
    });

    it(`the other kernels (bias rows, norms, row gather and scatter, loss, Adam): bit-identical on every path (${isas.join(", ")})`, () => {
      const M = 7;
      const N = 37;
      const run = (): Float32Array[] => {
        const rng = new Rng(4);
        const [A, C, out, theta, grad, m, v, vMax] = Array.from({ length: 8 }, () => random(M * N, rng));
        const bias = random(N, rng);
        k.addRowVector(M, N, C!, 0, bias, 0);
        k.sumRowsInto(M, N, A!, 0, out!, 0);
        const norm = Float32Array.of(k.sumSquares(M * N, A!, 0, C!, 0));
        const ids = Int32Array.from([3, 0, 6, 3, 1]);
        const rows = new Float32Array(ids.length * N);
        k.gatherRows(ids.length, N, M, A!, 0, ids, 0, rows, 0);
        k.scatterAddRows(ids.length, N, M, rows, 0, ids, 0, 0, C!, 0);
        const targets = Int32Array.from([1, -100, 36, 0, 5, 2, 9]);
        const dLogits = new Float32Array(M * N);
        const sums = k.softmaxCrossEntropy(M, N, A!, 0, targets, 0, bias.subarray(0, M), 0, -100, 0.25, dLogits, 0);
        k.adamStep(M * N, theta!, 0, grad!, 0, m!, 0, v!, 0, vMax!.map(Math.abs), 0, 0.9, 0.999, 1e-8, 1e-3, 0.5, 0.01, 1);
        return [C!, out!, norm, rows, dLogits, Float32Array.of(sums.loss, sums.hits), theta!, m!, v!];
      };
      const first = configured(1, isas[0]!, run);
      for (const isa of isas) {
        const got = configured(1, isa, run);
        got.forEach((a, i) => assertBitIdentical(a, first[i]!, `output ${i} on ${isa}`));
      }
    });
  });

  it("allocate hands out zero-filled arrays starting on a 64-byte boundary", () => {
    for (const n of [1, 3, 16, 17, 1000, 65537]) {
      const a = k.allocate(n);
      assert.equal(a.length, n);
      assert.equal(k.addon.byteMisalignment(a), 0, `allocate(${n})`);
      assert.ok(a.every((v) => v === 0), `allocate(${n}) is zero-filled`);
    }
    // The probe itself reports a misaligned view as misaligned.
    assert.equal(k.addon.byteMisalignment(k.allocate(8).subarray(1)), 4);
  });

  describe("native argument checks", () => {
    it("a block outside its array is a RangeError naming the argument; not a Float32Array, a TypeError", () => {
      const a = new Float32Array(4);
      assert.throws(() => k.gemm(false, false, 2, 2, 2, new Float32Array(3), 0, 2, a, 0, 2, false, a, 0, 2), /RangeError|gemm: A needs elements 0 … 3, but has length 3/);
      assert.throws(() => k.gemm(false, false, 2, 2, 2, a, 0, 2, a, 1, 2, false, a, 0, 2), (e: Error) => e instanceof RangeError && /B needs/.test(e.message));
      assert.throws(() => k.gemm(false, false, 2, 2, 2, a, 0, 1, a, 0, 2, false, a, 0, 2), (e: Error) => e instanceof RangeError && /lda/.test(e.message));
      assert.throws(() => k.gemm(false, false, -1, 2, 2, a, 0, 2, a, 0, 2, false, a, 0, 2), (e: Error) => e instanceof RangeError && /M must be a non-negative integer/.test(e.message));
      assert.throws(() => k.addRowVector(2, 2, new Float64Array(4) as unknown as Float32Array, 0, a, 0), (e: Error) => e instanceof TypeError && /C must be a Float32Array/.test(e.message));
      assert.throws(() => k.lstmStepForward(1, 1, a, 1, null, 0, a, 0, a, 0, null, 0, a, 0, a, 0, a, 0), (e: Error) => e instanceof RangeError && /gates/.test(e.message));
      assert.throws(() => k.rnnStepForward(2, 1, false, a, 0, a, 0, a, 3, a, 0, a, 0), (e: Error) => e instanceof RangeError && /mask/.test(e.message));
    });
  });
}
