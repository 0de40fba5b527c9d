/**
 * End to end: a tiny data set of each kind goes from lines of text through the parsers and batchers
 * into the real Trainer (SequenceModel + createOptimizer), which accepts every batch and learns.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  LabelSet, encodeClassification, splitValidation, textClassificationBatches,
} from "../../src/data/classification.js";
import {
  batchify, collectStream, countLineTokens, encodeLines, languageModelBatches, streamLanguageModelBatches,
} from "../../src/data/language-model.js";
import { parseCsvClassification } from "../../src/data/parse/csv.js";
import { parseJsonlClassification, parseJsonlLabelling } from "../../src/data/parse/jsonl.js";
import { encodeLabelling, labellingBatches, labellingLabels, labellingTokens } from "../../src/data/sequence-labelling.js";
import { readSeriesCsv, timeSeriesBatches } from "../../src/data/time-series.js";
import { WordTokenizer, createTokenizer } from "../../src/data/tokenizer.js";
import { Vocabulary, countTokens } from "../../src/data/vocabulary.js";
import { createOptimizer } from "../../src/optim/index.js";
import { Rng } from "../../src/tensor/rng.js";
import type { Batch } from "../../src/train/batch.js";
import { evaluate } from "../../src/train/evaluate.js";
import { type ModelConfig, SequenceModel } from "../../src/train/model.js";
import { type BatchResult, Trainer, type TrainerOptions } from "../../src/train/trainer.js";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function trainer(config: Omit<ModelConfig, "hiddenSize">, options: TrainerOptions, lr = 0.02): Trainer {
  const model = new SequenceModel({ ...config, hiddenSize: 12, seed: 1 });
  return new Trainer(model, createOptimizer("adam", model.parameters(), { lr }), { clipNorm: 5, ...options });
}

const meanLoss = (r: BatchResult): number => r.lossSum / r.lossTerms;

/** Trains `epochs` epochs of fresh batches; returns the first and last epoch's mean loss. */
function fit(t: Trainer, epochs: number, batches: () => Iterable<Batch>): { first: number; last: number; updates: number } {
  const losses: number[] = [];
  for (let e = 0; e < epochs; e++) losses.push(meanLoss(t.trainEpoch(batches())));
  assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  return { first: losses[0]!, last: losses.at(-1)!, updates: t.updateCount };
}

describe("end to end with the real Trainer", () => {
  it("lm: text lines → vocabulary → strips → TBPTT across batches", async () => {
    const lines = Array.from({ length: 40 }, (_, i) => (i % 2 ? "the cat sat on the mat ." : "a dog ran to the park !"));
    const tokenizer = createTokenizer({ kind: "word" });
    const { counts, total } = await countLineTokens(lines, { tokenizer });
    const vocabulary = Vocabulary.fromCounts(counts);
    const stream = await collectStream(encodeLines(lines, { tokenizer, vocabulary }), total);
    const strips = batchify(stream, 4);
    const V = vocabulary.size;
    const t = trainer({ cell: "lstm", vocabSize: V, embeddingDim: 8, outputSize: V, objective: "classes" }, { k1: 5, k2: 10 });
    const batchesPerEpoch = Math.ceil((strips.L - 1) / 5);
    const { first, last, updates } = fit(t, 6, () => languageModelBatches(strips, { bptt: 5 }));
    assert.equal(updates, 6 * batchesPerEpoch);
    assert.ok(last < first * 0.6, `loss ${first} → ${last}`);
    const held = evaluate(t.model, languageModelBatches(strips, { bptt: 5 }));
    assert.equal(held.terms, 4 * (strips.L - 1));
    assert.ok(held.perplexity! < V, `perplexity ${held.perplexity}`);
    // The streamed batches feed the same trainer: blocks of 4 strips × 11 tokens, 2 batches each.
    let streamed = 0;
    for await (const batch of streamLanguageModelBatches(encodeLines(lines, { tokenizer, vocabulary }), { batchSize: 4, bptt: 5, blockSteps: 10 })) {
      assert.ok(Number.isFinite(t.trainBatch(batch).lossSum));
      streamed++;
    }
    const rest = Math.floor((total % 44) / 4);
    assert.equal(streamed, 2 * Math.floor(total / 44) + (rest >= 2 ? Math.ceil((rest - 1) / 5) : 0));
  });

  it("classify: JSONL and CSV → labels, vocabulary, bucketed shuffled padded batches → last-step loss", async () => {
    const rng = new Rng(2);
    const jsonl = Array.from({ length: 64 }, (_, i) => {
      const positive = i % 2 === 0;
      const filler = Array.from({ length: 1 + rng.int(6) }, () => ["so", "very", "and", "it", "was"][rng.int(5)]).join(" ");
      return JSON.stringify({ text: `${positive ? "Great" : "Awful"} ${filler}.`, label: positive ? "pos" : "neg" });
    });
    const examples = await collect(parseJsonlClassification(jsonl, { source: "train.jsonl" }));
    const { train, validation } = splitValidation(examples, 0.25, new Rng(3));
    const tokenizer = new WordTokenizer({ lowercase: true });
    const vocabulary = Vocabulary.fromCounts(countTokens(train.map((e) => tokenizer.tokenize(e.text))));
    const labels = LabelSet.fromLabels(train.map((e) => e.label));
    const encoded = encodeClassification(train, { tokenizer, vocabulary, labels, source: "train.jsonl" });
    const model = { cell: "gru", vocabSize: vocabulary.size, embeddingDim: 8, outputSize: labels.size, objective: "classes" } as const;
    const shuffle = new Rng(4);
    // The label is in the first word: truncated training needs k2 to reach back to it.
    for (const options of [{ mode: "full" } as const, { k1: 2, k2: 16 }]) {
      const t = trainer(model, { ...options, lossAt: "last-step" }, 0.05);
      const { first, last } = fit(t, 8, () => textClassificationBatches(encoded, { batchSize: 8, shuffle, bucketPool: 2 }));
      assert.ok(last < first * 0.5, `${JSON.stringify(options)}: loss ${first} → ${last}`);
    }
    const held = encodeClassification(validation, { tokenizer, vocabulary, labels, source: "train.jsonl" });
    const t = trainer(model, { mode: "full", lossAt: "last-step" }, 0.05);
    fit(t, 8, () => textClassificationBatches(encoded, { batchSize: 8, shuffle }));
    assert.equal(evaluate(t.model, textClassificationBatches(held, { batchSize: 8 }), { lossAt: "last-step" }).accuracy, 1);

    const csv = ["text,label", '"Great, so very.",pos', '"Awful, it was.",neg'];
    const fromCsv = await collect(parseCsvClassification(csv, { source: "val.csv" }));
    const encodedCsv = encodeClassification(fromCsv, { tokenizer, vocabulary, labels, source: "val.csv" });
    assert.equal(evaluate(t.model, textClassificationBatches(encodedCsv, { batchSize: 2 }), { lossAt: "last-step" }).terms, 2);
  });

  it("label: JSONL tokens and feature vectors → per-step targets → every-step loss", async () => {
    const tags: Record<string, string> = { the: "DET", a: "DET", cat: "NOUN", dog: "NOUN", runs: "VERB", sleeps: "VERB" };
    const rng = new Rng(5);
    const sentence = (): string[] => [["the", "a"][rng.int(2)]!, ["cat", "dog"][rng.int(2)]!, ["runs", "sleeps"][rng.int(2)]!];
    const jsonl = Array.from({ length: 24 }, () => {
      const words = [...sentence(), ...(rng.int(2) ? sentence() : [])];
      return JSON.stringify({ inputs: words, labels: words.map((w) => tags[w]) });
    });
    const examples = await collect(parseJsonlLabelling(jsonl, { source: "tags.jsonl" }));
    const vocabulary = Vocabulary.fromCounts(countTokens(labellingTokens(examples)));
    const labels = labellingLabels(examples);
    const data = encodeLabelling(examples, { vocabulary, labels, source: "tags.jsonl" });
    const t = trainer({ cell: "lstm", vocabSize: vocabulary.size, embeddingDim: 8, outputSize: labels.size, objective: "classes" }, { k1: 2 }, 0.05);
    const { first, last } = fit(t, 10, () => labellingBatches(data, { batchSize: 6, shuffle: rng, bucketPool: 2 }));
    assert.ok(last < first * 0.3, `loss ${first} → ${last}`);

    // Features: the label says whether the first feature is positive.
    const featureLines = Array.from({ length: 16 }, () => {
      const steps = Array.from({ length: 2 + rng.int(4) }, () => [rng.uniform(-1, 1), rng.uniform(-1, 1)]);
      return JSON.stringify({ inputs: steps, labels: steps.map(([x]) => (x! > 0 ? "up" : "down")) });
    });
    const featureExamples = await collect(parseJsonlLabelling(featureLines, { source: "f.jsonl" }));
    const features = encodeLabelling(featureExamples, { labels: labellingLabels(featureExamples), source: "f.jsonl" });
    const tf = trainer({ cell: "rnn", inputSize: features.inputSize, outputSize: 2, objective: "classes" }, { mode: "full" }, 0.05);
    const fitted = fit(tf, 10, () => labellingBatches(features, { batchSize: 4, shuffle: rng }));
    assert.ok(fitted.last < fitted.first * 0.5, `loss ${fitted.first} → ${fitted.last}`);
  });

  it("regress: CSV columns → forecasting windows → every-step and last-step losses", async () => {
    const csv = ["t,signal,drive", ...Array.from({ length: 80 }, (_, t) => `${t},${Math.sin(t / 3).toFixed(4)},${t === 40 ? "" : Math.cos(t / 5).toFixed(4)}`)];
    // The target column has one empty cell (line 42): no loss there.
    const series = await readSeriesCsv(csv, { source: "series.csv", features: ["signal"], targets: ["drive"] });
    assert.ok(Number.isNaN(series.targets[40]));
    const both = await readSeriesCsv(csv.map((l, i) => (i === 41 ? l.replace(/,$/, ",0") : l)), { source: "series.csv", features: ["signal"], targets: ["signal", "drive"] });
    for (const [s, lossAt] of [[series, "every-step"], [both, "last-step"]] as const) {
      const O = s.targetColumns.length;
      const t = trainer({ cell: "gru", inputSize: 1, outputSize: O, objective: "regression" }, { k1: 4, lossAt }, 0.03);
      const { first, last } = fit(t, 12, () => timeSeriesBatches(s, { window: 8, stride: 4, horizon: 1, batchSize: 4, shuffle: new Rng(6) }));
      assert.ok(last < first, `${lossAt}: loss ${first} → ${last}`);
    }
  });
});
