/**
 * Text classification data: labelled texts → token-id sequences with class ids → batches of whole
 * sequences (right-padded, masked, one sequenceTarget per row) for a many-to-one model trained with
 * lossAt "last-step".
 *
 *   parse (parse/jsonl.ts, parse/csv.ts) → TextExample[] → LabelSet, Vocabulary (from the training set)
 *   → encodeClassification → textClassificationBatches (optionally bucketed by length, shuffled)
 *
 * Class ids come from a LabelSet: the distinct labels of the training set, sorted (numerically when
 * every label is an integer such as "0", "1", "10"; otherwise by UTF-16 code units, whatever the
 * locale), saved with the model so evaluation and prediction use the same ids. A label the training
 * set did not have is an error naming the file and line.
 */
import type { Batch } from "../train/batch.js";
import type { Rng } from "../tensor/rng.js";
import { classificationBatches } from "./batching.js";
import type { Tokenizer } from "./tokenizer.js";
import { PAD_ID, type Vocabulary } from "./vocabulary.js";

/** One labelled text, as the parsers produce it; `line` is where it was read (1-based). */
export interface TextExample {
  text: string;
  label: string;
  line: number;
}

const INTEGER = /^-?\d+$/;

/** Class label ↔ class id. */
export class LabelSet {
  private readonly labels: readonly string[];
  private readonly ids: ReadonlyMap<string, number>;

  private constructor(labels: readonly string[]) {
    this.labels = Object.freeze([...labels]);
    this.ids = new Map(labels.map((label, id) => [label, id]));
  }

  /** The distinct labels, sorted (see the file header). */
  static fromLabels(labels: Iterable<string>): LabelSet {
    const distinct = [...new Set(labels)];
    if (distinct.length === 0) throw new RangeError("a label set needs at least one label");
    const numeric = distinct.every((label) => INTEGER.test(label));
    distinct.sort((a, b) => (numeric && Number(a) !== Number(b) ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
    return new LabelSet(distinct);
  }

  /** Loads a saved label set (`toJSON`'s array, whose order defines the ids); `source` names the file in every error. */
  static fromJSON(data: unknown, source: string): LabelSet {
    if (!Array.isArray(data) || data.length === 0) {
      throw new RangeError(`${source}: labels must be a non-empty array of strings, got ${Array.isArray(data) ? "an empty array" : data === null ? "null" : typeof data}`);
    }
    const seen = new Map<string, number>();
    for (let id = 0; id < data.length; id++) {
      const label: unknown = data[id];
      if (typeof label !== "string" || label === "") throw new RangeError(`${source}: labels[${id}] must be a non-empty string, got ${JSON.stringify(label) ?? typeof label}`);
      if (seen.has(label)) throw new RangeError(`${source}: labels[${id}] ${JSON.stringify(label)} repeats labels[${seen.get(label)}]`);
      seen.set(label, id);
    }
    return new LabelSet(data as string[]);
  }

  toJSON(): string[] {
    return [...this.labels];
  }

  /** The number of classes (the model's outputSize). */
  get size(): number {
    return this.labels.length;
  }

  has(label: string): boolean {
    return this.ids.has(label);
  }

  /** The class id of a label; `at` ("data.jsonl:17") starts the error when the label is unknown. */
  id(label: string, at = "labels"): number {
    const id = this.ids.get(label);
    if (id === undefined) {
      const known = this.labels.length > 20 ? `${this.labels.slice(0, 20).join(", ")}, …` : this.labels.join(", ");
      throw new RangeError(`${at}: label ${JSON.stringify(label)} did not occur in the training data (labels: ${known})`);
    }
    return id;
  }

  label(id: number): string {
    const label = Number.isInteger(id) ? this.labels[id] : undefined;
    if (label === undefined) throw new RangeError(`class id ${id} is outside [0, ${this.labels.length})`);
    return label;
  }
}

export interface EncodeTextOptions {
  tokenizer: Tokenizer;
  vocabulary: Vocabulary;
  labels: LabelSet;
  /** The file the examples came from, for errors ("data.jsonl:17: …"). */
  source: string;
}

/** Texts as token ids with their class ids. */
export interface EncodedTexts {
  texts: Int32Array[];
  labels: Int32Array;
  /** The line each example was read from. */
  lines: Int32Array;
}

/** Tokenizes and encodes every example; a text with no token or an unknown label is an error naming its line. */
export function encodeClassification(examples: readonly TextExample[], options: EncodeTextOptions): EncodedTexts {
  const { tokenizer, vocabulary, labels, source } = options;
  const N = examples.length;
  const out: EncodedTexts = { texts: new Array<Int32Array>(N), labels: new Int32Array(N), lines: new Int32Array(N) };
  examples.forEach((example, n) => {
    const at = `${source}:${example.line}`;
    const tokens = tokenizer.tokenize(example.text);
    if (tokens.length === 0) throw new RangeError(`${at}: the text has no tokens`);
    out.texts[n] = vocabulary.encode(tokens);
    out.labels[n] = labels.id(example.label, at);
    out.lines[n] = example.line;
  });
  return out;
}

export interface BatchOrderOptions {
  /** B: rows per batch (the last batch may be smaller). */
  batchSize: number;
  /** Shuffle with this generator (examples first; with bucketing, the batches too). Default: keep the order. */
  shuffle?: Rng | null;
  /**
   * Bucketing: sort each window of bucketPool · B consecutive examples (after shuffling) by length
   * before cutting it into batches, so a batch holds similar lengths and little padding; then shuffle
   * the batches. Default: no bucketing.
   */
  bucketPool?: number;
}

/** Which examples go into each batch: every index in [0, N) exactly once. */
export function batchOrder(lengths: ArrayLike<number>, options: BatchOrderOptions): number[][] {
  const { batchSize, bucketPool } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (bucketPool !== undefined && (!Number.isInteger(bucketPool) || bucketPool < 1)) {
    throw new RangeError(`bucketPool must be a positive integer (windows of bucketPool × batchSize examples), got ${bucketPool}`);
  }
  const order = Array.from({ length: lengths.length }, (_, i) => i);
  options.shuffle?.shuffle(order);
  const pool = bucketPool === undefined ? order.length : bucketPool * batchSize;
  const batches: number[][] = [];
  for (let first = 0; first < order.length; first += pool) {
    const window = order.slice(first, first + pool);
    // A stable sort: equal lengths keep the (shuffled) order.
    if (bucketPool !== undefined) window.sort((a, b) => lengths[a]! - lengths[b]!);
    for (let i = 0; i < window.length; i += batchSize) batches.push(window.slice(i, i + batchSize));
  }
  if (bucketPool !== undefined) options.shuffle?.shuffle(batches);
  return batches;
}

export interface TextBatchOptions extends BatchOrderOptions {
  /** Id written at padded steps (masked out). Default PAD_ID (0). */
  padId?: number;
}

/** Batches of whole texts: ids (T·B, right-padded), mask, sequenceTargets (B), T = the longest text in the batch. */
export function* textClassificationBatches(data: EncodedTexts, options: TextBatchOptions): Generator<Batch> {
  const lengths = data.texts.map((text) => text.length);
  for (const rows of batchOrder(lengths, options)) {
    const texts = rows.map((i) => data.texts[i]!);
    const labels = Int32Array.from(rows, (i) => data.labels[i]!);
    yield* classificationBatches(texts, labels, { batchSize: rows.length, padId: options.padId ?? PAD_ID });
  }
}

/**
 * A random split: round(fraction · N) items (at least 1 when fraction > 0, and never all) go to
 * validation. Each part keeps the items' original order. The same generator state gives the same split.
 */
export function splitValidation<T>(items: readonly T[], fraction: number, rng: Rng): { train: T[]; validation: T[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`the validation fraction must be in [0, 1), got ${fraction}`);
  const N = items.length;
  if (fraction === 0) return { train: [...items], validation: [] };
  if (N < 2) throw new RangeError(`cannot hold out a validation set from ${N} example${N === 1 ? "" : "s"}: need at least 2`);
  const count = Math.min(N - 1, Math.max(1, Math.round(fraction * N)));
  const order = rng.shuffle(Array.from({ length: N }, (_, i) => i));
  const held = new Uint8Array(N);
  for (let k = 0; k < count; k++) held[order[k]!] = 1;
  const train: T[] = [];
  const validation: T[] = [];
  items.forEach((item, i) => (held[i] ? validation : train).push(item));
  return { train, validation };
}
