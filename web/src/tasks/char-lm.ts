/**
 * A character language model on the user's text, as `bptt train --task lm --tokenizer char` trains
 * one, with the library's own pieces (textTokens, Vocabulary, batchify, languageModelBatches): the
 * next character at every step, B strips read side by side, k1 steps per batch (one update each), the
 * state carried from batch to batch; an epoch is one pass over the text. The last 10% of the stream is
 * held out (as the CLI's --val-fraction 0.1) when it fills two tokens per strip.
 */
import { CharTokenizer, Vocabulary, batchify, countTokens, languageModelBatches, textTokens } from "bptt";
import type { PlaygroundSettings } from "../shared/settings.js";
import type { Task } from "./task.js";

const HELD_OUT_FRACTION = 0.1;

export function charLmTask(s: PlaygroundSettings, text: string): Task {
  const B = s.charLm.strips;
  const tokenizer = new CharTokenizer();
  const tokens = textTokens(text, { tokenizer });
  if (tokens.length === 0) throw new RangeError("the text is empty: paste or drop a text to train on");
  const vocabulary = Vocabulary.fromCounts(countTokens([tokens]));
  let stream = vocabulary.encode(tokens);
  const held = Math.floor(stream.length * HELD_OUT_FRACTION);
  let heldOut: Int32Array | null = null;
  if (held >= 2 * B && stream.length - held >= 2 * B) {
    heldOut = stream.slice(stream.length - held);
    stream = stream.slice(0, stream.length - held);
  }
  if (stream.length < 2 * B) {
    throw new RangeError(
      `the text has ${stream.length} characters: ${B} strips need at least ${2 * B} ` +
        "(paste more text or use fewer strips)",
    );
  }
  const strips = batchify(stream, B);
  const heldStrips = heldOut ? batchify(heldOut, B) : null;
  const bptt = s.k1;
  const characters = vocabulary.size - 2;
  return {
    shape: { vocabSize: vocabulary.size, outputSize: vocabulary.size },
    evaluationLossAt: "every-step",
    dataSpec: {
      task: "lm",
      tokenizer: tokenizer.toJSON(),
      vocabulary: vocabulary.toJSON(),
      labels: null,
      inputSize: 0,
      series: null,
    },
    description:
      `${tokens.length.toLocaleString("en-US")} characters (${characters} distinct), ${B} strips of ` +
      strips.L.toLocaleString("en-US") +
      (heldOut ? `, the last ${heldOut.length.toLocaleString("en-US")} held out` : ", none held out (too short)"),
    epoch: () => languageModelBatches(strips, { bptt }),
    heldOut: () => (heldStrips ? languageModelBatches(heldStrips, { bptt }) : []),
    heldOutFile: () => ({
      name: "held-out.txt",
      text: heldOut ? vocabulary.decode(heldOut).join("") : "",
    }),
  };
}
