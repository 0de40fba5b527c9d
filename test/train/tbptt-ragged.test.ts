/**
 * TBPTT(k1, k2) on ragged batches — rows of different lengths in one batch, which the trainer orders
 * by length and packs (src/train/layout.ts), so that each step computes only the rows still running —
 * checked exactly as tbptt-bruteforce.test.ts checks the rest: at every update, the applied gradient
 * equals the definition's (computed by the independent masked reference in float64, by central
 * differences) to 1e-6, for every parameter element. The rows are given out of order (the trainer
 * sorts them), with resets inside rows (starts), k2 > k1, k2 < k1, stacked and bidirectional stacks,
 * the input table, and TBPTT(∞, k2) with the loss at the end, where each row's steps before its last
 * k2 run forward keeping nothing (heads) and only its last k2 steps are kept (tails).
 *
 * Then: the packed path does the work of the real tokens only (the step kernels are counted), and the
 * comparison can fail on these paths too (a cut one step off, padding counted as time).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Kernels } from "../../src/kernels/index.js";
import { Rng } from "../../src/tensor/rng.js";
import type { Batch } from "../../src/train/batch.js";
import { float64Kernels } from "../helpers/float64.js";
import {
  type Case, IGNORE, assertDisagrees, checkCase, maskOf, runTrainer, startsOf,
} from "../helpers/tbptt-reference.js";

const rng = new Rng(20261202);
const ints = (n: number, below: number): Int32Array => Int32Array.from({ length: n }, () => rng.int(below));
const uniforms = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));

/** Token rows right-padded to the longest of these lengths (in this order: the trainer sorts them). */
function raggedTokens(lengths: number[], V: number): Batch {
  const T = Math.max(...lengths);
  const B = lengths.length;
  return { T, B, ids: ints(T * B, V), mask: maskOf(T, lengths) };
}

const overlapping: Case = (() => {
  const V = 5;
  const batch = raggedTokens([5, 9, 3, 9, 1], V);
  const stepTargets = ints(batch.T * batch.B, V);
  stepTargets[6 * batch.B + 3] = IGNORE;
  return {
    name: "LSTM, 2 layers, TBPTT(2, 5) (k2 > k1), every-step, lengths 5/9/3/9/1, rows restarting inside (starts)",
    model: { cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 3, numLayers: 2, outputSize: V, objective: "classes", seed: 31 },
    trainer: { k1: 2, k2: 5, lossScale: "mean" },
    k1: 2, k2: 5,
    batches: [{ ...batch, stepTargets, starts: startsOf(batch.T, batch.B, [[4, 1], [2, 0], [7, 3]]) }],
    expectedUpdates: 5,
  };
})();

const shortK2: Case = (() => {
  const V = 4;
  const batch = raggedTokens([10, 3, 7, 6], V);
  return {
    name: "RNN(tanh), 2 layers, TBPTT(4, 2) (k2 < k1), every-step, lengths 10/3/7/6",
    model: { cell: "rnn", vocabSize: V, embeddingDim: 2, hiddenSize: 4, numLayers: 2, outputSize: V, objective: "classes", seed: 32 },
    trainer: { k1: 4, k2: 2, lossScale: "sum" },
    k1: 4, k2: 2,
    batches: [{ ...batch, stepTargets: ints(batch.T * batch.B, V) }],
    expectedUpdates: 3,
  };
})();

const tails: Case = (() => {
  const V = 6;
  const batch = raggedTokens([2, 8, 5, 3, 7], V);
  return {
    name: "GRU, 2 layers, TBPTT(∞, 3), loss at the last step, lengths 2/8/5/3/7: heads kept nothing, tails packed",
    model: { cell: "gru", vocabSize: V, embeddingDim: 3, hiddenSize: 3, numLayers: 2, outputSize: 3, objective: "classes", seed: 33 },
    trainer: { k1: Infinity, k2: 3, lossAt: "last-step", lossScale: "mean" },
    k1: Infinity, k2: 3,
    batches: [{ ...batch, sequenceTargets: Int32Array.from([0, 2, 1, 1, 0]) }],
    expectedUpdates: 1,
  };
})();

const tailsWithStarts: Case = (() => {
  const T = 9, B = 3, I = 2;
  return {
    name: "LSTM, features, regression, TBPTT(∞, 4), last step, lengths 9/4/7, restarts in a head, in a tail and at a tail's first step",
    model: { cell: "lstm", inputSize: I, hiddenSize: 3, outputSize: 1, objective: "regression", seed: 34 },
    trainer: { k1: Infinity, k2: 4, lossAt: "last-step", lossScale: "sum" },
    k1: Infinity, k2: 4,
    lr: 0.05,
    batches: [{
      T, B, features: uniforms(T * B * I), mask: maskOf(T, [9, 4, 7]), stepTargets: uniforms(T * B),
      starts: startsOf(T, B, [[3, 0], [6, 0], [3, 2]]),
    }],
    expectedUpdates: 1,
  };
})();

const everyStepInfinite: Case = (() => {
  const V = 4;
  const batch = raggedTokens([6, 2, 5], V);
  return {
    name: "LSTM, TBPTT(∞, 3), every-step (losses before the cuts: the whole batch kept), lengths 6/2/5",
    model: { cell: "lstm", vocabSize: V, embeddingDim: 2, hiddenSize: 3, outputSize: V, objective: "classes", seed: 35 },
    trainer: { k1: Infinity, k2: 3, lossScale: "sum" },
    k1: Infinity, k2: 3,
    batches: [{ ...batch, stepTargets: ints(batch.T * batch.B, V) }],
    expectedUpdates: 1,
  };
})();

const bidirectional: Case = (() => {
  const V = 5;
  const first = raggedTokens([4, 7, 2, 7], V);
  const second = raggedTokens([3, 1, 5, 5], V);
  return {
    name: 'mode "full": 2-layer bidirectional GRU, two batches of lengths 4/7/2/7 and 3/1/5/5, every-step, mean',
    model: {
      cell: "gru", vocabSize: V, embeddingDim: 2, hiddenSize: 2, numLayers: 2, bidirectional: true, outputSize: V, objective: "classes", seed: 36,
    },
    trainer: { mode: "full", lossScale: "mean" },
    k1: Infinity, k2: Infinity,
    batches: [{ ...first, stepTargets: ints(first.T * first.B, V) }, { ...second, stepTargets: ints(second.T * second.B, V) }],
    expectedUpdates: 2,
    lr: 2,
  };
})();

const bidirectionalLastStep: Case = (() => {
  const V = 5;
  return {
    name: 'mode "full": bidirectional LSTM, loss at the last step (through dOutput: two directions), lengths 2/6/4',
    model: { cell: "lstm", vocabSize: V, embeddingDim: 2, hiddenSize: 2, bidirectional: true, outputSize: 3, objective: "classes", seed: 42 },
    trainer: { mode: "full", lossAt: "last-step", lossScale: "sum" },
    k1: Infinity, k2: Infinity,
    batches: [{ ...raggedTokens([2, 6, 4], V), sequenceTargets: Int32Array.from([2, 0, 1]) }],
    expectedUpdates: 1,
  };
})();

const everyChunk: Case = (() => {
  const V = 6;
  return {
    name: "LSTM many-to-one, last step + lossEveryChunk, TBPTT(3, 3), lengths 3/8/5",
    model: { cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 3, outputSize: 3, objective: "classes", seed: 37 },
    trainer: { k1: 3, k2: 3, lossAt: "last-step", lossEveryChunk: true, lossScale: "mean" },
    k1: 3, k2: 3,
    batches: [{ ...raggedTokens([3, 8, 5], V), sequenceTargets: Int32Array.from([1, 2, 0]) }],
    expectedUpdates: 3,
  };
})();

const denseTails: Case = (() => {
  const B = 3, V = 5;
  return {
    name: "equal lengths, TBPTT(∞, 6), last step: the tails are views of the batch; a continuing batch reaches into them",
    model: { cell: "lstm", vocabSize: V, embeddingDim: 2, hiddenSize: 3, outputSize: 2, objective: "classes", seed: 38 },
    trainer: { k1: Infinity, k2: 6, lossAt: "last-step", lossScale: "sum" },
    k1: Infinity, k2: 6,
    batches: [
      { T: 7, B, ids: ints(7 * B, V), sequenceTargets: Int32Array.from([0, 1, 1]) },
      { T: 4, B, ids: ints(4 * B, V), sequenceTargets: Int32Array.from([1, 0, 1]), continues: true },
    ],
    expectedUpdates: 2,
  };
})();

const tableTails: Case = (() => {
  const V = 2;
  const batch = raggedTokens([8, 5, 3, 8], V);
  return {
    name: "V = 2 (input table), LSTM 2 layers, TBPTT(∞, 3), last step, lengths 8/5/3/8",
    model: { cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 3, numLayers: 2, outputSize: 2, objective: "classes", seed: 39 },
    trainer: { k1: Infinity, k2: 3, lossAt: "last-step", lossScale: "mean" },
    k1: Infinity, k2: 3,
    batches: [{ ...batch, sequenceTargets: Int32Array.from([1, 0, 0, 1]) }],
    expectedUpdates: 1,
  };
})();

const tableEveryStep: Case = (() => {
  const V = 2;
  const batch = raggedTokens([9, 4, 9, 6, 2], V);
  return {
    name: "V = 2 (input table), GRU, TBPTT(3, 5), every-step, lengths 9/4/9/6/2",
    model: { cell: "gru", vocabSize: V, embeddingDim: 2, hiddenSize: 3, outputSize: V, objective: "classes", seed: 40 },
    trainer: { k1: 3, k2: 5, lossScale: "mean" },
    k1: 3, k2: 5,
    batches: [{ ...batch, stepTargets: ints(batch.T * batch.B, V) }],
    expectedUpdates: 3,
  };
})();

const cases = [
  overlapping, shortK2, tails, tailsWithStarts, everyStepInfinite, bidirectional, bidirectionalLastStep, everyChunk, denseTails,
  tableTails, tableEveryStep,
];

describe("TBPTT(k1, k2) on ragged (packed) batches: the applied gradient equals the definition's, by brute force", () => {
  for (const c of cases) it(c.name, () => checkCase(c));
});

/** Runs `body` with the float64 kernels' LSTM step kernels counting the rows they compute. */
function countingLSTMRows(body: () => void): { forward: number; backward: number } {
  const counts = { forward: 0, backward: 0 };
  const saved: Pick<Kernels, "lstmStepForward" | "lstmStepBackward"> = { ...float64Kernels };
  float64Kernels.lstmStepForward = (B, ...rest) => {
    counts.forward += B;
    saved.lstmStepForward(B, ...rest);
  };
  float64Kernels.lstmStepBackward = (B, ...rest) => {
    counts.backward += B;
    saved.lstmStepBackward(B, ...rest);
  };
  try {
    body();
  } finally {
    Object.assign(float64Kernels, saved);
  }
  return counts;
}

describe("ragged batches cost their real tokens", () => {
  const lengths = [3, 40, 12, 40, 1, 25];
  const real = lengths.reduce((a, b) => a + b, 0);
  const batch = (): Batch => ({ ...raggedTokens(lengths, 7), sequenceTargets: Int32Array.from([0, 1, 0, 1, 1, 0]) });
  const model = { cell: "lstm", vocabSize: 7, embeddingDim: 2, hiddenSize: 2, outputSize: 2, objective: "classes", seed: 41 } as const;
  const run = (trainer: Case["trainer"], k1: number, k2: number): { forward: number; backward: number } =>
    countingLSTMRows(() => runTrainer({ name: "", model, trainer, k1, k2, batches: [batch()], expectedUpdates: 1 }));

  it(`full BPTT computes the ${real} real tokens forward and backward, not T·B = ${40 * 6}`, () => {
    assert.deepEqual(run({ mode: "full", lossAt: "last-step" }, Infinity, Infinity), { forward: real, backward: real });
  });

  it("TBPTT(∞, 10), loss at the end: every real token forward, each row's last 10 back", () => {
    const kept = lengths.reduce((n, length) => n + Math.min(length, 10), 0);
    assert.deepEqual(run({ k1: Infinity, k2: 10, lossAt: "last-step" }, Infinity, 10), { forward: real, backward: kept });
  });
});

describe("the comparison can fail on ragged batches too", () => {
  it("the tails: the cut one step too early", () => assertDisagrees(tails, "cut-one-earlier"));
  it("the tails: the cut one step too late", () => assertDisagrees(tails, "cut-one-later"));
  it("the tails: padding counted as time", () => assertDisagrees(tails, "padding-is-time"));
  it("k2 > k1 with restarts: the cut one step too late", () => assertDisagrees(overlapping, "cut-one-later"));
  it("k2 < k1: padding counted as time", () => assertDisagrees(shortK2, "padding-is-time"));
  it("k2 > k1 with restarts: weights of the update time", () => assertDisagrees(overlapping, "current-weights"));
});
