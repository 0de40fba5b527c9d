/**
 * Framewise labelling of a noisy signal, with a delay that makes the label depend on the past:
 *
 *   classes    K prototypes p_k ∈ R^I, entries N(0, 1), fixed by the seed
 *   sequence   a chain of segments, each class k held for 2–6 frames, the next class uniform among
 *              the others; frame x_t = p_{k(t)} + σ·ε_t, ε_t ~ N(0, I_I)
 *   label      y_t = k(t − delay) for t ≥ delay (no loss before): to answer at t the model must carry
 *              what it saw `delay` frames ago, so an error at t has to travel `delay` steps back
 *
 * Every frame with a label carries a loss (lossAt "every-step"), batched as `bptt train --task label`
 * batches feature inputs (labellingBatches). As a run directory: task "label", feature input
 * (inputSize I), labels "c0" … "c{K−1}".
 */
import { type EncodedLabelling, IGNORE_INDEX, Rng, labellingBatches } from "bptt";
import type { FramewiseParams, PlaygroundSettings } from "../shared/settings.js";
import type { Task } from "./task.js";

const HELD_OUT_SEQUENCES = 128;
const MIN_HOLD = 2;
const MAX_HOLD = 6;

/** `count` sequences of frames (T·I features each) with their labels (T, IGNORE_INDEX before the delay). */
function framesSet(rng: Rng, prototypes: Float32Array, count: number, p: FramewiseParams): EncodedLabelling {
  const { frames: T, features: I, classes: K } = p;
  const out: EncodedLabelling = { input: "features", inputSize: I, sequences: [] };
  const noise = new Float32Array(I);
  for (let n = 0; n < count; n++) {
    const x = new Float32Array(T * I);
    const classes = new Int32Array(T);
    let k = rng.int(K);
    let left = MIN_HOLD + rng.int(MAX_HOLD - MIN_HOLD + 1);
    for (let t = 0; t < T; t++) {
      if (left === 0) {
        k = (k + 1 + rng.int(K - 1)) % K; // another class, uniformly
        left = MIN_HOLD + rng.int(MAX_HOLD - MIN_HOLD + 1);
      }
      left--;
      classes[t] = k;
      rng.fillNormal(noise, 0, p.noise);
      for (let i = 0; i < I; i++) x[t * I + i] = prototypes[k * I + i]! + noise[i]!;
    }
    const y = new Int32Array(T).fill(IGNORE_INDEX);
    for (let t = p.delay; t < T; t++) y[t] = classes[t - p.delay]!;
    out.sequences.push({ features: x, targets: y });
  }
  return out;
}

export function framewiseTask(s: PlaygroundSettings): Task {
  const p = s.framewise;
  const labels = Array.from({ length: p.classes }, (_, k) => `c${k}`);
  const prototypes = new Rng(2005 + s.seed).fillNormal(new Float32Array(p.classes * p.features));
  const heldOut = framesSet(new Rng(1_000_003 * s.seed + 31), prototypes, HELD_OUT_SEQUENCES, p);
  return {
    shape: { inputSize: p.features, outputSize: p.classes },
    evaluationLossAt: "every-step",
    dataSpec: { task: "label", tokenizer: null, vocabulary: null, labels, inputSize: p.features, series: null },
    description:
      `${s.epochSize.toLocaleString("en-US")} fresh sequences of ${p.frames} frames per epoch, ${p.classes} classes, ` +
      `noise σ = ${p.noise}, label delayed ${p.delay} frames`,
    epoch(epoch) {
      const rng = new Rng(s.seed * 100_003 + epoch);
      return labellingBatches(framesSet(rng, prototypes, s.epochSize, p), { batchSize: s.batchSize, shuffle: rng });
    },
    heldOut: () => labellingBatches(heldOut, { batchSize: 128 }),
    heldOutFile: () => ({
      name: "framewise-held-out.jsonl",
      text:
        heldOut.sequences
          .map(({ features, targets }) =>
            JSON.stringify({
              inputs: Array.from({ length: p.frames }, (_, t) =>
                Array.from(features!.subarray(t * p.features, (t + 1) * p.features)),
              ),
              labels: Array.from(targets, (y) => (y === IGNORE_INDEX ? null : labels[y])),
            }),
          )
          .join("\n") + "\n",
    }),
  };
}
