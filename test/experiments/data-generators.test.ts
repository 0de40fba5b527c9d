/** The synthetic data of experiments 4–6: each label is decided where it should be, and the same seed gives the same data. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { delayedRecallBatch } from "../../src/experiments/delayed-recall.js";
import { firstEqualsLastBatch } from "../../src/experiments/first-equals-last.js";
import { nearestPrototypeError, phonemeSource, phonemeUtterances } from "../../src/experiments/phoneme-frames.js";
import { Rng } from "../../src/tensor/rng.js";

const SOURCE = { classes: 61, featureSize: 12, noise: 1.6, minDuration: 2, maxDuration: 6, successors: 3 };

describe("phoneme frames", () => {
  it("holds each phoneme 2–6 frames and moves only to one of its bigram successors", () => {
    const source = phonemeSource(new Rng(1), SOURCE);
    const data = phonemeUtterances(source, new Rng(2), 40, 60);
    assert.equal(data.input, "features");
    assert.equal(data.inputSize, 12);
    let changes = 0;
    for (const { targets, features } of data.sequences) {
      assert.equal(features!.length, 60 * 12);
      let run = 1;
      for (let t = 1; t < targets.length; t++) {
        if (targets[t] === targets[t - 1]) {
          run++;
          continue;
        }
        changes++;
        assert.ok([...source.next[targets[t - 1]!]!].includes(targets[t]!), `${targets[t - 1]} → ${targets[t]} is not in the bigram`);
        // The first run may start mid-phoneme only at t = 0; every completed run lasts 2–6 frames.
        assert.ok(run >= 1 && run <= 6, `a phoneme held ${run} frames`);
        run = 1;
      }
    }
    assert.ok(changes > 40 * 8, `only ${changes} phoneme changes`);
  });

  it("makes a frame alone ambiguous at σ = 1.6 but not at σ = 0, and is reproducible", () => {
    const noisy = phonemeSource(new Rng(1), SOURCE);
    const clean = phonemeSource(new Rng(1), { ...SOURCE, noise: 0 });
    assert.equal(nearestPrototypeError(clean, phonemeUtterances(clean, new Rng(3), 10, 30)), 0);
    const error = nearestPrototypeError(noisy, phonemeUtterances(noisy, new Rng(3), 20, 50));
    assert.ok(error > 0.4 && error < 0.9, `frame-alone error ${error}`);
    assert.deepEqual(phonemeUtterances(noisy, new Rng(9), 3, 20), phonemeUtterances(noisy, new Rng(9), 3, 20));
  });

  it("refuses bad settings with a RangeError naming them", () => {
    assert.throws(() => phonemeSource(new Rng(1), { ...SOURCE, successors: 61 }), /successors must be at most/);
    assert.throws(() => phonemeSource(new Rng(1), { ...SOURCE, maxDuration: 1 }), /maxDuration/);
    assert.throws(() => phonemeUtterances(phonemeSource(new Rng(1), SOURCE), new Rng(1), 0, 5), /count/);
  });
});

describe("delayed recall", () => {
  it("puts the symbol at step 0 only, distractors after it, and the label is that symbol", () => {
    const batch = delayedRecallBatch(new Rng(4), { symbols: 4, distractors: 4, delay: 7, batchSize: 50 });
    assert.equal(batch.T, 8);
    const targets = batch.sequenceTargets as Int32Array;
    for (let b = 0; b < 50; b++) {
      assert.equal(batch.ids![b], 1 + targets[b]!);
      for (let t = 1; t < 8; t++) {
        const id = batch.ids![t * 50 + b]!;
        assert.ok(id >= 5 && id <= 8, `step ${t} has id ${id}, not a distractor`);
      }
    }
    assert.equal(new Set(targets).size, 4);
    assert.throws(() => delayedRecallBatch(new Rng(1), { symbols: 1, distractors: 4, delay: 3, batchSize: 2 }), /symbols/);
  });
});

describe("first equals last", () => {
  it("labels 1 exactly when the last one-hot symbol is the first, about half the time", () => {
    const K = 4;
    const T = 6;
    const B = 400;
    const batch = firstEqualsLastBatch(new Rng(5), { symbols: K, length: T, batchSize: B });
    const symbolAt = (t: number, b: number): number => {
      const row = batch.features!.subarray((t * B + b) * K, (t * B + b + 1) * K);
      assert.equal(row.reduce((a, v) => a + v, 0), 1, "one-hot");
      return row.indexOf(1);
    };
    let ones = 0;
    for (let b = 0; b < B; b++) {
      const label = (batch.sequenceTargets as Int32Array)[b]!;
      assert.equal(label, symbolAt(0, b) === symbolAt(T - 1, b) ? 1 : 0);
      ones += label;
    }
    assert.ok(ones > 0.4 * B && ones < 0.6 * B, `${ones} of ${B} positive`);
  });
});
