/** Classification data: label sets, encoding, padded and masked batches, bucketing, seeded shuffling, validation splits. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  LabelSet, type TextExample, batchOrder, encodeClassification, splitValidation, textClassificationBatches,
} from "../../src/data/classification.js";
import { WordTokenizer } from "../../src/data/tokenizer.js";
import { Vocabulary, countTokens } from "../../src/data/vocabulary.js";
import { Rng } from "../../src/tensor/rng.js";
import type { Batch } from "../../src/train/batch.js";

describe("LabelSet", () => {
  it("sorts the distinct labels: numerically when all are integers, else by code units", () => {
    assert.deepEqual(LabelSet.fromLabels(["pos", "neg", "pos", "Neutral"]).toJSON(), ["Neutral", "neg", "pos"]);
    assert.deepEqual(LabelSet.fromLabels(["10", "2", "1", "-3", "2"]).toJSON(), ["-3", "1", "2", "10"]);
    assert.deepEqual(LabelSet.fromLabels(["10", "2", "b"]).toJSON(), ["10", "2", "b"]);
    assert.deepEqual(LabelSet.fromLabels(["1", "01"]).toJSON(), ["01", "1"]);
  });

  it("maps labels to ids and back; an unseen label names where it was found", () => {
    const labels = LabelSet.fromLabels(["b", "a"]);
    assert.equal(labels.size, 2);
    assert.equal(labels.id("a"), 0);
    assert.equal(labels.label(1), "b");
    assert.throws(() => labels.id("c", "val.jsonl:17"), /^RangeError: val\.jsonl:17: label "c" did not occur in the training data \(labels: a, b\)$/);
    assert.throws(() => labels.label(2), /class id 2 is outside \[0, 2\)/);
    assert.throws(() => LabelSet.fromLabels([]), /at least one label/);
  });

  it("round-trips through JSON, keeping the saved order, and refuses hostile data", () => {
    assert.deepEqual(LabelSet.fromJSON(JSON.parse(JSON.stringify(LabelSet.fromLabels(["x", "y"]))), "labels.json").toJSON(), ["x", "y"]);
    assert.equal(LabelSet.fromJSON(["z", "a"], "labels.json").id("a"), 1);
    const cases: Array<[unknown, RegExp]> = [
      [{}, /labels must be a non-empty array of strings, got object/],
      [[], /got an empty array/],
      [null, /got null/],
      [["a", 1], /labels\[1\] must be a non-empty string, got 1/],
      [["a", ""], /labels\[1\] must be a non-empty string, got ""/],
      [["a", "b", "a"], /labels\[2\] "a" repeats labels\[0\]/],
    ];
    for (const [data, pattern] of cases) {
      assert.throws(() => LabelSet.fromJSON(data, "model/labels.json"), (e: Error) => e instanceof RangeError && /^model\/labels\.json: /.test(e.message) && pattern.test(e.message));
    }
  });
});

describe("encodeClassification", () => {
  const tokenizer = new WordTokenizer({ lowercase: true });
  const examples: TextExample[] = [
    { text: "Good film", label: "pos", line: 1 },
    { text: "bad, bad film", label: "neg", line: 3 },
  ];
  const vocabulary = Vocabulary.fromCounts(countTokens(examples.map((e) => tokenizer.tokenize(e.text))));
  const labels = LabelSet.fromLabels(examples.map((e) => e.label));

  it("tokenizes, encodes and maps labels", () => {
    const encoded = encodeClassification(examples, { tokenizer, vocabulary, labels, source: "train.jsonl" });
    assert.deepEqual(encoded.texts.map((t) => vocabulary.decode(t)), [["good", "film"], ["bad", ",", "bad", "film"]]);
    assert.deepEqual([...encoded.labels], [1, 0]);
    assert.deepEqual([...encoded.lines], [1, 3]);
  });

  it("names the file and line of an empty text or an unseen label", () => {
    const options = { tokenizer, vocabulary, labels, source: "val.jsonl" };
    assert.throws(() => encodeClassification([{ text: " \t", label: "pos", line: 4 }], options), /^RangeError: val\.jsonl:4: the text has no tokens$/);
    assert.throws(() => encodeClassification([{ text: "ok", label: "meh", line: 9 }], options), /^RangeError: val\.jsonl:9: label "meh" did not occur in the training data/);
  });
});

/** Example i has length lengths[i] and first token i + 2, so every row tells which example it holds. */
function dataset(lengths: number[]): { texts: Int32Array[]; labels: Int32Array; lines: Int32Array } {
  return {
    texts: lengths.map((n, i) => Int32Array.from({ length: n }, (_, t) => (t === 0 ? i + 2 : 1))),
    labels: Int32Array.from(lengths, (_, i) => i % 3),
    lines: Int32Array.from(lengths, (_, i) => i + 1),
  };
}

/** The example index of each row of each batch, read back from the ids. */
const rowsOf = (batches: Batch[]): number[][] => batches.map((b) => Array.from({ length: b.B }, (_, r) => b.ids![r]! - 2));

describe("textClassificationBatches", () => {
  it("right-pads to the longest text with <pad> = 0, masks, and gives one target per row", () => {
    const data = dataset([3, 1, 2]);
    const batches = [...textClassificationBatches(data, { batchSize: 2 })];
    assert.equal(batches.length, 2);
    const [first, second] = batches as [Batch, Batch];
    assert.deepEqual({ T: first.T, B: first.B }, { T: 3, B: 2 });
    // Time-major (T, B): step t of row b at t·B + b.
    assert.deepEqual([...first.ids!], [2, 3, 1, 0, 1, 0]);
    assert.deepEqual([...first.mask!], [1, 1, 1, 0, 1, 0]);
    assert.deepEqual([...first.sequenceTargets!], [0, 1]);
    assert.deepEqual({ T: second.T, B: second.B, ids: [...second.ids!], mask: [...second.mask!] }, { T: 2, B: 1, ids: [4, 1], mask: [1, 1] });
    assert.equal(first.continues, undefined);
  });

  const rng = new Rng(11);
  const lengths = Array.from({ length: 103 }, () => 1 + rng.int(40));

  it("bucketing keeps every example exactly once and cuts the padding", () => {
    const data = dataset(lengths);
    const padding = (batches: Batch[]): number => batches.reduce((sum, b) => sum + b.T * b.B - b.mask!.reduce((s, m) => s + m, 0), 0);
    const plain = [...textClassificationBatches(data, { batchSize: 8, shuffle: new Rng(1) })];
    const bucketed = [...textClassificationBatches(data, { batchSize: 8, shuffle: new Rng(1), bucketPool: 4 })];
    for (const batches of [plain, bucketed]) {
      assert.deepEqual(rowsOf(batches).flat().sort((a, b) => a - b), lengths.map((_, i) => i));
      for (const batch of batches) {
        rowsOf([batch])[0]!.forEach((i, b) => assert.equal(batch.sequenceTargets![b], i % 3));
      }
    }
    assert.equal(bucketed.length, Math.ceil(103 / 8));
    assert.ok(padding(bucketed) < padding(plain) / 2, `padding ${padding(bucketed)} vs ${padding(plain)}`);
  });

  it("bucketing sorts within windows of bucketPool × batchSize examples, then shuffles the batches", () => {
    const order = batchOrder(lengths, { batchSize: 5, bucketPool: 2 });
    assert.equal(order.length, Math.ceil(103 / 5));
    for (let w = 0; w < order.length; w += 2) {
      const window = order.slice(w, w + 2).flat();
      assert.deepEqual(window.slice().sort((a, b) => a - b), Array.from({ length: window.length }, (_, k) => 10 * (w / 2) + k));
      for (let k = 1; k < window.length; k++) assert.ok(lengths[window[k - 1]!]! <= lengths[window[k]!]!);
    }
    const shuffled = batchOrder(lengths, { batchSize: 5, bucketPool: 2, shuffle: new Rng(4) });
    assert.ok(shuffled.every((rows) => rows.every((i, k) => k === 0 || lengths[rows[k - 1]!]! <= lengths[i]!)));
    assert.deepEqual(shuffled.flat().sort((a, b) => a - b), lengths.map((_, i) => i));
  });

  it("shuffles with the seeded generator: same seed, same batches; another seed, another order", () => {
    const data = dataset(lengths);
    const run = (seed: number, bucketPool?: number): number[][] =>
      rowsOf([...textClassificationBatches(data, { batchSize: 8, shuffle: new Rng(seed), ...(bucketPool ? { bucketPool } : {}) })]);
    assert.deepEqual(run(5), run(5));
    assert.deepEqual(run(5, 3), run(5, 3));
    assert.notDeepEqual(run(5), run(6));
    assert.notDeepEqual(run(5, 3), run(6, 3));
    assert.deepEqual(rowsOf([...textClassificationBatches(data, { batchSize: 8 })]).flat(), lengths.map((_, i) => i));
  });

  it("refuses bad sizes", () => {
    assert.throws(() => batchOrder([1, 2], { batchSize: 0 }), /batchSize must be a positive integer/);
    assert.throws(() => batchOrder([1, 2], { batchSize: 2, bucketPool: 0.5 }), /bucketPool must be a positive integer/);
  });
});

describe("splitValidation", () => {
  const items = Array.from({ length: 50 }, (_, i) => i);

  it("holds out round(fraction · N) items, disjoint, covering, each part in the original order", () => {
    const { train, validation } = splitValidation(items, 0.2, new Rng(7));
    assert.equal(validation.length, 10);
    assert.equal(train.length, 40);
    assert.deepEqual([...train, ...validation].sort((a, b) => a - b), items);
    assert.deepEqual(train, train.slice().sort((a, b) => a - b));
    assert.deepEqual(validation, validation.slice().sort((a, b) => a - b));
  });

  it("is deterministic for a seed and differs across seeds", () => {
    assert.deepEqual(splitValidation(items, 0.3, new Rng(1)), splitValidation(items, 0.3, new Rng(1)));
    assert.notDeepEqual(splitValidation(items, 0.3, new Rng(1)).validation, splitValidation(items, 0.3, new Rng(2)).validation);
  });

  it("keeps at least one item on each side, and refuses impossible requests", () => {
    assert.equal(splitValidation(items, 0.001, new Rng(1)).validation.length, 1);
    assert.equal(splitValidation([1, 2], 0.9, new Rng(1)).train.length, 1);
    assert.deepEqual(splitValidation(items, 0, new Rng(1)), { train: items, validation: [] });
    assert.throws(() => splitValidation(items, 1, new Rng(1)), /fraction must be in \[0, 1\)/);
    assert.throws(() => splitValidation(items, Number.NaN, new Rng(1)), /fraction must be in \[0, 1\)/);
    assert.throws(() => splitValidation([1], 0.5, new Rng(1)), /need at least 2/);
  });
});
