/**
 * Batches of whole sequences: B sequences of (possibly) different lengths, right-padded to the
 * longest, time-major, with a mask. The isomorphic core of the dataset loaders.
 */
import type { Batch } from "../train/batch.js";
import type { Rng } from "../tensor/rng.js";

export interface SequenceBatchOptions {
  batchSize: number;
  /** Shuffle the order of the sequences (with this generator) before batching. */
  shuffle?: Rng | null;
  /** Id written at padded steps (it is masked out). Default 0. */
  padId?: number;
}

/**
 * Many-to-one batches: token sequences with one class label each (sequenceTargets).
 * Yields ⌈N / batchSize⌉ batches; the last may be smaller.
 */
export function* classificationBatches(
  texts: readonly Int32Array[], labels: Int32Array, options: SequenceBatchOptions,
): Generator<Batch> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (texts.length !== labels.length) throw new RangeError(`texts (${texts.length}) and labels (${labels.length}) differ in number`);
  const order = Array.from({ length: texts.length }, (_, i) => i);
  options.shuffle?.shuffle(order);
  for (let first = 0; first < order.length; first += batchSize) {
    const rows = order.slice(first, first + batchSize);
    const B = rows.length;
    const T = Math.max(...rows.map((i) => texts[i]!.length));
    const ids = new Int32Array(T * B).fill(options.padId ?? 0);
    const mask = new Float32Array(T * B);
    const sequenceTargets = new Int32Array(B);
    rows.forEach((i, b) => {
      const text = texts[i]!;
      if (text.length === 0) throw new RangeError(`sequence ${i} is empty`);
      for (let t = 0; t < text.length; t++) {
        ids[t * B + b] = text[t]!;
        mask[t * B + b] = 1;
      }
      sequenceTargets[b] = labels[i]!;
    });
    yield { T, B, ids, mask, sequenceTargets };
  }
}
