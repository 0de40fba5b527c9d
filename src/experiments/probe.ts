/**
 * What a trained many-to-one classifier answers for given sequences: each sequence is read from the
 * zero state to its end (batch size 1, no padding), and the class probabilities at its last step,
 * softmax(logits), are returned. The experiments use it to ask how the answer depends on where the
 * deciding input sits.
 */
import { softmax } from "../inference/sampling.js";
import { Stepper } from "../inference/stepper.js";
import type { SequenceModel } from "../train/model.js";

/** P(class | sequence) at its last step: (N, O) row-major, float64. */
export function lastStepProbabilities(model: SequenceModel, sequences: readonly Int32Array[]): Float64Array {
  if (model.config.objective !== "classes") throw new RangeError(`lastStepProbabilities reads a "classes" model, got ${model.config.objective}`);
  const O = model.outputSize;
  const stepper = new Stepper(model);
  const out = new Float64Array(sequences.length * O);
  sequences.forEach((ids, n) => {
    stepper.reset();
    softmax(stepper.feed(ids, false), 0, O, out.subarray(n * O, (n + 1) * O));
  });
  return out;
}

/** For each sequence, P(its label) and whether the label is the most probable class. */
export function labelProbabilities(model: SequenceModel, sequences: readonly Int32Array[], labels: Int32Array): { pLabel: number[]; correct: boolean[] } {
  const O = model.outputSize;
  const p = lastStepProbabilities(model, sequences);
  const pLabel: number[] = [];
  const correct: boolean[] = [];
  for (let n = 0; n < sequences.length; n++) {
    const row = p.subarray(n * O, (n + 1) * O);
    const label = labels[n]!;
    pLabel.push(row[label]!);
    let best = 0;
    for (let j = 1; j < O; j++) if (row[j]! > row[best]!) best = j;
    correct.push(best === label);
  }
  return { pLabel, correct };
}
