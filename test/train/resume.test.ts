/**
 * exportState / importState: a trainer rebuilt from a checkpoint taken between batches continues
 * bit-identically, including with a kept window (k2 > k1, so copies of old weights), dropout and a
 * carried stream state.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createOptimizer } from "../../src/optim/index.js";
import { Rng } from "../../src/tensor/rng.js";
import type { Batch } from "../../src/train/batch.js";
import { type ModelConfig, SequenceModel } from "../../src/train/model.js";
import { Trainer, type TrainerOptions } from "../../src/train/trainer.js";

const B = 3;
const V = 7;

function streamBatches(count: number, T: number): Batch[] {
  const rng = new Rng(42);
  return Array.from({ length: count }, (_, n) => {
    const ids = new Int32Array(T * B).map(() => rng.int(V));
    const stepTargets = new Int32Array(T * B).map(() => rng.int(V));
    return { T, B, ids, stepTargets, continues: n > 0 };
  });
}

function build(config: ModelConfig, options: TrainerOptions) {
  const model = new SequenceModel(config);
  const optimizer = createOptimizer("adam", model.parameters(), { lr: 0.01 });
  return { model, optimizer, trainer: new Trainer(model, optimizer, options) };
}

function weights(model: SequenceModel): Float32Array[] {
  return model.parameters().map((p) => p.value.slice());
}

describe("trainer state round trip", () => {
  const cases: Array<[string, ModelConfig, TrainerOptions]> = [
    ["LSTM 2 layers, dropout, TBPTT(3, 7)", { cell: "lstm", vocabSize: V, embeddingDim: 4, hiddenSize: 5, numLayers: 2, dropout: 0.3, outputSize: V, objective: "classes", seed: 3 }, { k1: 3, k2: 7, clipNorm: 1 }],
    ["GRU, TBPTT(4, 4)", { cell: "gru", vocabSize: V, embeddingDim: 4, hiddenSize: 5, outputSize: V, objective: "classes", seed: 4 }, { k1: 4, k2: 4 }],
    ["RNN, TBPTT(2, 9)", { cell: "rnn", vocabSize: V, embeddingDim: 3, hiddenSize: 4, outputSize: V, objective: "classes", seed: 5 }, { k1: 2, k2: 9 }],
    // The modes beyond truncation carry their own state (src/train/modes/): sensitivities, factors, cuts, k2.
    ["LSTM 2 layers, mode rtrl, k1 = 2", { cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 3, numLayers: 2, outputSize: V, objective: "classes", seed: 6 }, { mode: "rtrl", k1: 2 }],
    ["GRU, mode uoro, k1 = 1", { cell: "gru", vocabSize: V, embeddingDim: 3, hiddenSize: 4, outputSize: V, objective: "classes", seed: 7 }, { mode: "uoro" }],
    ["LSTM, mode artbp, mean truncation 4", { cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 4, outputSize: V, objective: "classes", seed: 8 }, { mode: "artbp", k2: 4 }],
    ["RNN, mode artbp, k1 = 2, mean truncation 6", { cell: "rnn", vocabSize: V, embeddingDim: 3, hiddenSize: 4, outputSize: V, objective: "classes", seed: 9 }, { mode: "artbp", k1: 2, k2: 6 }],
    ['GRU, TBPTT(1, k2 "adaptive"), a probe under way at the checkpoint', { cell: "gru", vocabSize: V, embeddingDim: 3, hiddenSize: 4, outputSize: V, objective: "classes", seed: 10 }, { k1: 1, k2: "adaptive", maxK2: 6, biasTolerance: 0.5 }],
  ];
  for (const [name, config, options] of cases) {
    it(`${name}: resuming from a checkpoint between batches ends bit-identical`, () => {
      const batches = streamBatches(6, 5);
      const straight = build(config, options);
      for (const batch of batches) straight.trainer.trainBatch(batch);

      const first = build(config, options);
      for (const batch of batches.slice(0, 3)) first.trainer.trainBatch(batch);
      const state = first.trainer.exportState();
      const optimizerState = first.optimizer.stateDict();
      const savedWeights = weights(first.model);
      assert.ok(state.segments.length > 0, "the checkpoint should hold a kept window");

      const resumed = build({ ...config, seed: 99 }, options); // a different init, overwritten below
      resumed.model.parameters().forEach((p, i) => p.value.set(savedWeights[i]!));
      resumed.optimizer.loadStateDict(optimizerState);
      resumed.trainer.importState(state);
      for (const batch of batches.slice(3)) resumed.trainer.trainBatch(batch);

      const expected = weights(straight.model);
      weights(resumed.model).forEach((w, i) => assert.deepEqual(w, expected[i], `parameter ${i} differs after resuming`));
      assert.equal(resumed.trainer.updateCount, straight.trainer.updateCount);
    });
  }

  it("a state that does not fit the model is refused", () => {
    const a = build(cases[0]![1], cases[0]![2]);
    for (const batch of streamBatches(2, 5)) a.trainer.trainBatch(batch);
    const state = a.trainer.exportState();
    const other = build({ ...cases[0]![1], hiddenSize: 6 }, cases[0]![2]);
    assert.throws(() => other.trainer.importState(state), /trainer state: .* does not match this model/);
  });

  it("a checkpoint restores only into a trainer of the same mode", () => {
    const config = cases[4]![1];
    const uoro = build(config, { mode: "uoro" });
    for (const batch of streamBatches(2, 5)) uoro.trainer.trainBatch(batch);
    const state = uoro.trainer.exportState();
    assert.throws(() => build(config, { mode: "rtrl" }).trainer.importState(state), /a checkpoint of mode "uoro" does not match this trainer \(mode "rtrl"\)/);
    assert.throws(() => build(config, { k1: 1, k2: 4 }).trainer.importState(state), /a checkpoint of mode "uoro" does not match this trainer \(TBPTT\)/);
    const { mode: _dropped, ...withoutMode } = state;
    assert.throws(() => build(config, { mode: "uoro" }).trainer.importState(withoutMode), /a checkpoint of TBPTT does not match this trainer \(mode "uoro"\)/);
  });

  it("dropping the window would change the result (the test can fail)", () => {
    const [, config, options] = cases[0]!;
    const batches = streamBatches(6, 5);
    const straight = build(config, options);
    for (const batch of batches) straight.trainer.trainBatch(batch);
    const first = build(config, options);
    for (const batch of batches.slice(0, 3)) first.trainer.trainBatch(batch);
    const state = { ...first.trainer.exportState(), segments: [] };
    const resumed = build(config, options);
    resumed.model.parameters().forEach((p, i) => p.value.set(weights(first.model)[i]!));
    resumed.optimizer.loadStateDict(first.optimizer.stateDict());
    resumed.trainer.importState(state);
    for (const batch of batches.slice(3)) resumed.trainer.trainBatch(batch);
    const expected = weights(straight.model);
    assert.ok(weights(resumed.model).some((w, i) => w.some((v, j) => v !== expected[i]![j])));
  });
});

/** Many-to-one batches of texts of different lengths (right-padded, masked), each a fresh start. */
function raggedBatches(count: number): Batch[] {
  const rng = new Rng(43);
  return Array.from({ length: count }, () => {
    const lengths = Array.from({ length: B }, () => 1 + rng.int(30));
    const T = Math.max(...lengths);
    const ids = new Int32Array(T * B);
    const mask = new Float32Array(T * B);
    lengths.forEach((n, b) => {
      for (let t = 0; t < n; t++) {
        ids[t * B + b] = rng.int(V);
        mask[t * B + b] = 1;
      }
    });
    return { T, B, ids, mask, sequenceTargets: Int32Array.from({ length: B }, () => rng.int(2)) };
  });
}

describe("trainer state round trip, ragged (packed) batches", () => {
  const model: ModelConfig = {
    cell: "lstm", vocabSize: V, embeddingDim: 4, hiddenSize: 5, numLayers: 2, dropout: 0.3, outputSize: 2, objective: "classes", seed: 6,
  };
  // The online modes recompute each row's step without dropout: they train the same LSTM without it.
  const noDropout: ModelConfig = { ...model, hiddenSize: 3, dropout: 0 };
  const cases: Array<[string, ModelConfig, TrainerOptions]> = [
    ["full BPTT", model, { mode: "full", lossAt: "last-step" }],
    ["TBPTT(∞, 8): heads forward keeping nothing, tails kept", model, { k1: Infinity, k2: 8, lossAt: "last-step" }],
    ["TBPTT(5, 10) with a loss every chunk", model, { k1: 5, k2: 10, lossAt: "last-step", lossEveryChunk: true }],
    // The modes (src/train/modes/): each resets its own state after a padded batch, as the window is.
    ["mode rtrl, k1 = 4", noDropout, { mode: "rtrl", k1: 4, lossAt: "last-step" }],
    ["mode uoro, k1 = 1", noDropout, { mode: "uoro", lossAt: "last-step" }],
    ["mode artbp, mean truncation 4, an update at each cut", model, { mode: "artbp", k2: 4, lossAt: "last-step" }],
    ["mode artbp, k1 = ∞, mean truncation 8", model, { mode: "artbp", k1: Infinity, k2: 8, lossAt: "last-step" }],
    ['TBPTT(3, k2 "adaptive")', model, { k1: 3, k2: "adaptive", maxK2: 12, biasTolerance: 0.3, lossAt: "last-step" }],
  ];
  for (const [name, config, options] of cases) {
    const what = config.dropout ? "2-layer LSTM with dropout" : "2-layer LSTM";
    it(`${name}, ${what}: resuming between batches ends bit-identical`, () => {
      const batches = raggedBatches(6);
      const straight = build(config, options);
      for (const batch of batches) straight.trainer.trainBatch(batch);
      const first = build(config, options);
      for (const batch of batches.slice(0, 3)) first.trainer.trainBatch(batch);
      const state = first.trainer.exportState();
      assert.equal(state.segments.length, 0, "nothing a padded batch kept is needed again");
      const resumed = build({ ...config, seed: 99 }, options);
      resumed.model.parameters().forEach((p, i) => p.value.set(weights(first.model)[i]!));
      resumed.optimizer.loadStateDict(first.optimizer.stateDict());
      resumed.trainer.importState(state);
      for (const batch of batches.slice(3)) resumed.trainer.trainBatch(batch);
      const expected = weights(straight.model);
      weights(resumed.model).forEach((w, i) => assert.deepEqual(w, expected[i], `parameter ${i} differs after resuming`));
    });
  }

  it("a checkpoint from before packing (a masked batch's window kept) still loads, and continues alike", () => {
    // Before packed batches, the window still held a padded batch's segments, masked, after the batch.
    const options: TrainerOptions = { k1: 4, k2: 6, lossAt: "last-step" };
    const batches = raggedBatches(3);
    const first = build(model, options);
    first.trainer.trainBatch(batches[0]!);
    // Such a window: a segment of 6 steps whose row 0 is padded after 4 steps.
    const dense = build(model, options);
    const { ids } = streamBatches(1, 6)[0]!;
    dense.trainer.trainBatch({ T: 6, B, ids, sequenceTargets: Int32Array.from({ length: B }, (_, b) => b % 2) });
    const kept = dense.trainer.exportState();
    const mask = new Float32Array(6 * B).fill(1);
    for (let t = 4; t < 6; t++) mask[t * B] = 0;
    const segments = kept.segments.map((s) => ({ ...s, mask: mask.subarray(s.start * B, (s.start + s.T) * B) }));
    const old = { ...first.trainer.exportState(), ...pickWindow(kept), segments, lastBatchMasked: true };
    assert.ok(old.segments.length > 0, "the old-style state holds a masked segment");
    const runs = [old, { ...old, segments: [] }].map((state) => {
      const run = build(model, options);
      run.model.parameters().forEach((p, i) => p.value.set(weights(first.model)[i]!));
      run.optimizer.loadStateDict(first.optimizer.stateDict());
      run.trainer.importState(state);
      for (const batch of batches.slice(1)) run.trainer.trainBatch(batch);
      return weights(run.model);
    });
    runs[0]!.forEach((w, i) => assert.deepEqual(w, runs[1]![i], `parameter ${i}`));
  });
});

/** The kept window of a state (segments, stream time, carried state), to graft onto another. */
function pickWindow(state: ReturnType<Trainer["exportState"]>) {
  return { segments: state.segments, streamTime: state.streamTime, h: state.h, c: state.c, batchSize: state.batchSize };
}
