/**
 * The loss of the model's head outputs at the steps that carry one, for each objective.
 *
 *   classes     softmax cross-entropy, targets: class ids (N)
 *   binary      sigmoid binary cross-entropy, targets: 0/1 (N)
 *   regression  squared error summed over the O outputs, targets: (N, O)
 *
 * `lossAndGradient` returns Σ ℓ over the N rows and writes dLogits = scale · ∂(Σ ℓ)/∂logits, so the
 * trainer chooses the normalisation (see `lossScale` in trainer.ts) and every term weighs the same.
 */
import { binaryCrossEntropyWithLogitsBackward } from "../losses/binary-cross-entropy.js";
import { mseBackward } from "../losses/mse.js";
import { softmaxCrossEntropyWithHits } from "../losses/softmax-cross-entropy.js";
import type { Objective } from "./model.js";

export interface ObjectiveResult {
  /** Σ ℓ over the rows (regression: summed over the O outputs too). */
  sum: number;
  /** Correctly predicted rows (classes and binary), for accuracy. */
  correct: number;
}

export function lossAndGradient(
  objective: Objective, N: number, O: number, logits: Float32Array,
  targets: Int32Array | Float32Array, dLogits: Float32Array, scale: number,
): ObjectiveResult {
  if (objective === "classes") {
    // The kernel counts the argmax hits in the same pass over the logits.
    const { value, hits } = softmaxCrossEntropyWithHits({ logits, targets: targets as Int32Array, N, C: O }, { reduction: "sum" }, dLogits, scale);
    return { sum: value.sum, correct: hits };
  }
  if (objective === "binary") {
    const t = targets as Float32Array;
    const { sum } = binaryCrossEntropyWithLogitsBackward({ logits, targets: t, N }, { reduction: "sum" }, dLogits, scale);
    let correct = 0;
    for (let r = 0; r < N; r++) if ((logits[r]! > 0 ? 1 : 0) === t[r]) correct++;
    return { sum, correct };
  }
  const { sum } = mseBackward({ predictions: logits, targets: targets as Float32Array, N, K: O }, { reduction: "sum" }, dLogits, scale);
  return { sum, correct: 0 };
}

/** Rows whose largest logit is the target class (the first maximum wins ties). */
export function countArgmaxHits(logits: Float32Array, targets: Int32Array, N: number, C: number): number {
  let hits = 0;
  for (let r = 0; r < N; r++) if (argmax(logits, r * C, C) === targets[r]) hits++;
  return hits;
}

export function argmax(values: Float32Array, offset: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (values[offset + j]! > values[offset + best]!) best = j;
  return best;
}
