/**
 * Long-text sentiment: the opening ("i love this …" / "i hate this …") decides the label, every other
 * word is filler both classes share (the library's sentimentTexts). The page sets the text length and
 * where the opening is: at the start, or `openingDistance` words before the end (filler first).
 *
 *   text      filler_1 … filler_{L−d}  opening … filler   (L words, the opening's first word d words
 *             from the end, counting the last word: d = L when the opening starts the text)
 *   label     1 "positive" (love), 0 "negative" (hate)
 *   ids       the CLI's vocabulary: "<pad>" 0, "<unk>" 1, then the generator's words (its id + 1),
 *             so a downloaded model is read by `bptt eval` with the word tokenizer
 *
 * Training batches hold texts of one length (drawn per batch: no padding). The probe runs the model
 * over texts with the opening d words from the end for a range of d and records the mean probability
 * of the correct label at the last word: texts of d words when training puts the opening first (as the
 * long-text-sentiment experiment does), else training-length texts.
 */
import { PAD_TOKEN, Rng, type SequenceModel, Stepper, UNK_TOKEN, sentimentTexts, softmax } from "bptt";
import type { PlaygroundSettings, SentimentParams } from "../shared/settings.js";
import { type LabelledSequences, classificationJsonl, classifierSpec, sequenceBatches } from "./classifier.js";
import type { ProbePoint, Task } from "./task.js";

/** The CLI vocabulary: the specials, then the generator's words after its own "<pad>". */
const VOCABULARY = [PAD_TOKEN, UNK_TOKEN, ...sentimentTexts(new Rng(0), { count: 1, length: 4 }).vocabulary.slice(1)];
const SPEC = classifierSpec("word", VOCABULARY, ["negative", "positive"]);
const HELD_OUT_TEXTS = 256;
const PROBE_TEXTS = 32;

/** Filler word ids (CLI vocabulary): the words seen after the opening, which is at most 4 words. */
const FILLER: readonly number[] = (() => {
  const seen = new Set<number>();
  for (const text of sentimentTexts(new Rng(0), { count: 500, length: 40 }).texts) {
    for (let t = 4; t < text.length; t++) seen.add(text[t]! + 1);
  }
  return [...seen].sort((a, b) => a - b);
})();

/** One text of `length` words whose opening starts `distance` words before the end (distance ≤ length). */
function sentimentText(rng: Rng, length: number, distance: number): { ids: Int32Array; label: number } {
  const tail = sentimentTexts(rng, { count: 1, length: distance });
  const ids = new Int32Array(length);
  for (let t = 0; t < length - distance; t++) ids[t] = FILLER[rng.int(FILLER.length)]!;
  tail.texts[0]!.forEach((id, t) => (ids[length - distance + t] = id + 1));
  return { ids, label: tail.labels[0]! };
}

/**
 * `count` texts; each run of `sameLength` consecutive texts shares one length, so that a training
 * batch has no padding and the gradient-flow plot's lags count from every row's own last word.
 */
function sentimentSet(rng: Rng, count: number, p: SentimentParams, sameLength: number): LabelledSequences {
  const sequences: Int32Array[] = [];
  const labels = new Int32Array(count);
  let length = 0;
  for (let n = 0; n < count; n++) {
    if (n % sameLength === 0) length = p.minLength + rng.int(p.maxLength - p.minLength + 1);
    const text = sentimentText(rng, length, p.openingDistance ?? length);
    sequences.push(text.ids);
    labels[n] = text.label;
  }
  return { sequences, labels };
}

/** Distances probed: a spread from 5 words to past the longest training text. */
export function probeDistances(p: SentimentParams): number[] {
  const top = Math.max(150, Math.ceil((p.maxLength * 1.4) / 10) * 10);
  const grid = [5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100, 120, 140, 160, 180, 200, 250, 300, 400, 500];
  return grid.filter((d) => d <= top);
}

export function sentimentTask(s: PlaygroundSettings): Task {
  const p = s.sentiment;
  const heldOut = sentimentSet(new Rng(1_000_003 * s.seed + 17), HELD_OUT_TEXTS, p, 1);
  const labelEveryStep = s.loss === "every-step";
  const where = p.openingDistance === null ? "at the start" : `${p.openingDistance} words before the end`;
  return {
    shape: { vocabSize: VOCABULARY.length, outputSize: 2 },
    evaluationLossAt: "last-step",
    dataSpec: SPEC,
    description:
      `${s.epochSize.toLocaleString("en-US")} fresh texts of ${p.minLength}–${p.maxLength} words per epoch, ` +
      `the opening ${where}`,
    epoch(epoch) {
      const rng = new Rng(s.seed * 100_003 + epoch);
      // Fresh texts in a random order already: batches of one length each, not shuffled.
      return sequenceBatches(sentimentSet(rng, s.epochSize, p, s.batchSize), {
        batchSize: s.batchSize,
        labelEveryStep,
      });
    },
    heldOut: () => sequenceBatches(heldOut, { batchSize: 128, labelEveryStep: false }),
    heldOutFile: () => ({ name: "sentiment-held-out.jsonl", text: classificationJsonl(heldOut, SPEC, " ") }),
    probe: (model) => probeSentiment(model, p, s.seed),
  };
}

/** Mean P(correct) and accuracy at the last word, for texts whose opening is d words from the end. */
function probeSentiment(model: SequenceModel, p: SentimentParams, seed: number): ProbePoint[] {
  const stepper = new Stepper(model);
  const rng = new Rng(7_919 * seed + 3);
  const probabilities = new Float64Array(2);
  return probeDistances(p).map((distance) => {
    let pSum = 0;
    let correct = 0;
    for (let n = 0; n < PROBE_TEXTS; n++) {
      const length = p.openingDistance === null ? distance : Math.max(distance, p.minLength);
      const { ids, label } = sentimentText(rng, length, distance);
      stepper.reset();
      softmax(stepper.feed(ids, false), 0, 2, probabilities);
      pSum += probabilities[label]!;
      if (probabilities[label]! > 0.5) correct++;
    }
    return { distance, pCorrect: pSum / PROBE_TEXTS, accuracy: correct / PROBE_TEXTS };
  });
}
