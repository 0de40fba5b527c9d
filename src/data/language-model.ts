/**
 * Language-model data, as PyTorch's word_language_model example: the corpus is one stream of token
 * ids, cut into B parallel strips read side by side, bptt steps at a time, the state carried from
 * one batch to the next.
 *
 *   stream     x_0 … x_{N−1}, each line's tokens followed by a line end ("<eos>" for words, "\n"
 *              for characters), N = total tokens; from a file's lines (lineTokens, encodeLines) or
 *              from a text held in memory (textTokens), the same tokens for the same text
 *   batchify   L = ⌊N / B⌋, the last N − B·L tokens dropped; strip b = x_{b·L} … x_{b·L+L−1},
 *              stored time-major: data (L, B), data[t·B + b] = x_{b·L + t}
 *   batches    for i = 0, bptt, 2·bptt, … < L − 1:  T = min(bptt, L − 1 − i)
 *                ids         = data[i     … i + T)     (T·B)
 *                stepTargets = data[i + 1 … i + T + 1) (T·B): the next token of each strip
 *                continues   = i > 0: the trainer carries each row's state into the next batch
 *              so row b of batch n + 1 continues row b of batch n; the last batch is shorter.
 *
 * Each strip's last token is only ever a target, as in PyTorch. ids and stepTargets are views of
 * `data` (no copy). Train with k1 = bptt (one update per batch) and a finite k2.
 *
 * Memory. `batchify` holds the whole stream twice while it transposes (4 bytes per token each: a
 * 100 M-token corpus is 400 MB + 400 MB), then only `data`; the text itself is never held whole when
 * it comes from `encodeLines` over `readLines` (which stream). For a corpus too large for that,
 * `streamLanguageModelBatches` reads the stream in pieces and holds one block of B × (blockSteps + 1)
 * tokens at a time (twice, while transposing): each block is batchified on its own, so the state is
 * carried within a block and restarts from zero at each block's first batch (continues = false), and
 * the one transition between strips inside each block is never trained. With blockSteps large (the
 * default, 1024 · bptt steps) these resets are rare; the result equals `batchify` exactly when the
 * stream holds B × (blockSteps + 1) tokens.
 */
import type { Batch } from "../train/batch.js";
import { textLines } from "./text-lines.js";
import type { Tokenizer } from "./tokenizer.js";
import type { Vocabulary } from "./vocabulary.js";

type Source<T> = Iterable<T> | AsyncIterable<T>;

export interface LineTokensOptions {
  tokenizer: Tokenizer;
  /** Token appended after every line; null for none. Default: `defaultLineEnd(tokenizer.kind)`. */
  lineEnd?: string | null;
}

/** "<eos>" after each line for a word model (as PyTorch's example), "\n" for a character model. */
export function defaultLineEnd(kind: Tokenizer["kind"]): string {
  return kind === "word" ? "<eos>" : "\n";
}

/** The tokens of each line, the line end appended. */
export async function* lineTokens(lines: Source<string>, options: LineTokensOptions): AsyncGenerator<string[]> {
  const lineEnd = lineEndOf(options);
  for await (const line of lines) yield tokensOfLine(line, options.tokenizer, lineEnd);
}

/**
 * The stream's tokens of a text held in memory: what `lineTokens` gives, concatenated, for the same
 * text read from a file (lines split as `readLines` splits them: text-lines.ts). Count them with
 * `countTokens([tokens])` for `Vocabulary.fromCounts`, and encode them with `vocabulary.encode`.
 */
export function textTokens(text: string, options: LineTokensOptions): string[] {
  const lineEnd = lineEndOf(options);
  const tokens: string[] = [];
  for (const line of textLines(text)) {
    for (const token of tokensOfLine(line, options.tokenizer, lineEnd)) tokens.push(token);
  }
  return tokens;
}

function lineEndOf(options: LineTokensOptions): string | null {
  return options.lineEnd === undefined ? defaultLineEnd(options.tokenizer.kind) : options.lineEnd;
}

function tokensOfLine(line: string, tokenizer: Tokenizer, lineEnd: string | null): string[] {
  const tokens = tokenizer.tokenize(line.endsWith("\r") ? line.slice(0, -1) : line);
  if (lineEnd !== null) tokens.push(lineEnd);
  return tokens;
}

/** Token counts (first appearance order, for Vocabulary.fromCounts) and the stream length N. One pass. */
export async function countLineTokens(lines: Source<string>, options: LineTokensOptions): Promise<{ counts: Map<string, number>; total: number }> {
  const counts = new Map<string, number>();
  let total = 0;
  for await (const tokens of lineTokens(lines, options)) {
    for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
    total += tokens.length;
  }
  return { counts, total };
}

/** The stream in pieces, one Int32Array per line (lines with no token and no line end give none). */
export async function* encodeLines(lines: Source<string>, options: LineTokensOptions & { vocabulary: Vocabulary }): AsyncGenerator<Int32Array> {
  for await (const tokens of lineTokens(lines, options)) if (tokens.length > 0) yield options.vocabulary.encode(tokens);
}

/**
 * Concatenates the pieces into one stream. With `total` (e.g. from countLineTokens) it is allocated
 * once at its size; otherwise it grows by doubling (up to twice the final size while growing).
 */
export async function collectStream(pieces: Source<Int32Array>, total?: number): Promise<Int32Array> {
  let out = new Int32Array(total ?? 1024);
  let length = 0;
  for await (const piece of pieces) {
    if (length + piece.length > out.length) {
      if (total !== undefined) throw new RangeError(`the stream is longer than the ${total} tokens announced`);
      const grown = new Int32Array(Math.max(2 * out.length, length + piece.length));
      grown.set(out.subarray(0, length));
      out = grown;
    }
    out.set(piece, length);
    length += piece.length;
  }
  return length === out.length ? out : out.slice(0, length);
}

/** B strips of L tokens, time-major. */
export interface Strips {
  /** (L·B): data[t·B + b] = token t of strip b. */
  data: Int32Array;
  L: number;
  B: number;
}

/** Cuts the stream into B contiguous strips of L = ⌊N / B⌋ tokens (the remainder dropped). */
export function batchify(stream: Int32Array, batchSize: number): Strips {
  const B = batchSize;
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`batchSize must be a positive integer, got ${B}`);
  const L = Math.floor(stream.length / B);
  if (L < 2) {
    throw new RangeError(`a stream of ${stream.length} tokens is too short for ${B} strips: each strip needs at least 2 tokens (an input and its next token)`);
  }
  const data = new Int32Array(L * B);
  for (let b = 0; b < B; b++) {
    const strip = stream.subarray(b * L, (b + 1) * L);
    for (let t = 0; t < L; t++) data[t * B + b] = strip[t]!;
  }
  return { data, L, B };
}

export interface LanguageModelBatchOptions {
  /** Steps per batch (the last batch of a pass may be shorter). */
  bptt: number;
}

/** One pass over the strips: ⌈(L − 1) / bptt⌉ batches; see the file header. */
export function* languageModelBatches(strips: Strips, options: LanguageModelBatchOptions): Generator<Batch> {
  const { data, L, B } = strips;
  const { bptt } = options;
  if (!Number.isInteger(bptt) || bptt < 1) throw new RangeError(`bptt must be a positive integer, got ${bptt}`);
  for (let i = 0; i < L - 1; i += bptt) {
    const T = Math.min(bptt, L - 1 - i);
    yield {
      T, B,
      ids: data.subarray(i * B, (i + T) * B),
      stepTargets: data.subarray((i + 1) * B, (i + 1 + T) * B),
      continues: i > 0,
    };
  }
}

export interface StreamBatchOptions extends LanguageModelBatchOptions {
  batchSize: number;
  /** Input steps per strip in one block; a multiple of bptt keeps every batch but a block's last full. Default 1024 · bptt. */
  blockSteps?: number;
}

/** Language-model batches from a stream arriving in pieces, one block in memory at a time (see the file header). */
export async function* streamLanguageModelBatches(pieces: Source<Int32Array>, options: StreamBatchOptions): AsyncGenerator<Batch> {
  const { batchSize: B, bptt } = options;
  const blockSteps = options.blockSteps ?? 1024 * bptt;
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`batchSize must be a positive integer, got ${B}`);
  if (!Number.isInteger(bptt) || bptt < 1) throw new RangeError(`bptt must be a positive integer, got ${bptt}`);
  if (!Number.isInteger(blockSteps) || blockSteps < 1) throw new RangeError(`blockSteps must be a positive integer, got ${blockSteps}`);
  const blockTokens = B * (blockSteps + 1);
  const block = new Int32Array(blockTokens);
  let filled = 0;
  let blocks = 0;
  for await (const piece of pieces) {
    let taken = 0;
    while (taken < piece.length) {
      const n = Math.min(piece.length - taken, blockTokens - filled);
      block.set(piece.subarray(taken, taken + n), filled);
      filled += n;
      taken += n;
      if (filled === blockTokens) {
        // batchify copies, so the batches hold views of their own strips and the block is reused.
        yield* languageModelBatches(batchify(block, B), { bptt });
        blocks++;
        filled = 0;
      }
    }
  }
  if (filled >= 2 * B) {
    yield* languageModelBatches(batchify(block.subarray(0, filled), B), { bptt });
  } else if (blocks === 0) {
    throw new RangeError(`a stream of ${filled} tokens is too short for ${B} strips: each strip needs at least 2 tokens (an input and its next token)`);
  }
}
