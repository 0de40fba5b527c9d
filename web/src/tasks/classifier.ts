/**
 * What the two generated classification tasks (sentiment, one anywhere) share: their batches, the
 * held-out file `bptt eval` reads, and config.json's "data".
 *
 * With the loss at the end, batches come from the library's classificationBatches (sequenceTargets,
 * one label per row). With the loss at every step, each sequence is labelled at every step with its
 * own label and batched by labellingBatches (stepTargets, IGNORE_INDEX at padding): the classifier is
 * asked for its answer at every word. Both draw the same order from `shuffle`.
 */
import { type Batch, type DataSpec, type Rng, classificationBatches, labellingBatches } from "bptt";

export interface LabelledSequences {
  /** Token ids per sequence, in the model's vocabulary. */
  sequences: Int32Array[];
  labels: Int32Array;
}

/** Whole sequences, right-padded: the label once per row, or with `labelEveryStep` at every step. */
export function sequenceBatches(
  data: LabelledSequences,
  options: { batchSize: number; shuffle?: Rng; labelEveryStep: boolean },
): Iterable<Batch> {
  const order = { batchSize: options.batchSize, ...(options.shuffle ? { shuffle: options.shuffle } : {}) };
  if (!options.labelEveryStep) return classificationBatches(data.sequences, data.labels, order);
  const sequences = data.sequences.map((ids, n) => ({
    ids,
    targets: new Int32Array(ids.length).fill(data.labels[n]!),
  }));
  return labellingBatches({ input: "tokens", inputSize: 0, sequences }, order);
}

/** JSONL lines {"text", "label"} for `bptt eval --data` (tokens joined by `separator`). */
export function classificationJsonl(data: LabelledSequences, spec: DataSpec, separator: string): string {
  const { vocabulary, labels } = spec;
  const lines = data.sequences.map((ids, n) =>
    JSON.stringify({ text: Array.from(ids, (id) => vocabulary![id]).join(separator), label: labels![data.labels[n]!] }),
  );
  return `${lines.join("\n")}\n`;
}

/** config.json's "data" for a text classifier: what `bptt eval` needs to read its JSONL the same way. */
export function classifierSpec(tokenizer: "char" | "word", vocabulary: string[], labels: string[]): DataSpec {
  return {
    task: "classify",
    tokenizer: { kind: tokenizer, lowercase: false },
    vocabulary,
    labels,
    inputSize: 0,
    series: null,
  };
}
