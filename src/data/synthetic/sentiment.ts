/**
 * A synthetic long-text sentiment task, generated on the fly: the label is decided only by the
 * opening ("i love this …" vs "i hate this …"), and everything after it is neutral filler drawn from
 * a vocabulary both classes share. To classify a text from its last step, a model must carry the
 * opening across the whole text — exactly what truncating the gradient makes hard.
 *
 * Used by `bptt train` with no data (the demo) and by the long-text-sentiment experiment.
 */
import type { Rng } from "../../tensor/rng.js";

export interface SentimentOptions {
  /** Number of texts. */
  count: number;
  /** Words per text (all texts have this length unless minLength is given). */
  length: number;
  /** When given, each text's length is uniform in [minLength, length]. */
  minLength?: number;
}

export interface SentimentSet {
  /** Each text as word ids. */
  texts: Int32Array[];
  /** 1 = positive ("love"), 0 = negative ("hate"). */
  labels: Int32Array;
  /** Word of each id; id 0 is "<pad>". */
  vocabulary: readonly string[];
}

const OPENINGS: Record<number, readonly string[]> = {
  1: ["i love this", "i really love this", "i adore this"],
  0: ["i hate this", "i really hate this", "i despise this"],
};

const FILLER = (
  "the a movie film story plot actor scene music camera and of to was it is in that with for as on " +
  "but at by from they this one all there their an so out about up what when who which we some more " +
  "time long first then after during before while because through over under into very just"
).split(" ");

export const SENTIMENT_VOCABULARY: readonly string[] = Object.freeze([
  "<pad>",
  ...new Set([...Object.values(OPENINGS).flatMap((o) => o.flatMap((s) => s.split(" "))), ...FILLER]),
]);

/** `count` texts of word ids with their labels (see the file header); deterministic for a generator state. */
export function sentimentTexts(rng: Rng, options: SentimentOptions): SentimentSet {
  const { count, length } = options;
  const minLength = options.minLength ?? length;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  if (!Number.isInteger(length) || length < 4) throw new RangeError(`length must be an integer ≥ 4, got ${length}`);
  if (!Number.isInteger(minLength) || minLength < 4 || minLength > length) {
    throw new RangeError(`minLength must be an integer in [4, ${length}], got ${minLength}`);
  }
  const id = new Map(SENTIMENT_VOCABULARY.map((w, i) => [w, i]));
  const texts: Int32Array[] = [];
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const label = rng.int(2);
    const opening = OPENINGS[label]![rng.int(OPENINGS[label]!.length)]!.split(" ");
    const len = minLength + rng.int(length - minLength + 1);
    const words = opening.slice(0, len);
    while (words.length < len) words.push(FILLER[rng.int(FILLER.length)]!);
    texts.push(Int32Array.from(words, (w) => id.get(w)!));
    labels[n] = label;
  }
  return { texts, labels, vocabulary: SENTIMENT_VOCABULARY };
}
