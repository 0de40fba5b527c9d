/**
 * Batches of the generated classification tasks, and the labelled file `bptt eval` reads.
 *
 * Many-to-one batches come from the library's classificationBatches (sequenceTargets, one label per
 * row). With the loss at every step, each real step also gets the row's label as its step target
 * (padding gets IGNORE_INDEX): the classifier is asked for its answer at every word.
 */
import { type Batch, IGNORE_INDEX, type Rng, classificationBatches } from "bptt";
import type { DataSpec } from "../shared/run-config.js";

export interface LabelledSequences {
  /** Token ids per sequence, in the model's vocabulary. */
  sequences: Int32Array[];
  labels: Int32Array;
}

/** Whole sequences, right-padded; with `labelEveryStep`, also stepTargets = the row's label. */
export function* sequenceBatches(
  data: LabelledSequences,
  options: { batchSize: number; shuffle?: Rng; labelEveryStep: boolean },
): Generator<Batch> {
  const order = options.shuffle ? { shuffle: options.shuffle } : {};
  for (const batch of classificationBatches(data.sequences, data.labels, { batchSize: options.batchSize, ...order })) {
    if (!options.labelEveryStep) {
      yield batch;
      continue;
    }
    const { T, B, mask, sequenceTargets } = batch;
    const stepTargets = new Int32Array(T * B);
    for (let i = 0; i < T * B; i++) stepTargets[i] = mask![i] === 1 ? sequenceTargets![i % B]! : IGNORE_INDEX;
    yield { ...batch, stepTargets };
  }
}

/** JSONL lines {"text", "label"} for `bptt eval --data` (tokens joined by `separator`). */
export function classificationJsonl(
  data: LabelledSequences,
  vocabulary: readonly string[],
  labels: readonly string[],
  separator: string,
): string {
  return (
    data.sequences
      .map((ids, n) =>
        JSON.stringify({
          text: Array.from(ids, (id) => vocabulary[id]).join(separator),
          label: labels[data.labels[n]!],
        }),
      )
      .join("\n") + "\n"
  );
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
