/**
 * A line of text fed to a model piece by piece (readLinePieces), the state carried between pieces, so
 * that `bptt predict` needs the same memory for a line of 10 characters and one of 10^9.
 *
 * Each piece is cut after its last white space and the rest carried into the next piece: no token, and
 * no context-dependent lower-casing (a final sigma), straddles a cut, so the tokens are those of the
 * whole line. A run of more than MAX_CARRY characters without white space is cut where it is (such a
 * "word" is <unk> for a word model either way). Tokens are fed CHUNK_STEPS at a time.
 */
import type { Tokenizer } from "../data/tokenizer.js";
import type { Vocabulary } from "../data/vocabulary.js";
import type { Stepper } from "../inference/stepper.js";

/** Steps per chunk fed to the model: activations of at most this many steps are held. */
export const CHUNK_STEPS = 1024;
const MAX_CARRY = 1 << 20;
const LAST_SPACE = /\s\S*$/u;

export class StreamedText {
  private carry = "";
  private fedTokens = 0;
  private logits: Float32Array | null = null;

  constructor(
    private readonly stepper: Stepper,
    private readonly tokenizer: Tokenizer,
    private readonly vocabulary: Vocabulary,
  ) {}

  /** Starts a line: the state from zero. */
  start(): void {
    this.stepper.reset();
    this.carry = "";
    this.fedTokens = 0;
    this.logits = null;
  }

  /** Feeds a piece of the line; `end` for its last piece. */
  push(piece: string, end: boolean): void {
    let text = this.carry + piece;
    this.carry = "";
    if (!end) {
      const space = text.search(LAST_SPACE);
      let cut = space + 1;
      if (space < 0) {
        if (text.length < MAX_CARRY) {
          this.carry = text;
          return;
        }
        cut = text.length - (isHighSurrogate(text.charCodeAt(text.length - 1)) ? 1 : 0);
      }
      this.carry = text.slice(cut);
      text = text.slice(0, cut);
    }
    const ids = this.vocabulary.encode(this.tokenizer.tokenize(text));
    for (let start = 0; start < ids.length; start += CHUNK_STEPS) {
      this.logits = this.stepper.feed(ids.subarray(start, Math.min(ids.length, start + CHUNK_STEPS)), false);
    }
    this.fedTokens += ids.length;
  }

  /** Tokens fed since `start`. */
  get tokens(): number {
    return this.fedTokens;
  }

  /** The last step's logits, or null before any token (valid until the stepper's next call). */
  get lastLogits(): Float32Array | null {
    return this.logits;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
