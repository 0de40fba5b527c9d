/**
 * From files to batches, for each task of `bptt train`, `eval` and `predict`:
 *
 *   lm        a plain-text corpus → B parallel strips, k1 steps at a time, state carried across batches
 *   classify  JSONL {"text", "label"} or CSV with text,label columns → whole texts, loss at the last step
 *   label     JSONL {"inputs", "labels"} (tokens or feature vectors) → a loss at every labelled step
 *   regress   CSV → windows of the input columns, the target columns `horizon` rows ahead
 *
 * What training learns about the data (tokenizer, vocabulary, labels, columns) is a `DataSpec`
 * (src/data/run-config.ts), saved in the run's config.json, so that evaluation and prediction read new
 * files the same way.
 */
import {
  LabelSet, encodeClassification, splitValidation, textClassificationBatches, type TextExample,
} from "../data/classification.js";
import { batchify, collectStream, countLineTokens, encodeLines, languageModelBatches } from "../data/language-model.js";
import type { DataSpec } from "../data/run-config.js";
import { parseCsvClassification } from "../data/parse/csv.js";
import { parseJsonlClassification, parseJsonlLabelling } from "../data/parse/jsonl.js";
import { type EncodedLabelling, type LabellingExample, encodeLabelling, labellingBatches, labellingLabels, labellingTokens } from "../data/sequence-labelling.js";
import { type Series, readSeriesCsv, splitSeries, timeSeriesBatches } from "../data/time-series.js";
import { createTokenizer } from "../data/tokenizer.js";
import { Vocabulary, countTokens } from "../data/vocabulary.js";
import { Rng } from "../tensor/rng.js";
import type { Batch } from "../train/batch.js";
import type { LossPlacement } from "../train/loss-positions.js";
import type { Objective } from "../train/model.js";
import { UsageError } from "./errors.js";
import { dataLines as readLines } from "./input.js";
import type { TrainSettings } from "./settings.js";

export interface PreparedData {
  spec: DataSpec;
  objective: Objective;
  outputSize: number;
  lossAt: LossPlacement;
  /** The training batches of an epoch (deterministic for a given epoch). */
  trainBatches: (epoch: number) => Iterable<Batch>;
  /** Steps × rows per epoch, for progress and tokens/s. */
  tokensPerEpoch: number;
  /** Steps of the longest training sequence (lm: of a batch), for the memory estimate. */
  longestSequence: number;
  /** Held-out batches, or null when there is no validation data. */
  validationBatches: (() => Iterable<Batch>) | null;
}

/** The shuffling generator of an epoch: the same seed and epoch give the same order, run or resumed. */
export function epochRng(seed: number, epoch: number): Rng {
  return new Rng(seed * 100_003 + epoch);
}

/** Reads the training (and validation) files of `settings` and prepares the batches. */
export async function prepareTraining(settings: TrainSettings): Promise<PreparedData> {
  const data = settings.data!;
  switch (settings.task) {
    case "lm":
      return prepareLanguageModel(settings, data);
    case "classify":
      return prepareClassification(settings, data);
    case "label":
      return prepareLabelling(settings, data);
    case "regress":
      return prepareRegression(settings, data);
  }
}

/** The steps per batch of a language model: k1, or 35 (PyTorch's example) when k1 is not finite. */
export function languageModelSteps(settings: Pick<TrainSettings, "k1">): number {
  return settings.k1 !== null && Number.isFinite(settings.k1) ? settings.k1 : 35;
}

async function prepareLanguageModel(settings: TrainSettings, path: string): Promise<PreparedData> {
  const tokenizer = createTokenizer({ kind: settings.tokenizer, lowercase: settings.lowercase });
  const { counts } = await countLineTokens(readLines(path), { tokenizer });
  const vocabulary = Vocabulary.fromCounts(counts, { minCount: settings.minCount, maxSize: settings.maxVocab });
  let stream = await collectStream(encodeLines(readLines(path), { tokenizer, vocabulary }));
  let validation: Int32Array | null = null;
  if (settings.val) {
    validation = await collectStream(encodeLines(readLines(settings.val), { tokenizer, vocabulary }));
  } else if (settings.valFraction > 0) {
    const held = Math.floor(stream.length * settings.valFraction);
    if (held >= 2 * settings.batch) {
      validation = stream.slice(stream.length - held);
      stream = stream.slice(0, stream.length - held);
    }
  }
  const bptt = languageModelSteps(settings);
  if (stream.length < 2 * settings.batch) {
    throw new UsageError(`${path}: ${stream.length} tokens are too few for --batch ${settings.batch} strips (need at least ${2 * settings.batch})`);
  }
  const strips = batchify(stream, settings.batch);
  const valStrips = validation && validation.length >= 2 * settings.batch ? batchify(validation, settings.batch) : null;
  return {
    spec: { task: "lm", tokenizer: tokenizer.toJSON(), vocabulary: vocabulary.toJSON(), labels: null, inputSize: 0, series: null },
    objective: "classes",
    outputSize: vocabulary.size,
    lossAt: "every-step",
    trainBatches: () => languageModelBatches(strips, { bptt }),
    tokensPerEpoch: (strips.L - 1) * strips.B,
    longestSequence: Math.min(bptt, strips.L - 1),
    validationBatches: valStrips ? () => languageModelBatches(valStrips, { bptt }) : null,
  };
}

/** A classifier needs two labels at least: with one it learns nothing and its loss is 0 from the start. */
function singleLabel(path: string, label: string | undefined): UsageError {
  if (label === undefined) return new UsageError(`${path}: no example has a label; a classifier needs at least 2 labels to tell apart`);
  return new UsageError(`${path}: every label is ${JSON.stringify(label)}; a classifier needs at least 2 labels to tell apart`);
}

async function readTextExamples(path: string): Promise<TextExample[]> {
  const parse = /\.csv$/i.test(path) ? parseCsvClassification : parseJsonlClassification;
  const examples: TextExample[] = [];
  for await (const example of parse(readLines(path), { source: path })) examples.push(example);
  if (examples.length === 0) throw new UsageError(`${path}: no examples`);
  return examples;
}

async function prepareClassification(settings: TrainSettings, path: string): Promise<PreparedData> {
  const tokenizer = createTokenizer({ kind: settings.tokenizer, lowercase: settings.lowercase });
  let examples = await readTextExamples(path);
  let held: TextExample[] = [];
  let heldSource = path;
  if (settings.val) {
    held = await readTextExamples(settings.val);
    heldSource = settings.val;
  } else if (settings.valFraction > 0 && examples.length >= 10) {
    ({ train: examples, validation: held } = splitValidation(examples, settings.valFraction, new Rng(settings.seed)));
  }
  const vocabulary = Vocabulary.fromCounts(countTokens(examples.map((e) => tokenizer.tokenize(e.text))), {
    minCount: settings.minCount, maxSize: settings.maxVocab,
  });
  const labels = LabelSet.fromLabels(examples.map((e) => e.label));
  if (labels.size < 2) throw singleLabel(path, labels.toJSON()[0]);
  const train = encodeClassification(examples, { tokenizer, vocabulary, labels, source: path });
  const validation = held.length > 0 ? encodeClassification(held, { tokenizer, vocabulary, labels, source: heldSource }) : null;
  const bucketPool = settings.bucket ? 50 : undefined;
  return {
    spec: { task: "classify", tokenizer: tokenizer.toJSON(), vocabulary: vocabulary.toJSON(), labels: labels.toJSON(), inputSize: 0, series: null },
    objective: "classes",
    outputSize: labels.size,
    lossAt: "last-step",
    trainBatches: (epoch) => textClassificationBatches(train, { batchSize: settings.batch, shuffle: epochRng(settings.seed, epoch), ...(bucketPool ? { bucketPool } : {}) }),
    tokensPerEpoch: train.texts.reduce((n, t) => n + t.length, 0),
    longestSequence: train.texts.reduce((n, t) => Math.max(n, t.length), 0),
    validationBatches: validation ? () => textClassificationBatches(validation, { batchSize: settings.batch }) : null,
  };
}

async function readLabellingExamples(path: string): Promise<LabellingExample[]> {
  const examples: LabellingExample[] = [];
  for await (const example of parseJsonlLabelling(readLines(path), { source: path })) examples.push(example);
  if (examples.length === 0) throw new UsageError(`${path}: no examples`);
  return examples;
}

async function prepareLabelling(settings: TrainSettings, path: string): Promise<PreparedData> {
  let examples = await readLabellingExamples(path);
  let held: LabellingExample[] = [];
  let heldSource = path;
  if (settings.val) {
    held = await readLabellingExamples(settings.val);
    heldSource = settings.val;
  } else if (settings.valFraction > 0 && examples.length >= 10) {
    ({ train: examples, validation: held } = splitValidation(examples, settings.valFraction, new Rng(settings.seed)));
  }
  const tokens = typeof examples[0]!.inputs[0] === "string";
  const vocabulary = tokens
    ? Vocabulary.fromCounts(countTokens(labellingTokens(examples, { lowercase: settings.lowercase })), { minCount: settings.minCount, maxSize: settings.maxVocab })
    : null;
  const labels = labellingLabels(examples);
  if (labels.size < 2) throw singleLabel(path, labels.toJSON()[0]);
  const encode = (list: LabellingExample[], source: string): EncodedLabelling =>
    encodeLabelling(list, { ...(vocabulary ? { vocabulary } : {}), labels, lowercase: settings.lowercase, source });
  const train = encode(examples, path);
  const validation = held.length > 0 ? encode(held, heldSource) : null;
  if (validation && validation.input !== train.input) throw new UsageError(`${heldSource}: its inputs are ${validation.input}, the training data's are ${train.input}`);
  if (validation && validation.inputSize !== train.inputSize) throw new UsageError(`${heldSource}: ${validation.inputSize} features per step, the training data has ${train.inputSize}`);
  const bucketPool = settings.bucket ? 50 : undefined;
  return {
    spec: {
      task: "label", tokenizer: tokens ? { kind: "word", lowercase: settings.lowercase } : null,
      vocabulary: vocabulary ? vocabulary.toJSON() : null, labels: labels.toJSON(), inputSize: train.inputSize, series: null,
    },
    objective: "classes",
    outputSize: labels.size,
    lossAt: "every-step",
    trainBatches: (epoch) => labellingBatches(train, { batchSize: settings.batch, shuffle: epochRng(settings.seed, epoch), ...(bucketPool ? { bucketPool } : {}) }),
    tokensPerEpoch: train.sequences.reduce((n, s) => n + s.targets.length, 0),
    longestSequence: train.sequences.reduce((n, s) => Math.max(n, s.targets.length), 0),
    validationBatches: validation ? () => labellingBatches(validation, { batchSize: settings.batch }) : null,
  };
}

async function readSeries(path: string, features: string[], targets: string[]): Promise<Series> {
  return readSeriesCsv(readLines(path), { source: path, features, targets });
}

async function prepareRegression(settings: TrainSettings, path: string): Promise<PreparedData> {
  if (!settings.inputColumns || !settings.targetColumns) {
    throw new UsageError("--task regress needs --input-columns and --target-columns (CSV column names, comma-separated)");
  }
  let series = await readSeries(path, settings.inputColumns, settings.targetColumns);
  // One window needs window + horizon rows: checked here, before training, for every part.
  const needed = settings.window + settings.horizon;
  const tooShort = (what: string, rows: number): UsageError =>
    new UsageError(`${what} has ${rows} rows, too few for one window of --window ${settings.window} with --horizon ${settings.horizon} (needs ${needed})`);
  if (series.rows < needed) throw tooShort(path, series.rows);
  let validation: Series | null = null;
  if (settings.val) {
    validation = await readSeries(settings.val, settings.inputColumns, settings.targetColumns);
    if (validation.rows < needed) throw tooShort(`--val ${settings.val}`, validation.rows);
  } else if (settings.valFraction > 0 && series.rows >= 4 * needed && Math.floor(series.rows * settings.valFraction) >= needed) {
    // Held out only when the held part holds a window (else no validation, as for small data elsewhere).
    ({ train: series, validation } = splitSeries(series, settings.valFraction));
  }
  const window = { window: settings.window, horizon: settings.horizon };
  const train = series;
  return {
    spec: {
      task: "regress", tokenizer: null, vocabulary: null, labels: null, inputSize: settings.inputColumns.length,
      series: { features: settings.inputColumns, targets: settings.targetColumns, horizon: settings.horizon, window: settings.window },
    },
    objective: "regression",
    outputSize: settings.targetColumns.length,
    lossAt: "every-step",
    trainBatches: (epoch) => timeSeriesBatches(train, { ...window, batchSize: settings.batch, shuffle: epochRng(settings.seed, epoch) }),
    tokensPerEpoch: Math.max(0, train.rows - settings.horizon),
    longestSequence: settings.window,
    validationBatches: validation ? () => timeSeriesBatches(validation!, { ...window, batchSize: settings.batch }) : null,
  };
}

/**
 * A stream scored at every token but the first, whatever B: B strips of S + 1 tokens that overlap by
 * one (strip b reads x[b·S … b·S + S − 1] and predicts x[b·S + 1 … b·S + S], S = ⌊(N − 1) / B⌋), the
 * state carried through each strip as training's validation does, then the r = N − 1 − B·S targets
 * left, as one more strip of its own. (Training's batchify drops the tail; evaluation must not.)
 */
function* everyTokenBatches(stream: Int32Array, batchSize: number, bptt: number): Generator<Batch> {
  const targets = stream.length - 1;
  const B = Math.min(batchSize, targets);
  const S = Math.floor(targets / B);
  const data = new Int32Array((S + 1) * B);
  for (let b = 0; b < B; b++) for (let t = 0; t <= S; t++) data[t * B + b] = stream[b * S + t]!;
  yield* languageModelBatches({ data, L: S + 1, B }, { bptt });
  const tail = stream.subarray(B * S);
  if (tail.length >= 2) yield* languageModelBatches({ data: tail, L: tail.length, B: 1 }, { bptt });
}

/**
 * Batches of a new file read with a saved run's DataSpec (for `bptt eval`): the same tokenizer,
 * vocabulary, labels and columns. A label the run never saw is an error naming the line.
 */
export async function prepareEvaluation(spec: DataSpec, path: string, batchSize: number, bptt: number): Promise<Iterable<Batch>> {
  const vocabulary = spec.vocabulary ? Vocabulary.fromJSON(spec.vocabulary, "config.json vocabulary") : null;
  const labels = spec.labels ? LabelSet.fromJSON(spec.labels, "config.json labels") : null;
  const tokenizer = spec.tokenizer ? createTokenizer(spec.tokenizer) : null;
  switch (spec.task) {
    case "lm": {
      const stream = await collectStream(encodeLines(readLines(path), { tokenizer: tokenizer!, vocabulary: vocabulary! }));
      if (stream.length < 2) throw new UsageError(`${path}: too few tokens to evaluate`);
      return everyTokenBatches(stream, batchSize, bptt);
    }
    case "classify": {
      const encoded = encodeClassification(await readTextExamples(path), { tokenizer: tokenizer!, vocabulary: vocabulary!, labels: labels!, source: path });
      return textClassificationBatches(encoded, { batchSize });
    }
    case "label": {
      const encoded = encodeLabelling(await readLabellingExamples(path), {
        ...(vocabulary ? { vocabulary } : {}), labels: labels!, lowercase: spec.tokenizer?.lowercase ?? false, source: path,
      });
      if (encoded.inputSize !== spec.inputSize) throw new UsageError(`${path}: ${encoded.inputSize} features per step, the model reads ${spec.inputSize}`);
      return labellingBatches(encoded, { batchSize });
    }
    case "regress": {
      const s = spec.series!;
      return timeSeriesBatches(await readSeries(path, s.features, s.targets), { window: s.window, horizon: s.horizon, batchSize });
    }
  }
}
