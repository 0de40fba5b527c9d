/**
 * Vocabulary: token ↔ id. Id 0 is always "<pad>" (the padding written after short sequences, masked
 * out) and id 1 is always "<unk>" (every token the vocabulary does not hold); the corpus's tokens
 * follow from id 2.
 *
 * Built from counts (`countTokens`): tokens seen fewer than `minCount` times are left out, the rest
 * are ordered most frequent first, ties broken by first appearance in the counts (a Map iterates in
 * insertion order, i.e. the order the corpus first used each token), and only the first `maxSize`
 * entries (specials included) are kept. The same corpus therefore always gives the same ids.
 *
 * Saved as its list of tokens (`toJSON`: ["<pad>", "<unk>", …], the index is the id) and loaded with
 * `fromJSON`, which trusts nothing: an array of distinct non-empty strings with the specials in place.
 */

/** The padding token, id PAD_ID = 0: written after short sequences, masked out, never sampled. */
export const PAD_TOKEN = "<pad>";
/** The token of everything the vocabulary does not hold, id UNK_ID = 1. */
export const UNK_TOKEN = "<unk>";
export const PAD_ID = 0;
export const UNK_ID = 1;
const SPECIALS = [PAD_TOKEN, UNK_TOKEN] as const;

export interface VocabularyOptions {
  /** Keep tokens seen at least this many times. Default 1. */
  minCount?: number;
  /** At most this many entries, the two specials included (so ≥ 2). Default: no limit. */
  maxSize?: number;
}

/** Token ↔ id (see the file header): built from counts (`fromCounts`) or loaded (`fromJSON`). */
export class Vocabulary {
  private readonly tokens: readonly string[];
  private readonly ids: ReadonlyMap<string, number>;

  /** The list must already be valid (specials first, distinct): use fromCounts or fromJSON. */
  private constructor(tokens: readonly string[]) {
    this.tokens = Object.freeze([...tokens]);
    this.ids = new Map(tokens.map((token, id) => [token, id]));
  }

  /** The vocabulary of a token count (see the file header for the order). */
  static fromCounts(counts: ReadonlyMap<string, number>, options: VocabularyOptions = {}): Vocabulary {
    const minCount = options.minCount ?? 1;
    const maxSize = options.maxSize ?? Infinity;
    if (!Number.isInteger(minCount) || minCount < 1) throw new RangeError(`minCount must be an integer ≥ 1, got ${minCount}`);
    if (maxSize !== Infinity && (!Number.isInteger(maxSize) || maxSize < SPECIALS.length)) {
      throw new RangeError(`maxSize counts the specials ${SPECIALS.join(" and ")}, so it must be an integer ≥ ${SPECIALS.length}, got ${maxSize}`);
    }
    const kept: Array<[string, number]> = [];
    for (const [token, count] of counts) {
      if (!Number.isInteger(count) || count < 0) throw new RangeError(`count of ${JSON.stringify(token)} must be a non-negative integer, got ${count}`);
      if (token === "" || token === PAD_TOKEN || token === UNK_TOKEN || count < minCount) continue;
      kept.push([token, count]);
    }
    // Array.prototype.sort is stable: equal counts keep the Map's first-appearance order.
    kept.sort((a, b) => b[1] - a[1]);
    const room = Math.min(kept.length, maxSize - SPECIALS.length);
    return new Vocabulary([...SPECIALS, ...kept.slice(0, room).map(([token]) => token)]);
  }

  /** Loads a saved vocabulary (`toJSON`'s array); `source` names the file in every error. */
  static fromJSON(data: unknown, source: string): Vocabulary {
    if (!Array.isArray(data)) {
      throw new RangeError(`${source}: a vocabulary must be an array of token strings, got ${describe(data)}`);
    }
    if (data.length < SPECIALS.length) {
      throw new RangeError(`${source}: a vocabulary starts with ${JSON.stringify(SPECIALS)}, got ${data.length} entries`);
    }
    const seen = new Map<string, number>();
    for (let id = 0; id < data.length; id++) {
      const token: unknown = data[id];
      if (typeof token !== "string") throw new RangeError(`${source}: vocabulary[${id}] must be a string, got ${describe(token)}`);
      if (token === "") throw new RangeError(`${source}: vocabulary[${id}] is an empty string`);
      if (id < SPECIALS.length && token !== SPECIALS[id]) {
        throw new RangeError(`${source}: vocabulary[${id}] must be ${JSON.stringify(SPECIALS[id])}, got ${JSON.stringify(token)}`);
      }
      const first = seen.get(token);
      if (first !== undefined) throw new RangeError(`${source}: vocabulary[${id}] ${JSON.stringify(token)} repeats vocabulary[${first}]`);
      seen.set(token, id);
    }
    return new Vocabulary(data as string[]);
  }

  /** The token of each id, in id order (what config files store). */
  toJSON(): string[] {
    return [...this.tokens];
  }

  /** V: the number of ids, specials included (the model's vocabSize). */
  get size(): number {
    return this.tokens.length;
  }

  has(token: string): boolean {
    return this.ids.has(token);
  }

  /** The id of a token, UNK_ID when it is not in the vocabulary. */
  id(token: string): number {
    return this.ids.get(token) ?? UNK_ID;
  }

  /** The token of an id; throws for an id outside [0, size). */
  token(id: number): string {
    const token = Number.isInteger(id) ? this.tokens[id] : undefined;
    if (token === undefined) throw new RangeError(`id ${id} is outside the vocabulary [0, ${this.tokens.length})`);
    return token;
  }

  /** Token ids, unknown tokens as UNK_ID. */
  encode(tokens: readonly string[]): Int32Array {
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) out[i] = this.id(tokens[i]!);
    return out;
  }

  /** The tokens of ids (join them with "" for characters or " " for words). */
  decode(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (id) => this.token(id));
  }
}

/** Adds each token's count to `counts` (a new Map by default) and returns it; insertion order = first appearance. */
export function countTokens(sequences: Iterable<readonly string[]>, counts: Map<string, number> = new Map()): Map<string, number> {
  for (const tokens of sequences) {
    for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  }
  return counts;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}
