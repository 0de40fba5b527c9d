/**
 * The "one anywhere" task: a sequence of 0/1 tokens; the answer is 1 when a 1 appears anywhere in
 * it, else 0. Only a model that remembers a 1 from wherever it came until the last step can answer,
 * so where the 1s may fall in the training set decides what a truncated gradient can teach.
 *
 *   sequence   x_0 … x_{T−1} ∈ {0, 1}: x_t = 1 with probability p for t in [first, end), 0 elsewhere
 *   label      1 if some x_t = 1, else 0
 *   p          chosen so that half the sequences hold no 1: (1 − p)^(end − first) = 1/2
 *
 * Used by the one-anywhere experiment (src/experiments/one-anywhere.ts).
 */
import type { Rng } from "../../tensor/rng.js";

export interface OneAnywhereOptions {
  /** Number of sequences. */
  count: number;
  /** T: tokens per sequence. */
  length: number;
  /** 1s fall only at steps [first, end) (default: the whole sequence, [0, length)). */
  first?: number;
  end?: number;
}

export interface OneAnywhereSet {
  /** Each sequence as token ids 0 and 1. */
  sequences: Int32Array[];
  /** 1 when the sequence holds a 1. */
  labels: Int32Array;
}

/** `count` sequences of 0/1 tokens and their labels (see the file header); deterministic for a generator state. */
export function oneAnywhereSequences(rng: Rng, options: OneAnywhereOptions): OneAnywhereSet {
  const { count, length } = options;
  const first = options.first ?? 0;
  const end = options.end ?? length;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`length must be a positive integer, got ${length}`);
  if (!Number.isInteger(first) || !Number.isInteger(end) || first < 0 || end > length || first >= end) {
    throw new RangeError(`the steps where 1s may fall, [first, end) = [${first}, ${end}), must be a non-empty range inside [0, ${length})`);
  }
  const p = 1 - 0.5 ** (1 / (end - first));
  const sequences: Int32Array[] = [];
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const x = new Int32Array(length);
    for (let t = first; t < end; t++) x[t] = rng.next() < p ? 1 : 0;
    sequences.push(x);
    labels[n] = x.includes(1) ? 1 : 0;
  }
  return { sequences, labels };
}

/** The sequence of `length` tokens with a single 1 at `position` (label 1), or all 0s for position null (label 0). */
export function singleOne(length: number, position: number | null): Int32Array {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`length must be a positive integer, got ${length}`);
  if (position !== null && !(Number.isInteger(position) && position >= 0 && position < length)) {
    throw new RangeError(`position must be an integer in [0, ${length}) or null, got ${position}`);
  }
  const x = new Int32Array(length);
  if (position !== null) x[position] = 1;
  return x;
}
