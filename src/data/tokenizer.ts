/**
 * Tokenizers: text → a list of token strings. Two kinds, both deterministic and locale-independent:
 *
 *   char   one token per Unicode code point (not per UTF-16 unit): "h😀é" → ["h", "😀", "e", "\u0301"]
 *          when the é is written as e + a combining acute accent. White space is kept as tokens.
 *          No normalisation is applied: NFC "é" (one code point) and NFD "e\u0301" (two) differ.
 *   word   the rule, applied left to right (after lower-casing when asked):
 *            1. white space (Unicode \s) separates tokens and is dropped;
 *            2. an angle-bracketed marker of letters, digits and underscores is one token:
 *               "<unk>", "<eos>" (the markers of PTB and WikiText stay whole);
 *            3. a maximal run of word characters — letters \p{L}, combining marks \p{M}, digits
 *               \p{N}, connector punctuation \p{Pc} such as "_" — is one token;
 *            4. every other character (punctuation, symbols, emoji) is a token of its own, one code
 *               point each.
 *          Examples:
 *            "Hello, world!"      → ["Hello", ",", "world", "!"]
 *            "don't stop"         → ["don", "'", "t", "stop"]
 *            "3.14 is π"          → ["3", ".", "14", "is", "π"]
 *            "snake_case <unk>"   → ["snake_case", "<unk>"]
 *            "a<b"                → ["a", "<", "b"]
 *            "naïve café 👍"      → ["naïve", "café", "👍"]
 *
 * `kind` and `lowercase` are what a model's config.json stores to rebuild the same tokenizer
 * (`createTokenizer(tokenizer.toJSON())`).
 */

export type TokenizerKind = "char" | "word";

/** What rebuilds a tokenizer (config.json's data.tokenizer): `createTokenizer(config)`. */
export interface TokenizerConfig {
  kind: TokenizerKind;
  /** Lower-case the text (String.prototype.toLowerCase, locale-independent) first. Default false. */
  lowercase?: boolean;
}

/** Text → token strings, deterministic and locale-independent (see the file header for the rules). */
export interface Tokenizer {
  readonly kind: TokenizerKind;
  readonly lowercase: boolean;
  tokenize(text: string): string[];
  toJSON(): Required<TokenizerConfig>;
}

/** One token per Unicode code point, white space included. */
export class CharTokenizer implements Tokenizer {
  readonly kind = "char";
  readonly lowercase: boolean;

  constructor(options: { lowercase?: boolean } = {}) {
    this.lowercase = options.lowercase ?? false;
  }

  tokenize(text: string): string[] {
    // Array.from iterates by code point, so a surrogate pair (an emoji) stays one token.
    return Array.from(this.lowercase ? text.toLowerCase() : text);
  }

  toJSON(): Required<TokenizerConfig> {
    return { kind: this.kind, lowercase: this.lowercase };
  }
}

/** Rules 2, 3 and 4 of the file header, in that order of preference; white space matches none. */
const WORD_TOKEN = /<[\p{L}\p{N}_]+>|[\p{L}\p{M}\p{N}\p{Pc}]+|[^\s\p{L}\p{M}\p{N}\p{Pc}]/gu;

/** Words, markers such as "<unk>", and single punctuation characters; white space dropped. */
export class WordTokenizer implements Tokenizer {
  readonly kind = "word";
  readonly lowercase: boolean;

  constructor(options: { lowercase?: boolean } = {}) {
    this.lowercase = options.lowercase ?? false;
  }

  tokenize(text: string): string[] {
    return (this.lowercase ? text.toLowerCase() : text).match(WORD_TOKEN) ?? [];
  }

  toJSON(): Required<TokenizerConfig> {
    return { kind: this.kind, lowercase: this.lowercase };
  }
}

export const TOKENIZER_KINDS: readonly TokenizerKind[] = Object.freeze(["char", "word"]);

/** The tokenizer a config describes (e.g. read back from config.json); unknown kinds are refused. */
export function createTokenizer(config: TokenizerConfig): Tokenizer {
  const { kind, lowercase } = config;
  if (lowercase !== undefined && typeof lowercase !== "boolean") {
    throw new RangeError(`tokenizer.lowercase must be true or false, got ${JSON.stringify(lowercase)}`);
  }
  if (kind === "char") return new CharTokenizer({ lowercase: lowercase ?? false });
  if (kind === "word") return new WordTokenizer({ lowercase: lowercase ?? false });
  throw new RangeError(`tokenizer kind must be "char" or "word", got ${JSON.stringify(kind)}`);
}
