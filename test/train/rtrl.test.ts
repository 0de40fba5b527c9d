/**
 * What this file proves: in float64, mode "rtrl" applies at every update the gradient of TBPTT with
 * no truncation, to 1e-8 relative, for every cell (the LSTM also with a projection and peepholes),
 * stacked, with the weights moving between updates:
 *
 *   k1 = 1:  RTRL's online gradient = TBPTT(1, ∞), "online"   (k2 = the whole stream when it continues)
 *   k1 = 3:  the same, accumulated over 3 steps = TBPTT(3, ∞)
 *
 * over streams that continue across batches, sequences restarting mid-batch (starts), padded rows
 * (packed by the trainer: out of order, they are sorted by length), token and feature inputs, each
 * objective, a last-step loss (which reaches RTRL as dL/d(the state a chunk leaves)) and one every chunk. TBPTT's gradient is itself proved
 * equal to an independent brute-force simulator (tbptt-bruteforce.test.ts, mode "online" included),
 * and a last check compares RTRL directly with central differences of the loss computed forward only.
 * The comparisons can fail: RTRL that forgets its sensitivities between updates (a truncation to the
 * current chunk) disagrees.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createOptimizer } from "../../src/optim/index.js";
import { Rng } from "../../src/tensor/rng.js";
import type { Batch } from "../../src/train/batch.js";
import { type ModelConfig, SequenceModel } from "../../src/train/model.js";
import { Trainer, type TrainerOptions } from "../../src/train/trainer.js";
import { assertClose } from "../helpers/check.js";
import { inFloat64 } from "../helpers/float64.js";

interface Run {
  /** The gradient applied at each update, every parameter concatenated. */
  applied: Float64Array[];
  losses: number[];
}

function train(config: ModelConfig, options: TrainerOptions, batches: Batch[], lr = 0.5): Run {
  return inFloat64(() => {
    const model = new SequenceModel(config);
    const params = model.parameters();
    const applied: Float64Array[] = [];
    const losses: number[] = [];
    const trainer = new Trainer(model, createOptimizer("sgd", params, { lr }), {
      lossScale: "sum", ...options,
      beforeStep: (info) => {
        applied.push(Float64Array.from(params.flatMap((p) => Array.from(p.grad))));
        losses.push(info.lossSum);
      },
    });
    for (const batch of batches) trainer.trainBatch(batch);
    return { applied, losses };
  });
}

function sameGradients(actual: Run, expected: Run, what: string): void {
  assert.equal(actual.applied.length, expected.applied.length, `${what}: update count`);
  assert.ok(expected.applied.length > 1, `${what}: more than one update`);
  actual.applied.forEach((g, u) => {
    assertClose(g, expected.applied[u]!, `${what}, update ${u + 1}`, 1e-8, 1e-12);
    const [loss, want] = [actual.losses[u]!, expected.losses[u]!];
    assert.ok(Math.abs(loss - want) <= 1e-10 * Math.abs(want), `${what}: loss of update ${u + 1}`);
  });
}

const rng = new Rng(20250917);
const ints = (n: number, below: number): Int32Array => Int32Array.from({ length: n }, () => rng.int(below));
const uniforms = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
const maskOf = (T: number, lengths: number[]): Float32Array => {
  const B = lengths.length;
  const m = new Float32Array(T * B);
  lengths.forEach((length, b) => { for (let t = 0; t < length; t++) m[t * B + b] = 1; });
  return m;
};

interface Case {
  name: string;
  model: ModelConfig;
  k1: number;
  batches: Batch[];
  /** The TBPTT schedule with the same gradient. */
  reference: TrainerOptions;
  options?: TrainerOptions;
}

const V = 5;
/** A token model with V classes (unless overridden). */
const tokens = (cell: ModelConfig["cell"], rest: Partial<ModelConfig>): ModelConfig =>
  ({ cell, vocabSize: V, hiddenSize: 3, outputSize: V, objective: "classes", ...rest });
const cases: Case[] = [
  {
    name: "LSTM, 2 layers, tokens, a stream over two continuing batches, k1 = 1",
    model: tokens("lstm", { embeddingDim: 3, hiddenSize: 3, numLayers: 2, seed: 1 }),
    k1: 1,
    batches: [
      { T: 5, B: 2, ids: ints(10, V), stepTargets: ints(10, V) },
      {
        T: 4, B: 2, ids: ints(8, V), stepTargets: ints(8, V), continues: true,
        starts: Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 0]),
      },
    ],
    reference: { k1: 1, k2: 100 },
  },
  {
    name: "GRU, 2 layers, features, regression, sequences restarting mid-batch, k1 = 1",
    model: { cell: "gru", inputSize: 2, hiddenSize: 3, numLayers: 2, outputSize: 2, objective: "regression", seed: 2 },
    k1: 1,
    batches: [{
      T: 6, B: 2, features: uniforms(24), stepTargets: uniforms(24),
      starts: Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0]),
    }],
    reference: { mode: "online" },
  },
  {
    name: "tanh RNN, 2 layers, binary, padded rows, updates accumulated over k1 = 3 steps",
    model: tokens("rnn", { embeddingDim: 2, hiddenSize: 4, numLayers: 2, outputSize: 1, objective: "binary", seed: 3 }),
    k1: 3,
    batches: [
      { T: 7, B: 3, ids: ints(21, V), mask: maskOf(7, [7, 5, 2]), stepTargets: Float32Array.from(ints(21, 2)) },
      { T: 4, B: 3, ids: ints(12, V), stepTargets: Float32Array.from({ length: 12 }, () => rng.int(2)) },
    ],
    reference: { k1: 3, k2: Infinity },
  },
  {
    name: "LSTM many-to-one: a loss at each sequence's last step, lengths 6/4/3, k1 = 1",
    model: { cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 2, outputSize: 3, objective: "classes", seed: 4 },
    k1: 1,
    batches: [{ T: 6, B: 3, ids: ints(18, V), mask: maskOf(6, [6, 4, 3]), sequenceTargets: Int32Array.of(2, 0, 1) }],
    reference: { mode: "online", lossAt: "last-step" },
    options: { lossAt: "last-step" },
  },
  {
    // Packed: the trainer orders the rows by length (8, 8, 5, 3), and RTRL's rows are the layout's.
    name: "LSTM, 2 layers, padded rows out of order (lengths 3/8/5/8), restarts inside rows, k1 = 3",
    model: tokens("lstm", { embeddingDim: 2, hiddenSize: 2, numLayers: 2, seed: 6 }),
    k1: 3,
    batches: [{
      T: 8, B: 4, ids: ints(32, V), mask: maskOf(8, [3, 8, 5, 8]), stepTargets: ints(32, V),
      starts: Uint8Array.from({ length: 32 }, (_, i) => Number(i === 4 * 4 + 1 || i === 2 * 4 + 2 || i === 6 * 4 + 3)),
    }],
    reference: { k1: 3, k2: Infinity },
  },
  {
    // A loss at each row's last step reaches RTRL as dL/d(the state the chunk leaves): rows 0 and 2
    // end inside a chunk, and each chunk scores every row still running (lossEveryChunk).
    name: "GRU, 2 layers, last-step losses and one every chunk, rows out of order (lengths 2/7/4), k1 = 3",
    model: { cell: "gru", vocabSize: V, embeddingDim: 2, hiddenSize: 2, numLayers: 2, outputSize: 3, objective: "classes", seed: 7 },
    k1: 3,
    batches: [{ T: 7, B: 3, ids: ints(21, V), mask: maskOf(7, [2, 7, 4]), sequenceTargets: Int32Array.of(1, 2, 0) }],
    reference: { k1: 3, k2: Infinity, lossAt: "last-step", lossEveryChunk: true },
    options: { lossAt: "last-step", lossEveryChunk: true },
  },
  {
    // The LSTM's variants: h of P < H values (the state's layout and the next layer's tangent), peepholes.
    name: "LSTM with a projection (P = 2, H = 3) and peepholes, 2 layers, padded rows out of order, restarts, k1 = 2",
    model: tokens("lstm", { embeddingDim: 2, hiddenSize: 3, projSize: 2, peephole: true, numLayers: 2, seed: 8 }),
    k1: 2,
    batches: [{
      T: 7, B: 3, ids: ints(21, V), mask: maskOf(7, [4, 7, 6]), stepTargets: ints(21, V),
      starts: Uint8Array.from({ length: 21 }, (_, i) => Number(i === 3 * 3 + 1)),
    }],
    reference: { k1: 2, k2: Infinity },
  },
  {
    name: "peephole LSTM, features, regression, a stream over two continuing batches, k1 = 1",
    model: { cell: "lstm", inputSize: 2, hiddenSize: 3, peephole: true, outputSize: 1, objective: "regression", seed: 9 },
    k1: 1,
    batches: [
      { T: 4, B: 2, features: uniforms(16), stepTargets: uniforms(8) },
      { T: 3, B: 2, features: uniforms(12), stepTargets: uniforms(6), continues: true },
    ],
    reference: { k1: 1, k2: 100 },
  },
  {
    name: "GRU, 1 layer, tokens, k1 = 2 over a continuing stream",
    model: { cell: "gru", vocabSize: V, embeddingDim: 2, hiddenSize: 3, outputSize: V, objective: "classes", seed: 5 },
    k1: 2,
    batches: [
      { T: 5, B: 2, ids: ints(10, V), stepTargets: ints(10, V) },
      { T: 5, B: 2, ids: ints(10, V), stepTargets: ints(10, V), continues: true },
    ],
    reference: { k1: 2, k2: 100 },
  },
];

describe('mode "rtrl" applies TBPTT(k1, ∞)\'s gradient at every update, float64, to 1e-8', () => {
  for (const c of cases) {
    it(c.name, () => {
      const rtrl = train(c.model, { mode: "rtrl", k1: c.k1, ...c.options }, c.batches);
      const tbptt = train(c.model, c.reference, c.batches);
      sameGradients(rtrl, tbptt, c.name);
    });
  }

  it("the comparison can fail: TBPTT truncated to each update's own chunk (k2 = k1) disagrees", () => {
    const c = cases[0]!;
    const rtrl = train(c.model, { mode: "rtrl", k1: c.k1 }, c.batches);
    const truncated = train(c.model, { k1: 1, k2: 1 }, c.batches);
    assert.throws(() => sameGradients(rtrl, truncated, "truncated"), /update \d+: element/);
  });
});

describe("RTRL against central differences of the loss, computed forward only", () => {
  it("GRU, 2 layers: one update over a whole batch (k1 = T), every parameter", () => {
    const config = tokens("gru", { embeddingDim: 2, hiddenSize: 2, numLayers: 2, seed: 6 });
    const batch: Batch = { T: 5, B: 2, ids: ints(10, V), stepTargets: ints(10, V) };
    inFloat64(() => {
      const model = new SequenceModel(config);
      const params = model.parameters();
      const sgd = createOptimizer("sgd", params, { lr: 0 });
      let applied: Float64Array | null = null;
      const rtrl = new Trainer(model, sgd, {
        mode: "rtrl", k1: 5, lossScale: "sum",
        beforeStep: () => { applied = Float64Array.from(params.flatMap((p) => Array.from(p.grad))); },
      });
      rtrl.trainBatch(batch);
      // Σ ℓ of the batch by the forward pass alone (an lr-0 full-BPTT trainer reports it).
      const full = new Trainer(model, sgd, { mode: "full", lossScale: "sum" });
      const lossOf = (): number => full.trainBatch(batch).lossSum;
      const eps = 1e-3;
      const numeric: number[] = [];
      for (const p of params) {
        for (let i = 0; i < p.size; i++) {
          const saved = p.value[i]!;
          const at = (d: number): number => {
            p.value[i] = saved + d;
            const loss = lossOf();
            p.value[i] = saved;
            return loss;
          };
          numeric.push((8 * (at(eps) - at(-eps)) - (at(2 * eps) - at(-2 * eps))) / (12 * eps));
        }
      }
      assertClose(applied!, numeric, "RTRL vs central differences", 1e-7, 1e-9);
    });
  });
});
