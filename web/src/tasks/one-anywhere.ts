/**
 * One anywhere: a sequence of T tokens "0"/"1"; the answer is 1 when a 1 appears anywhere in it.
 * 1s fall only at steps [first, end), each with probability p, (1 − p)^(end − first) = 1/2, so half
 * the sequences hold none: the library's oneAnywhereSequences (the one-anywhere experiment,
 * docs/experiments.md). Where the 1s may fall against k2 decides what a truncated gradient can teach.
 *
 *   ids      "<pad>" 0, "<unk>" 1, "0" 2, "1" 3 (the CLI's vocabulary; a sequence is the text
 *            "0010…" read with the character tokenizer)
 *   labels   "0", "1"
 */
import { PAD_TOKEN, Rng, UNK_TOKEN, Vocabulary, oneAnywhereSequences } from "bptt";
import type { OneAnywhereParams, PlaygroundSettings } from "../shared/settings.js";
import { type LabelledSequences, classificationJsonl, classifierSpec, sequenceBatches } from "./classifier.js";
import type { Task } from "./task.js";

const VOCABULARY = Vocabulary.fromJSON([PAD_TOKEN, UNK_TOKEN, "0", "1"], "the one-anywhere vocabulary");
const SPEC = classifierSpec("char", VOCABULARY.toJSON(), ["0", "1"]);
const HELD_OUT_SEQUENCES = 1024;

/** The generator's sequences of 0s and 1s, as ids of the tokens "0" and "1". */
function oneAnywhereSet(rng: Rng, count: number, p: OneAnywhereParams): LabelledSequences {
  const { sequences, labels } = oneAnywhereSequences(rng, { count, length: p.length, first: p.first, end: p.end });
  return { sequences: sequences.map((x) => VOCABULARY.encode(Array.from(x, String))), labels };
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
    shape: { vocabSize: VOCABULARY.size, outputSize: 2 },
    evaluationLossAt: "last-step",
    dataSpec: SPEC,
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
    heldOutFile: () => ({ name: "one-anywhere-held-out.jsonl", text: classificationJsonl(heldOut, SPEC, "") }),
  };
}
