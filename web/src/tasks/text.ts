/**
 * Text as the CLI reads it for a language model (src/data/language-model.ts, tokenizer.ts,
 * vocabulary.ts), so that a model trained here reads text in `bptt generate` exactly as on the page:
 *
 *   lines      "\r\n" or "\n" end a line; a leading byte order mark is dropped; every line's tokens
 *              are followed by the line end "\n" (characters) or "<eos>" (words)
 *   char       one token per Unicode code point, white space included, no normalisation
 *   word       markers like "<unk>", runs of letters/marks/digits/"_", or any other single character;
 *              white space separates and is dropped
 *   vocabulary "<pad>" 0, "<unk>" 1, then the tokens most frequent first, ties in order of first
 *              appearance
 *   strips     the stream cut into B strips of L = ⌊N / B⌋ tokens read side by side, T steps per batch,
 *              the state carried from batch to batch (PyTorch's word_language_model)
 */
import type { Batch } from "bptt";
import { PAD_TOKEN, UNK_ID, UNK_TOKEN } from "../shared/run-config.js";

export type TokenizerKind = "char" | "word";

const WORD_TOKEN = /<[\p{L}\p{N}_]+>|[\p{L}\p{M}\p{N}\p{Pc}]+|[^\s\p{L}\p{M}\p{N}\p{Pc}]/gu;

export function tokenize(text: string, kind: TokenizerKind, lowercase = false): string[] {
  const source = lowercase ? text.toLowerCase() : text;
  return kind === "char" ? Array.from(source) : (source.match(WORD_TOKEN) ?? []);
}

/** The line-end token of a language model. */
export function lineEnd(kind: TokenizerKind): string {
  return kind === "word" ? "<eos>" : "\n";
}

/** A text's tokens as the CLI streams a file: each line's tokens, then the line end. */
export function streamTokens(text: string, kind: TokenizerKind, lowercase = false): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split("\n");
  if (lines[lines.length - 1] === "") lines.pop(); // a final line end does not start another line
  const tokens: string[] = [];
  for (const line of lines) {
    for (const token of tokenize(line.endsWith("\r") ? line.slice(0, -1) : line, kind, lowercase)) tokens.push(token);
    tokens.push(lineEnd(kind));
  }
  return tokens;
}

/** The vocabulary of a token list: specials, then most frequent first (ties: first appearance). */
export function buildVocabulary(tokens: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  counts.delete(PAD_TOKEN);
  counts.delete(UNK_TOKEN);
  // Array.prototype.sort is stable: equal counts keep the Map's first-appearance order.
  return [PAD_TOKEN, UNK_TOKEN, ...[...counts].sort((a, b) => b[1] - a[1]).map(([token]) => token)];
}

/** Token ids; a token the vocabulary lacks reads as "<unk>". */
export function encode(tokens: readonly string[], vocabulary: readonly string[]): Int32Array {
  const ids = new Map(vocabulary.map((token, id) => [token, id]));
  return Int32Array.from(tokens, (token) => ids.get(token) ?? UNK_ID);
}

/** Time-major strips: data[t·B + b] = token t of strip b (b·L … b·L + L − 1 of the stream). */
export interface Strips {
  data: Int32Array;
  L: number;
  B: number;
}

export function cutStrips(stream: Int32Array, B: number): Strips {
  const L = Math.floor(stream.length / B);
  if (L < 2) throw new RangeError(`${stream.length} tokens are too few for ${B} strips: each strip needs at least 2`);
  const data = new Int32Array(L * B);
  for (let b = 0; b < B; b++) for (let t = 0; t < L; t++) data[t * B + b] = stream[b * L + t]!;
  return { data, L, B };
}

/** One pass over the strips, T steps a batch: inputs t, targets t + 1, each batch continuing the last. */
export function* stripBatches(strips: Strips, T: number): Generator<Batch> {
  const { data, L, B } = strips;
  for (let i = 0; i < L - 1; i += T) {
    const steps = Math.min(T, L - 1 - i);
    yield {
      T: steps,
      B,
      ids: data.subarray(i * B, (i + steps) * B),
      stepTargets: data.subarray((i + 1) * B, (i + 1 + steps) * B),
      continues: i > 0,
    };
  }
}
