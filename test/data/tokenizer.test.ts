/** Tokenizers: code points (not UTF-16 units) for characters; the documented word rule, example by example. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CharTokenizer, WordTokenizer, createTokenizer } from "../../src/data/tokenizer.js";

describe("CharTokenizer", () => {
  const chars = new CharTokenizer();

  it("splits by code point: an emoji (a surrogate pair) is one token", () => {
    assert.equal("😀".length, 2);
    assert.deepEqual(chars.tokenize("a😀b"), ["a", "😀", "b"]);
    assert.deepEqual(chars.tokenize("𝄞"), ["𝄞"]);
  });

  it("keeps combining marks and ZWJ sequences as their code points (no grapheme clustering, no normalisation)", () => {
    assert.deepEqual(chars.tokenize("e\u0301"), ["e", "\u0301"]);
    assert.deepEqual(chars.tokenize("\u00e9"), ["\u00e9"]);
    assert.deepEqual(chars.tokenize("👩‍👧"), ["👩", "\u200d", "👧"]);
  });

  it("keeps white space, and lower-cases when asked", () => {
    assert.deepEqual(chars.tokenize("A b\t"), ["A", " ", "b", "\t"]);
    assert.deepEqual(new CharTokenizer({ lowercase: true }).tokenize("AÉ"), ["a", "é"]);
    assert.deepEqual(chars.tokenize(""), []);
  });
});

describe("WordTokenizer", () => {
  const words = new WordTokenizer();

  it("follows the documented examples", () => {
    const examples: Array<[string, string[]]> = [
      ["Hello, world!", ["Hello", ",", "world", "!"]],
      ["don't stop", ["don", "'", "t", "stop"]],
      ["3.14 is π", ["3", ".", "14", "is", "π"]],
      ["snake_case <unk>", ["snake_case", "<unk>"]],
      ["a<b", ["a", "<", "b"]],
      ["naïve café 👍", ["naïve", "café", "👍"]],
    ];
    for (const [text, expected] of examples) assert.deepEqual(words.tokenize(text), expected, text);
  });

  it("splits on every kind of white space and drops it", () => {
    assert.deepEqual(words.tokenize("  a\tb\u00a0c\n d  "), ["a", "b", "c", "d"]);
    assert.deepEqual(words.tokenize(" \t "), []);
  });

  it("keeps each punctuation mark, symbol and emoji code point as its own token", () => {
    assert.deepEqual(words.tokenize("...!?"), [".", ".", ".", "!", "?"]);
    assert.deepEqual(words.tokenize("a+b=c$"), ["a", "+", "b", "=", "c", "$"]);
    assert.deepEqual(words.tokenize("hi😀😀"), ["hi", "😀", "😀"]);
    assert.deepEqual(words.tokenize("<eos> <a b>"), ["<eos>", "<", "a", "b", ">"]);
  });

  it("keeps combining marks inside words (decomposed accents stay in the word)", () => {
    assert.deepEqual(words.tokenize("cafe\u0301 ok"), ["cafe\u0301", "ok"]);
    assert.deepEqual(words.tokenize("Ελληνικά 中文"), ["Ελληνικά", "中文"]);
  });

  it("lower-cases when asked, before splitting", () => {
    assert.deepEqual(new WordTokenizer({ lowercase: true }).tokenize("The CAT, <UNK>"), ["the", "cat", ",", "<unk>"]);
  });
});

describe("createTokenizer", () => {
  it("rebuilds a tokenizer from its saved config", () => {
    for (const tokenizer of [new CharTokenizer(), new WordTokenizer({ lowercase: true })]) {
      const copy = createTokenizer(JSON.parse(JSON.stringify(tokenizer.toJSON())));
      assert.equal(copy.kind, tokenizer.kind);
      assert.equal(copy.lowercase, tokenizer.lowercase);
      assert.deepEqual(copy.tokenize("Hi, Bob"), tokenizer.tokenize("Hi, Bob"));
    }
    assert.equal(createTokenizer({ kind: "word" }).lowercase, false);
  });

  it("refuses unknown kinds and non-boolean options", () => {
    assert.throws(() => createTokenizer({ kind: "bpe" } as never), /tokenizer kind must be "char" or "word", got "bpe"/);
    assert.throws(() => createTokenizer({ kind: "char", lowercase: "yes" } as never), /lowercase must be true or false/);
  });
});
