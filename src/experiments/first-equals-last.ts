/**
 * "Is the last symbol equal to the first?", a task whose rule is the same whatever the length: keep
 * the first symbol, ignore the middle, compare at the end. A model that applies one rule at every
 * step (shared weights) can run, and may generalise, at any length.
 *
 *   features: (T, B, K) one-hot symbols, x_t = e_{s_t},  s_t ~ U{0 … K−1} for 0 < t < T − 1
 *   s_{T−1} = s_0 with probability ½ (label 1), else another symbol uniformly (label 0)
 *   sequenceTargets: (B) the label, read at the last step (lossAt "last-step"); chance 50%
 */
import type { Rng } from "../tensor/rng.js";
import type { Batch } from "../train/batch.js";

export interface FirstEqualsLastOptions {
  /** K: distinct symbols (≥ 2). */
  symbols: number;
  /** T ≥ 2 steps per sequence. */
  length: number;
  batchSize: number;
}

export function firstEqualsLastBatch(rng: Rng, options: FirstEqualsLastOptions): Batch {
  const { symbols: K, length: T, batchSize: B } = options;
  for (const [name, v, min] of [["symbols", K, 2], ["length", T, 2], ["batchSize", B, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`first-equals-last: ${name} must be an integer ≥ ${min}, got ${v}`);
  }
  const features = new Float32Array(T * B * K);
  const sequenceTargets = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const first = rng.int(K);
    const label = rng.int(2);
    sequenceTargets[b] = label;
    for (let t = 0; t < T; t++) {
      let s: number;
      if (t === 0) s = first;
      else if (t < T - 1) s = rng.int(K);
      // Another symbol than the first: one of the K − 1 others, uniformly.
      else s = label === 1 ? first : (first + 1 + rng.int(K - 1)) % K;
      features[(t * B + b) * K + s] = 1;
    }
  }
  return { T, B, features, sequenceTargets };
}
