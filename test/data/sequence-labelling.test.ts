/** Sequence labelling: aligned per-step targets, IGNORE_INDEX at padding and null labels, token or feature inputs. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classificationBatches } from "../../src/data/batching.js";
import { LabelSet } from "../../src/data/classification.js";
import {
  type LabellingExample, encodeLabelling, labellingBatches, labellingLabels, labellingTokens,
} from "../../src/data/sequence-labelling.js";
import { Vocabulary, countTokens } from "../../src/data/vocabulary.js";
import { Rng } from "../../src/tensor/rng.js";
import { IGNORE_INDEX } from "../../src/train/batch.js";

const X = IGNORE_INDEX;

describe("token inputs", () => {
  const examples: LabellingExample[] = [
    { inputs: ["The", "cat", "sat"], labels: ["DET", "NOUN", "VERB"], line: 1 },
    { inputs: ["Dogs", "bark"], labels: ["NOUN", null], line: 2 },
  ];

  it("builds the vocabulary and label set from the training examples", () => {
    assert.deepEqual([...labellingTokens(examples, { lowercase: true })], [["the", "cat", "sat"], ["dogs", "bark"]]);
    assert.deepEqual(labellingLabels(examples).toJSON(), ["DET", "NOUN", "VERB"]);
  });

  it("pads ids with 0, masks, and puts IGNORE_INDEX at padding and at null labels", () => {
    const vocabulary = Vocabulary.fromCounts(countTokens(labellingTokens(examples, { lowercase: true })));
    const data = encodeLabelling(examples, { vocabulary, labels: labellingLabels(examples), lowercase: true, source: "tags.jsonl" });
    assert.equal(data.input, "tokens");
    const [batch, ...rest] = [...labellingBatches(data, { batchSize: 2 })];
    assert.equal(rest.length, 0);
    assert.deepEqual({ T: batch!.T, B: batch!.B }, { T: 3, B: 2 });
    // (T, B) time-major: [the, dogs, cat, bark, sat, <pad>]
    assert.deepEqual(vocabulary.decode(batch!.ids!), ["the", "dogs", "cat", "bark", "sat", "<pad>"]);
    assert.deepEqual([...batch!.mask!], [1, 1, 1, 1, 1, 0]);
    assert.deepEqual([...batch!.stepTargets!], [0, 1, 1, X, 2, X]);
    assert.ok(batch!.stepTargets instanceof Int32Array);
    assert.equal(batch!.features, undefined);
  });
});

describe("in-memory sequences labelled at every step", () => {
  it("batch as classificationBatches does, in the same shuffled order, each step's target the row's label", () => {
    const rng = new Rng(4);
    const texts = Array.from({ length: 23 }, () => Int32Array.from({ length: 1 + rng.int(9) }, () => 2 + rng.int(5)));
    const labels = Int32Array.from(texts, () => rng.int(3));
    const sequences = texts.map((ids, n) => ({ ids, targets: new Int32Array(ids.length).fill(labels[n]!) }));
    const encoded = { input: "tokens", inputSize: 0, sequences } as const;
    const labelled = [...labellingBatches(encoded, { batchSize: 5, shuffle: new Rng(9) })];
    const classified = [...classificationBatches(texts, labels, { batchSize: 5, shuffle: new Rng(9) })];
    assert.equal(labelled.length, classified.length);
    labelled.forEach((batch, n) => {
      const { T, B, ids, mask, sequenceTargets } = classified[n]!;
      assert.deepEqual({ T: batch.T, B: batch.B, ids: batch.ids, mask: batch.mask }, { T, B, ids, mask });
      const expected = Int32Array.from({ length: T * B }, (_, i) => (mask![i] === 1 ? sequenceTargets![i % B]! : X));
      assert.deepEqual(batch.stepTargets, expected);
    });
  });
});

describe("feature inputs", () => {
  it("lays features out as (T, B, I) and pads with zeros", () => {
    const examples: LabellingExample[] = [
      { inputs: [[1, 2]], labels: ["a"], line: 5 },
      { inputs: [[3, 4], [5, 6]], labels: ["b", "a"], line: 6 },
    ];
    const data = encodeLabelling(examples, { labels: labellingLabels(examples), source: "f.jsonl" });
    assert.deepEqual({ input: data.input, inputSize: data.inputSize }, { input: "features", inputSize: 2 });
    const [batch] = [...labellingBatches(data, { batchSize: 4 })];
    assert.deepEqual({ T: batch!.T, B: batch!.B }, { T: 2, B: 2 });
    assert.deepEqual([...batch!.features!], [1, 2, 3, 4, 0, 0, 5, 6]);
    assert.deepEqual([...batch!.mask!], [1, 1, 0, 1]);
    assert.deepEqual([...batch!.stepTargets!], [0, 1, X, 0]);
    assert.equal(batch!.ids, undefined);
  });
});

describe("errors name the line", () => {
  const labels = LabelSet.fromLabels(["a", "b"]);
  const vocabulary = Vocabulary.fromCounts(new Map([["x", 1]]));
  const cases: Array<[LabellingExample[], RegExp]> = [
    [[{ inputs: ["x", "x"], labels: ["a"], line: 12 }], /^RangeError: tags\.jsonl:12: 1 labels for 2 input steps \(one label per step\)$/],
    [[{ inputs: ["x"], labels: ["a"], line: 1 }, { inputs: [[1]], labels: ["a"], line: 4 }], /^RangeError: tags\.jsonl:4: the inputs are feature vectors, but line 1 has tokens$/],
    [[{ inputs: [[1]], labels: ["a"], line: 1 }, { inputs: ["x"], labels: ["a"], line: 3 }], /^RangeError: tags\.jsonl:3: the inputs are tokens, but line 1 has feature vectors$/],
    [[{ inputs: [[1, 2]], labels: ["a"], line: 1 }, { inputs: [[1, 2], [3]], labels: ["a", "b"], line: 7 }], /^RangeError: tags\.jsonl:7: step 1 has 1 features, line 1 has 2 per step$/],
    [[{ inputs: ["x"], labels: ["c"], line: 8 }], /^RangeError: tags\.jsonl:8: label "c" did not occur in the training data/],
    [[{ inputs: [], labels: [], line: 2 }], /^RangeError: tags\.jsonl:2: "inputs" is empty$/],
    [[], /^RangeError: tags\.jsonl: no examples$/],
  ];
  for (const [examples, pattern] of cases) {
    it(pattern.source.slice(0, 60), () => {
      assert.throws(() => encodeLabelling(examples, { vocabulary, labels, source: "tags.jsonl" }), pattern);
    });
  }

  it("token inputs need a vocabulary", () => {
    assert.throws(() => encodeLabelling([{ inputs: ["x"], labels: ["a"], line: 1 }], { labels, source: "t.jsonl" }), /t\.jsonl: the inputs are tokens, so a vocabulary is needed/);
  });
});
