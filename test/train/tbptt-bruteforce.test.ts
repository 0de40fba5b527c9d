/**
 * What this file proves: at EVERY update, the trainer applies exactly the gradient that the TBPTT(k1, k2)
 * definition says, to 1e-6 relative (atol 1e-9), for every parameter element of the model.
 *
 * The definition (schedule.ts, trainer.ts): at an update at time t (every k1 steps and at the end of a
 * batch; chunks without a loss make none) the applied gradient is
 *
 *   g_t = ∇θ Σ_{τ in the chunk (t−k1, t]} ℓ_τ,  every path through a state h_s with s ≤ t − k2 cut
 *
 * (all layers; for a padded row, t is its sequence end if that comes first: see PADDING_IS_TIME), where
 * the forward trajectory is the one actually run (steps after the n-th update use the weights after that
 * update, older kept steps are back-propagated with the Jacobians of their time), ∇θ is the derivative
 * when the same δ is added to every version of θ, resets (starts, a batch that does not continue) are
 * constants, and lossScale "mean" divides by B × (min(k1, T) every-step, 1 last-step).
 *
 * How (test/helpers/tbptt-reference.ts): the library runs in float64 with SGD and a sizeable lr (the weights really move between
 * updates, so staleness matters), recording through `beforeStep` the gradient it applies and through
 * `onUpdate` the weights after each update. An INDEPENDENT reference written below with plain scalar
 * loops (embedding lookup or features, stacked RNN-tanh/LSTM/GRU with PyTorch's equations and
 * parameter layout, masks, resets, reverse direction, dense head, softmax-CE / sigmoid-BCE / squared
 * error) re-runs the whole stream with the recorded weight versions, records every state, and for each
 * update recomputes that update's losses from the recorded (constant) states at the cut with one
 * parameter element perturbed by ±ε, ±2ε in every version: central differences give the brute-force
 * gradient of every element. Nothing of the library (cells, kernels, layers, losses, loss positions,
 * schedule) is used by the reference. Update counts and times, loss sums and term counts are checked too.
 *
 * The comparison is shown to be able to fail: the last tests run deliberately wrong references
 * (weights of the update time instead of each step's; no cut; the cut one step off; no gradient across
 * a batch boundary; padding counted as time) and assert that each disagrees with the trainer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../../src/tensor/rng.js";
import type { Batch } from "../../src/train/batch.js";
import { float64Kernels } from "../helpers/float64.js";
import {
  type Case, IGNORE, assertDisagrees, checkCase, maskOf, runTrainer, startsOf,
} from "../helpers/tbptt-reference.js";

// ───────────────────────────── the cases ─────────────────────────────

const rng = new Rng(20240607);
const ints = (n: number, below: number): Int32Array => Int32Array.from({ length: n }, () => rng.int(below));
const uniforms = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));

const lstmEveryStep: Case = (() => {
  const T = 8, B = 2, V = 5;
  const stepTargets = ints(T * B, V);
  stepTargets[4 * B + 1] = IGNORE; // one step without a target
  return {
    name: "LSTM, 2 layers, TBPTT(3, 3), T = 8 (last chunk 2 steps), every-step classes",
    model: { cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 3, numLayers: 2, outputSize: V, objective: "classes", seed: 1 },
    trainer: { k1: 3, k2: 3, lossScale: "sum" },
    k1: 3, k2: 3,
    batches: [{ T, B, ids: ints(T * B, V), stepTargets }],
    expectedUpdates: 3,
  };
})();

const gruOverlapping: Case = (() => {
  const T = 9, B = 3, V = 4;
  return {
    name: "GRU, 2 layers, TBPTT(2, 5): overlapping windows through stale weights, lossScale mean",
    model: { cell: "gru", vocabSize: V, embeddingDim: 3, hiddenSize: 3, numLayers: 2, outputSize: V, objective: "classes", seed: 2 },
    trainer: { k1: 2, k2: 5, lossScale: "mean" },
    k1: 2, k2: 5,
    batches: [{ T, B, ids: ints(T * B, V), stepTargets: ints(T * B, V) }],
    expectedUpdates: 5,
  };
})();

const rnnShortK2: Case = (() => {
  const T = 10, B = 2, V = 5;
  return {
    name: "RNN(tanh), 2 layers, TBPTT(4, 2): k2 < k1, early losses reach only the head",
    model: { cell: "rnn", vocabSize: V, embeddingDim: 2, hiddenSize: 4, numLayers: 2, outputSize: V, objective: "classes", seed: 3 },
    trainer: { k1: 4, k2: 2, lossScale: "sum" },
    k1: 4, k2: 2,
    batches: [{ T, B, ids: ints(T * B, V), stepTargets: ints(T * B, V) }],
    expectedUpdates: 3,
  };
})();

/** LSTM many-to-one over B = 3 rows of lengths 8/5/3: last-step + lossEveryChunk, sequenceTargets, TBPTT(3, 3), mean. */
function manyToOneCase(name: string, V: number, seed: number): Case {
  const T = 8, B = 3;
  return {
    name,
    model: { cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 3, outputSize: 3, objective: "classes", seed },
    trainer: { k1: 3, k2: 3, lossAt: "last-step", lossEveryChunk: true, lossScale: "mean" },
    k1: 3, k2: 3,
    batches: [{ T, B, ids: ints(T * B, V), mask: maskOf(T, [8, 5, 3]), sequenceTargets: Int32Array.from([2, 0, 1]) }],
    expectedUpdates: 3,
  };
}

const lstmManyToOne = manyToOneCase("LSTM many-to-one: last-step + lossEveryChunk, sequenceTargets, lengths 8/5/3, TBPTT(3, 3), mean", 6, 4);

const gruLastStepSkips: Case = (() => {
  const T = 8, B = 3, V = 4;
  const stepTargets = ints(T * B, 3);
  return {
    name: "GRU last-step (step targets), lengths 3/6/8, TBPTT(2, 5): the first chunk has no loss and makes no update",
    model: { cell: "gru", vocabSize: V, embeddingDim: 2, hiddenSize: 3, outputSize: 3, objective: "classes", seed: 5 },
    trainer: { k1: 2, k2: 5, lossAt: "last-step", lossScale: "sum" },
    k1: 2, k2: 5,
    batches: [{ T, B, ids: ints(T * B, V), mask: maskOf(T, [3, 6, 8]), stepTargets }],
    expectedUpdates: 3,
  };
})();

const gruRegressionStarts: Case = (() => {
  const T = 10, B = 3, I = 2, O = 2;
  const stepTargets = uniforms(T * B * O);
  stepTargets.fill(NaN, (5 * B + 0) * O, (5 * B + 1) * O); // no loss at (t 5, row 0)
  return {
    name: "GRU, features, regression (O = 2), starts mid-batch, TBPTT(3, 6)",
    model: { cell: "gru", inputSize: I, hiddenSize: 3, outputSize: O, objective: "regression", seed: 6 },
    trainer: { k1: 3, k2: 6, lossScale: "sum" },
    k1: 3, k2: 6,
    lr: 0.05, // squared errors: a larger step diverges
    batches: [{
      T, B, features: uniforms(T * B * I), stepTargets,
      starts: startsOf(T, B, [[4, 1], [3, 2], [7, 2], [8, 0]]),
    }],
    expectedUpdates: 4,
  };
})();

const lstmOnlineBinary: Case = (() => {
  const T = 6, B = 2, V = 4;
  const stepTargets = Float32Array.from({ length: T * B }, () => rng.int(2));
  stepTargets[5 * B + 0] = NaN; // step 5: row 0 has no target, row 1 is padding → no update
  return {
    name: 'mode "online" (k1 = 1, k2 = ∞), binary, a padded row: one update per step with a loss',
    model: { cell: "lstm", vocabSize: V, embeddingDim: 2, hiddenSize: 2, outputSize: 1, objective: "binary", seed: 7 },
    trainer: { mode: "online", lossScale: "sum" },
    k1: 1, k2: Infinity,
    batches: [{ T, B, ids: ints(T * B, V), mask: maskOf(T, [6, 4]), stepTargets }],
    expectedUpdates: 5,
  };
})();

/** Mode "full" over two masked batches of B = 3 sequences, a 2-layer bidirectional stack, lossScale mean. */
function fullBidirectionalCase(name: string, cell: "lstm" | "rnn", V: number, E: number, H: number, seed: number): Case {
  const B = 3;
  const batch = (T: number, lengths: number[]): Batch => ({ T, B, ids: ints(T * B, V), mask: maskOf(T, lengths), stepTargets: ints(T * B, V) });
  return {
    name,
    model: { cell, vocabSize: V, embeddingDim: E, hiddenSize: H, numLayers: 2, bidirectional: true, outputSize: V, objective: "classes", seed },
    trainer: { mode: "full", lossScale: "mean" },
    k1: Infinity, k2: Infinity,
    batches: [batch(6, [6, 4, 2]), batch(5, [3, 5, 1])],
    expectedUpdates: 2,
    lr: 2,
  };
}

const fullBidirectional = fullBidirectionalCase('mode "full": 2-layer bidirectional LSTM with a mask, two batches, lossScale mean (÷ B·T)', "lstm", 5, 3, 2, 8);

/** Two continuing batches (7 + 5 steps) of B = 2 LSTM streams, TBPTT(3, 5), sequences restarting in the second. */
function continuingStreams(name: string, V: number, seed: number): Case {
  const B = 2;
  return {
    name,
    model: { cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 3, outputSize: V, objective: "classes", seed },
    trainer: { k1: 3, k2: 5, lossScale: "sum" },
    k1: 3, k2: 5,
    batches: [
      { T: 7, B, ids: ints(7 * B, V), stepTargets: ints(7 * B, V) },
      { T: 5, B, ids: ints(5 * B, V), stepTargets: ints(5 * B, V), continues: true, starts: startsOf(5, B, [[0, 1], [4, 0]]) },
    ],
    expectedUpdates: 5,
  };
}

const continuing = continuingStreams("two continuing batches (7 + 5 steps), LSTM, TBPTT(3, 5): windows cross the batch boundary", 5, 9);

const continuingShort: Case = (() => {
  const B = 2, V = 4;
  return {
    name: "a continuing batch shorter than k1 (6 + 2 steps), GRU, TBPTT(3, 3): its update reaches into the previous batch",
    model: { cell: "gru", vocabSize: V, embeddingDim: 2, hiddenSize: 3, outputSize: V, objective: "classes", seed: 10 },
    trainer: { k1: 3, k2: 3, lossScale: "sum" },
    k1: 3, k2: 3,
    batches: [
      { T: 6, B, ids: ints(6 * B, V), stepTargets: ints(6 * B, V) },
      { T: 2, B, ids: ints(2 * B, V), stepTargets: ints(2 * B, V), continues: true },
    ],
    expectedUpdates: 3,
  };
})();

const bidirectionalStarts: Case = (() => {
  const T = 6, B = 2, V = 4;
  return {
    name: 'mode "full": bidirectional GRU over packed sequences (starts): the reverse direction restarts at each sequence end',
    model: { cell: "gru", vocabSize: V, embeddingDim: 2, hiddenSize: 2, bidirectional: true, outputSize: V, objective: "classes", seed: 11 },
    trainer: { mode: "full", lossScale: "sum" },
    k1: Infinity, k2: Infinity,
    batches: [{ T, B, ids: ints(T * B, V), stepTargets: ints(T * B, V), starts: startsOf(T, B, [[3, 0]]) }],
    expectedUpdates: 1,
  };
})();

const cases = [
  lstmEveryStep, gruOverlapping, rnnShortK2, lstmManyToOne, gruLastStepSkips, gruRegressionStarts,
  lstmOnlineBinary, fullBidirectional, continuing, continuingShort,
];

describe("TBPTT(k1, k2): the applied gradient equals the definition's, by brute force", () => {
  for (const c of cases) it(c.name, () => checkCase(c));
  it(`${bidirectionalStarts.name} (or a clear refusal)`, () => {
    let refusal: unknown = null;
    try {
      runTrainer(bidirectionalStarts);
    } catch (e) {
      refusal = e;
    }
    if (refusal === null) checkCase(bidirectionalStarts);
    else assert.match(String(refusal), /RangeError: .*starts/);
  });
});

// Token models whose vocabulary is small against a chunk's T·B rows: the first layer projects each
// vocabulary row once and returns the embedding's gradient per row (cells/input-table.ts).
/** One batch of token streams (one per row), 2 layers, a class target at every step. */
function tokenStreams(name: string, cell: "lstm" | "gru", T: number, B: number, V: number, k1: number, k2: number, seed: number, expectedUpdates: number): Case {
  return {
    name,
    model: { cell, vocabSize: V, embeddingDim: 3, hiddenSize: 3, numLayers: 2, outputSize: V, objective: "classes", seed },
    trainer: { k1, k2, lossScale: k1 === k2 ? "sum" : "mean" },
    k1, k2,
    batches: [{ T, B, ids: ints(T * B, V), stepTargets: ints(T * B, V) }],
    expectedUpdates,
  };
}

const tableCases: Case[] = [
  tokenStreams("LSTM, 2 layers, TBPTT(3, 3), V = 2, B = 4", "lstm", 8, 4, 2, 3, 3, 21, 3),
  tokenStreams("GRU, 2 layers, TBPTT(2, 5), V = 3, mean: overlapping windows back-propagated with stale weights and embeddings", "gru", 9, 4, 3, 2, 5, 22, 5),
  manyToOneCase("LSTM many-to-one, V = 3, lengths 8/5/3 (per-row cuts), last-step + lossEveryChunk, TBPTT(3, 3)", 3, 23),
  fullBidirectionalCase('mode "full", V = 3: 2-layer bidirectional RNN with a mask (both directions through the table)', "rnn", 3, 2, 3, 24),
  continuingStreams("continuing batches with starts, V = 2: segments of 1 step (per step) and 3 (table) in one window", 2, 25),
];

describe("the same, through the input table (V ≤ T·B/2: the first layer works per vocabulary row)", () => {
  for (const c of tableCases) {
    it(c.name, () => {
      // Counts the gathers of projected table rows (gate-wide rows), which only the table path makes.
      const original = float64Kernels.gatherRows;
      const embeddingDim = c.model.embeddingDim!;
      let tableGathers = 0;
      float64Kernels.gatherRows = (N, D, ...rest) => {
        if (D !== embeddingDim) tableGathers++;
        original(N, D, ...rest);
      };
      try {
        checkCase(c);
      } finally {
        float64Kernels.gatherRows = original;
      }
      assert.ok(tableGathers > 0, "the input table was not used");
    });
  }
});

describe("the brute-force comparison can fail (deliberately wrong references disagree with the trainer)", () => {
  it("back-propagating through older steps with the weights of the update time", () => assertDisagrees(gruOverlapping, "current-weights"));
  it("no cut (full BPTT instead of k2 steps)", () => assertDisagrees(gruOverlapping, "no-cut"));
  it("the cut one step too late", () => assertDisagrees(gruOverlapping, "cut-one-later"));
  it("the cut one step too early", () => assertDisagrees(gruRegressionStarts, "cut-one-earlier"));
  it("no gradient across the batch boundary of a continuing stream", () => assertDisagrees(continuing, "cut-at-batch-start"));
  it("k2 < k1: back-propagating from losses before the cut", () => assertDisagrees(rnnShortK2, "cut-one-earlier"));
  it("padded rows: counting padding as time (the issue's literal cut at t − k2) is a different gradient", () =>
    assertDisagrees(lstmManyToOne, "padding-is-time"));
});
