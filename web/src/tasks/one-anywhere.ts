/**
 * One anywhere: a sequence of T tokens "0"/"1"; the answer is 1 when a 1 appears anywhere in it.
 * 1s fall only at steps [first, end), each with probability p, (1 − p)^(end − first) = 1/2, so half
 * the sequences hold none (the one-anywhere experiment, docs/experiments.md). Where the 1s may fall
 * against k2 decides what a truncated gradient can teach.
 *
 *   ids      "<pad>" 0, "<unk>" 1, "0" 2, "1" 3 (the CLI's vocabulary; a sequence is the text
 *            "0010…" read with the character tokenizer)
 *   labels   "0", "1"
 */
import { Rng } from "bptt";
import { PAD_TOKEN, UNK_TOKEN } from "../shared/run-config.js";
import type { OneAnywhereParams, PlaygroundSettings } from "../shared/settings.js";
import { type LabelledSequences, classificationJsonl, classifierSpec, sequenceBatches } from "./batches.js";
import type { Task } from "./task.js";

const VOCABULARY = [PAD_TOKEN, UNK_TOKEN, "0", "1"];
const ZERO = 2;
const ONE = 3;
const LABELS = ["0", "1"];
const HELD_OUT_SEQUENCES = 1024;

function oneAnywhereSet(rng: Rng, count: number, p: OneAnywhereParams): LabelledSequences {
  const probability = 1 - 0.5 ** (1 / (p.end - p.first));
  const sequences: Int32Array[] = [];
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const x = new Int32Array(p.length).fill(ZERO);
    for (let t = p.first; t < p.end; t++) if (rng.next() < probability) x[t] = ONE;
    sequences.push(x);
    labels[n] = x.includes(ONE) ? 1 : 0;
  }
  return { sequences, labels };
}

export function oneAnywhereTask(s: PlaygroundSettings): Task {
  const p = s.oneAnywhere;
  // Held out: 1s anywhere in the sequence, whatever the training set allows.
  const heldOut = oneAnywhereSet(new Rng(1_000_003 * s.seed + 29), HELD_OUT_SEQUENCES, {
    ...p,
    first: 0,
    end: p.length,
  });
  const labelEveryStep = s.loss === "every-step";
  return {
    shape: { vocabSize: VOCABULARY.length, outputSize: 2 },
    evaluationLossAt: "last-step",
    dataSpec: classifierSpec("char", VOCABULARY, LABELS),
    description:
      `${s.epochSize.toLocaleString("en-US")} fresh sequences of ${p.length} tokens per epoch, ` +
      `1s in steps ${p.first}–${p.end - 1}; held out: 1s anywhere`,
    epoch(epoch) {
      const rng = new Rng(s.seed * 100_003 + epoch);
      return sequenceBatches(oneAnywhereSet(rng, s.epochSize, p), {
        batchSize: s.batchSize,
        shuffle: rng,
        labelEveryStep,
      });
    },
    heldOut: () => sequenceBatches(heldOut, { batchSize: 256, labelEveryStep: false }),
    heldOutFile: () => ({
      name: "one-anywhere-held-out.jsonl",
      text: classificationJsonl(heldOut, VOCABULARY, LABELS, ""),
    }),
  };
}
