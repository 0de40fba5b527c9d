/**
 * Delayed recall, a long-lag task: a symbol s is shown at step 0, then `delay` distractor tokens;
 * at the last step (t = delay) the model must name s. Only the first step decides the label, so the
 * gradient that teaches it has to travel back exactly `delay` steps.
 *
 *   ids: (T, B), T = delay + 1     ids[0, b] = 1 + s_b,  s_b ~ U{0 … symbols−1}
 *                                  ids[t, b] ~ U{1 + symbols … symbols + distractors}, t ≥ 1
 *   sequenceTargets: (B) = s_b     (classes, read at the last step: lossAt "last-step")
 *
 * Id 0 is unused (padding). Chance accuracy is 1/symbols.
 */
import type { Rng } from "../tensor/rng.js";
import type { Batch } from "../train/batch.js";

export interface DelayedRecallOptions {
  /** Symbols to remember (classes). */
  symbols: number;
  /** Distinct distractor tokens. */
  distractors: number;
  /** Steps between the symbol and the answer. */
  delay: number;
  batchSize: number;
}

/** Token ids the task uses: 0 (padding) … symbols + distractors. */
export function delayedRecallVocabulary(options: Pick<DelayedRecallOptions, "symbols" | "distractors">): number {
  return 1 + options.symbols + options.distractors;
}

/** A fresh batch of B sequences of delay + 1 steps. */
export function delayedRecallBatch(rng: Rng, options: DelayedRecallOptions): Batch {
  const { symbols, distractors, delay, batchSize: B } = options;
  for (const [name, v, min] of [["symbols", symbols, 2], ["distractors", distractors, 1], ["delay", delay, 0], ["batchSize", B, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`delayed recall: ${name} must be an integer ≥ ${min}, got ${v}`);
  }
  const T = delay + 1;
  const ids = new Int32Array(T * B);
  const sequenceTargets = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const s = rng.int(symbols);
    sequenceTargets[b] = s;
    ids[b] = 1 + s;
    for (let t = 1; t < T; t++) ids[t * B + b] = 1 + symbols + rng.int(distractors);
  }
  return { T, B, ids, sequenceTargets };
}
