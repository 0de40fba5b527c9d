/**
 * The wasm-simd backend on several threads (src/kernels/threads/):
 * 1. splitGemm's plans cover C exactly, cut where the module's summation order allows (split.ts);
 * 2. split products are bit-identical to one thread on every GEMM path and edge, on 2 and 3 threads;
 * 3. without shared memory or a way to start workers, or when workers fail, it runs on one thread and
 *    says why; setThreads starts and stops workers; BPTT_THREADS is checked;
 * 4. training (LSTM, GRU, forward, backward, Adam) is bit-identical on 1 and 2 threads.
 * (The kernel conformance tests also run on 2 threads: conformance.ts's BACKENDS.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nodeThreadSpawner } from "../../src/io/worker-threads.js";
import { type Kernels, type WasmKernels, createWasmKernelsSync, kernels, setKernels } from "../../src/kernels/index.js";
import { threadsFromEnvironment } from "../../src/kernels/threads/settings.js";
import type { ThreadSpawner } from "../../src/kernels/threads/spawner.js";
import { splitGemm } from "../../src/kernels/threads/split.js";
import { createOptimizer } from "../../src/optim/index.js";
import { Rng } from "../../src/tensor/rng.js";
import { SequenceModel } from "../../src/train/model.js";
import { Trainer } from "../../src/train/trainer.js";
import { assertBitIdentical, wasmKernels } from "./conformance.js";

async function threadedKernels(threads: number, options: { minSplitFlops?: number } = {}): Promise<WasmKernels> {
  const k = createWasmKernelsSync({ threads, spawner: nodeThreadSpawner, minSplitFlops: options.minSplitFlops ?? 0 });
  assert.equal(await k.threadsReady(), threads, k.threadsNote);
  return k;
}

/** C = op(A)·op(B) + C on `k`, from the same random operands for a given seed; returns C. */
function product(k: Kernels, transA: boolean, transB: boolean, M: number, N: number, K: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const lda = (transA ? M : K) + 1;
  const ldb = (transB ? K : N) + 2;
  const ldc = N + 3;
  const A = k.allocate((transA ? K : M) * lda);
  const B = k.allocate((transB ? N : K) * ldb);
  const C = k.allocate(M * ldc);
  for (const x of [A, B, C]) for (let i = 0; i < x.length; i++) x[i] = rng.uniform(-1, 1);
  k.gemm(transA, transB, M, N, K, A, 0, lda, B, 0, ldb, true, C, 0, ldc);
  return C;
}

describe("splitGemm", () => {
  it("covers C exactly with at most `parts` blocks, cut at the tiles, NT by columns only (in 32s below M = 16)", () => {
    const plan = new Int32Array(4 * 8);
    for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      for (const M of [1, 3, 15, 16, 17, 40, 130]) for (const N of [1, 7, 31, 33, 64, 100, 1025]) for (const parts of [1, 2, 3, 8]) {
        const count = splitGemm(transA, transB, M, N, parts, plan);
        assert.ok(count >= 1 && count <= parts);
        const covered = new Uint8Array(M * N);
        for (let p = 0; p < count; p++) {
          const [row, rows, col, cols] = plan.subarray(4 * p, 4 * p + 4);
          assert.ok(rows! > 0 && cols! > 0);
          if (!transA && transB) {
            assert.equal(rows, M, "NT products keep every row");
            assert.equal(col! % (M < 16 ? 32 : 8), 0, `column cut at ${col}`);
          } else {
            assert.equal(row! % 4, 0);
            assert.equal(col! % 8, 0);
          }
          for (let i = row!; i < row! + rows!; i++) for (let j = col!; j < col! + cols!; j++) covered[i * N + j]!++;
        }
        assert.ok(covered.every((c) => c === 1), `${M}×${N} in ${parts}: every element exactly once`);
      }
    }
  });
});

describe("threaded GEMM", () => {
  it("is bit-identical to one thread on every path (NN, NT small-M and blocked, TN, TT), on 2 and 3 threads", async () => {
    for (const threads of [2, 3]) {
      const k = await threadedKernels(threads);
      const before = k.splitCalls();
      let seed = 0;
      for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
        for (const [M, N, K] of [[1, 70, 9], [5, 100, 300], [15, 65, 33], [16, 40, 257], [33, 17, 5], [130, 70, 513], [64, 300, 40]] as const) {
          seed++;
          const one = product(wasmKernels, transA, transB, M, N, K, seed);
          const many = product(k, transA, transB, M, N, K, seed);
          assertBitIdentical(many, one, `${transA ? "T" : "N"}${transB ? "T" : "N"} ${M}×${N}×${K} on ${threads} threads`);
        }
      }
      assert.ok(k.splitCalls() - before >= 20, `products were split (${k.splitCalls() - before})`);
      k.setThreads(1);
    }
  });

  it("keeps products below minSplitFlops on the calling thread", async () => {
    const k = await threadedKernels(2, { minSplitFlops: 2 * 32 * 64 * 64 });
    product(k, false, true, 32, 64, 63, 1);
    assert.equal(k.splitCalls(), 0);
    product(k, false, true, 32, 64, 64, 1);
    assert.equal(k.splitCalls(), 1);
    k.setThreads(1);
  });
});

describe("threads: fallbacks and settings", () => {
  it("runs on one thread, saying why, without a spawner or without shared memory", () => {
    const none = createWasmKernelsSync({ threads: 2, spawner: null });
    assert.equal(none.threads, 1);
    assert.match(none.threadsNote, /no way to start worker threads/);
    assert.match(none.description, /1 thread/);
    const unshared = createWasmKernelsSync({ threads: 2, spawner: nodeThreadSpawner, shared: false, maximumMiB: 16 });
    assert.equal(unshared.threads, 1);
    assert.match(unshared.threadsNote, /no SharedArrayBuffer/);
  });

  it("falls back to one thread when workers fail to start, with the same results", async () => {
    const broken: ThreadSpawner = {
      name: "broken",
      cores: () => 2,
      spawn: () => {
        throw new Error("no threads today");
      },
    };
    const k = createWasmKernelsSync({ threads: 2, spawner: broken, minSplitFlops: 0 });
    assert.equal(await k.threadsReady(), 1);
    assert.match(k.threadsNote, /1 of 1 kernel workers failed \(no threads today\)/);
    assertBitIdentical(product(k, false, false, 20, 30, 40, 9), product(wasmKernels, false, false, 20, 30, 40, 9), "fallback");
    assert.equal(k.splitCalls(), 0);
  });

  it("setThreads starts and stops workers; the default is every core", async () => {
    const k = await threadedKernels(2);
    k.setThreads(1);
    assert.equal(k.threads, 1);
    k.setThreads(3);
    assert.equal(await k.threadsReady(), 3);
    assert.throws(() => k.setThreads(0), /threads must be a positive integer, got 0/);
    k.setThreads(1);
    const byDefault = createWasmKernelsSync({ spawner: nodeThreadSpawner });
    assert.equal(await byDefault.threadsReady(), nodeThreadSpawner.cores());
    byDefault.setThreads(1);
  });

  it("BPTT_THREADS: a positive integer or auto", () => {
    const saved = process.env.BPTT_THREADS;
    try {
      process.env.BPTT_THREADS = "3";
      assert.equal(threadsFromEnvironment(), 3);
      process.env.BPTT_THREADS = "auto";
      assert.equal(threadsFromEnvironment(), null);
      process.env.BPTT_THREADS = "two";
      assert.throws(() => threadsFromEnvironment(), /BPTT_THREADS must be a positive integer or "auto", got "two"/);
      process.env.BPTT_THREADS = "0";
      assert.throws(() => threadsFromEnvironment(), /got "0"/);
    } finally {
      if (saved === undefined) delete process.env.BPTT_THREADS;
      else process.env.BPTT_THREADS = saved;
    }
  });
});

describe("training on 1 and 2 threads", () => {
  /** Losses and final weights of 3 Adam updates of a small 2-layer model, built and trained on `k`. */
  function train(k: Kernels, cell: "lstm" | "gru"): { losses: Float32Array; weights: Float32Array[] } {
    const previous = kernels();
    setKernels(k);
    try {
      const V = 11;
      const model = new SequenceModel({ cell, vocabSize: V, embeddingDim: 12, hiddenSize: 20, numLayers: 2, outputSize: V, objective: "classes", seed: 5 });
      const trainer = new Trainer(model, createOptimizer("adam", model.parameters(), { lr: 0.01 }), { k1: 4, k2: 6, clipNorm: 1 });
      const rng = new Rng(3);
      const T = 8;
      const B = 18;
      const losses = new Float32Array(3);
      for (let n = 0; n < 3; n++) {
        const ids = Int32Array.from({ length: T * B }, () => rng.int(V));
        const stepTargets = Int32Array.from({ length: T * B }, () => rng.int(V));
        const r = trainer.trainBatch({ T, B, ids, stepTargets, continues: n > 0 });
        losses[n] = r.lossSum / r.lossTerms;
      }
      return { losses, weights: model.parameters().map((p) => p.value.slice()) };
    } finally {
      setKernels(previous);
    }
  }

  it("gives bit-identical losses and weights (LSTM and GRU, TBPTT(4, 6), Adam, clipping)", async () => {
    const k = await threadedKernels(2);
    for (const cell of ["lstm", "gru"] as const) {
      const before = k.splitCalls();
      const one = train(wasmKernels, cell);
      const two = train(k, cell);
      assert.ok(k.splitCalls() - before > 50, `${cell}: the products were split (${k.splitCalls() - before})`);
      assertBitIdentical(two.losses, one.losses, `${cell} losses`);
      one.weights.forEach((w, i) => assertBitIdentical(two.weights[i]!, w, `${cell} parameter ${i}`));
    }
  });
});
